"""The one way to write the account-level audit trail (``AuditEvent``).

Sign-ins, MFA, single sign-on, role changes, admin configuration changes, data exports, erasures and retention all
call ``record``; nothing else creates ``AuditEvent`` rows. Ticket work is audited by the ticket timeline instead.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from helpdesk.models import AuditAction, AuditEvent, User


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
