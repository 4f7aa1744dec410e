"""The one way to write the account-level audit trail (``AuditEvent``).

Sign-ins, MFA, single sign-on, role changes, admin configuration changes, data exports, erasures and retention all
call ``record``; nothing else creates ``AuditEvent`` rows. Ticket work is audited by the ticket timeline instead.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import models
from django.dispatch import receiver
from django.http import HttpRequest

from helpdesk.models import AuditAction, AuditEvent, User

# The dotted path of the single sign-on backend, as ``login()`` stamps it on the user (helpdesk.sso).
SSO_BACKEND = "helpdesk.sso.SsoBackend"
SIGN_OUT_REASON_ATTR = "audit_sign_out_reason"


def client_ip(request: HttpRequest | None) -> str | None:
    """The address the request came from. ``REMOTE_ADDR`` only: a forwarded header is trivially forged unless a
    trusted proxy sets it, and the deployment puts the proxy's own address handling in front (README, Operations)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    action: AuditAction | str,
    *,
    actor: User | None = None,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    request: HttpRequest | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit row. ``action`` must be an ``AuditAction``; ``target`` (a model instance) fills
    ``target_type``/``target_id`` from its model name and primary key."""
    action = AuditAction(action)
    if target is not None:
        target_type = target_type or target._meta.model_name or ""
        target_id = target_id or str(target.pk)
    if actor is not None and not actor.is_authenticated:
        actor = None
    return AuditEvent.objects.create(
        action=action.value,
        actor=actor,
        actor_label=(actor.get_username() if actor is not None else ""),
        target_type=target_type,
        target_id=str(target_id),
        ip_address=client_ip(request),
        detail=detail or {},
    )


def role_change_record(
    *,
    actor: User | None,
    user: User,
    changes: dict[str, Any],
    request: HttpRequest | None = None,
    via: str,
) -> AuditEvent:
    """A change to what someone may do (role, superuser, active, groups, team memberships), recorded on that person:
    ``changes`` is ``{field: {"old": ..., "new": ...}}`` (``"team"``: the team, what happened, the fields); ``via``
    says where (``admin``, ``sso``...). A deactivation is recorded as such."""
    active = changes.get("is_active")
    deactivated = isinstance(active, dict) and active.get("old") is True and active.get("new") is False
    return record(
        AuditAction.USER_DEACTIVATED if deactivated else AuditAction.ROLE_CHANGED,
        actor=actor,
        target=user,
        request=request,
        detail={"user": user.get_username(), "via": via, "changes": changes},
    )


# --- sign-in, refused sign-in, sign-out ---------------------------------------------------------------------------
# Django sends these signals from ``login()``, ``authenticate()`` and ``logout()``, which every way in uses: the
# /login/ form, the Django admin's login, the API's session login (and a test client's ``login``). One receiver each,
# so no entry point can forget to audit. ``user_login_failed`` gets the credentials already cleansed by Django; only
# the username attempted is kept, never anything password-like.


@receiver(user_logged_in, dispatch_uid="helpdesk.audit.signed_in")
def _signed_in(sender, request: HttpRequest | None, user: User, **kwargs) -> None:
    # One row per sign-in: a single sign-on is recorded as such, here, rather than by its callback as well.
    if getattr(user, "backend", "") == SSO_BACKEND:
        record(AuditAction.SSO_SIGN_IN, actor=user, target=user, request=request, detail={"via": "sso"})
        return
    record(AuditAction.SIGN_IN, actor=user, target=user, request=request, detail={"via": _entry_point(request)})


@receiver(user_login_failed, dispatch_uid="helpdesk.audit.sign_in_refused")
def _sign_in_refused(sender, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs) -> None:
    from helpdesk.signin import login_locked_until  # the lockout's own record of why this attempt was refused

    attempted = credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or ""
    locked = login_locked_until(request) is not None
    record(
        AuditAction.SIGN_IN_FAILED,
        target_type="username",
        target_id=str(attempted)[:64],
        request=request,
        detail={"username": str(attempted)[:150], "via": _entry_point(request), "locked": locked},
    )


@receiver(user_logged_out, dispatch_uid="helpdesk.audit.signed_out")
def _signed_out(sender, request: HttpRequest | None, user: User | None, **kwargs) -> None:
    # A sign-out the product made itself (not the person) says why through ``sign_out_because`` before logout().
    reason = getattr(request, SIGN_OUT_REASON_ATTR, None) or {}
    record(
        AuditAction.SIGN_OUT, actor=user, target=user, request=request, detail={"via": _entry_point(request), **reason}
    )


def sign_out_because(request: HttpRequest, **reason: Any) -> None:
    """Say why the product is about to sign this request's user out (call before ``logout()``): the one sign-out
    row the ``user_logged_out`` receiver writes carries it."""
    setattr(request, SIGN_OUT_REASON_ATTR, reason)


def _entry_point(request: HttpRequest | None) -> str:
    """Which door: ``admin``, ``api`` or ``web`` (the path says; a request-less call, e.g. a shell, is ``other``)."""
    if request is None:
        return "other"
    path = request.path_info or ""
    admin_prefix = "/admin/"
    if path.startswith(admin_prefix):
        return "admin"
    if path.startswith("/api/"):
        return "api"
    return "web" if path else "other"
