"""Single sign-on for staff with OpenID Connect: the authorisation code flow with PKCE (S256), a nonce and a state,
and an RS256 ID token whose signature is checked against the provider's JWKS, whose issuer must be ours and whose
audience must include our client id.

Who may sign in is decided by the provider's groups on every sign-in (``OIDC_GROUP_MAP``): the account is created on
the first sign-in with the mapped role and teams, moved when the groups change (through
``helpdesk.services.staff_access_set``, the one home of role and team changes), and refused, with nothing created,
when no group maps. SSO never creates or signs in a customer, and signs in an administrator only when a group maps to
``admin`` explicitly. Accounts are matched on the provider's (issuer, subject), never on the email address.

A signed-in SSO session is re-checked with the provider every ``OIDC_REVALIDATE_MINUTES`` on the next request
(``SsoRevalidationMiddleware``): the refresh token is redeemed server to server (the userinfo endpoint answers with
the access token when the provider issued no refresh token) and the groups are applied again, so a person deactivated
or removed from every helpdesk group at the provider is signed out on their next request after the interval.

SSO sign-ins skip the local second factor: the identity provider is where staff prove a second factor.

Library: mozilla-django-oidc 5.0.2. It does the protocol parts we must not get wrong (state, nonce, PKCE, signature
check against the JWKS, the algorithm pinned to RS256) in a small, readable code base, and leaves the account rules
to us. Its metadata lists Django up to 5.2, not 6.1; it uses only long-stable Django APIs (views, sessions,
``auth.authenticate``/``login``), and tests/helpdesk/test_sso.py runs the whole flow on Django 6.1 against a real
provider on loopback. Two of its parts are replaced here: its ``SessionRefresh`` middleware re-checks by sending the
browser through the provider with ``prompt=none``, which works for GET page loads only (an htmx fragment, a form
POST or an API call would go on unchecked), so the re-check is a server-to-server refresh instead; and its ID-token
check does not verify the audience or issuer, so ``SsoBackend.verify_token`` adds both. django-allauth (65.21.1,
which lists Django 6.1) was not chosen: its generic OpenID Connect provider skips the ID token's signature when the
token came from the token endpoint and does not check a nonce, and it brings its own account app, models and login
flow beside ours.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.backends import ModelBackend
from django.core import checks
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from helpdesk import audit
from helpdesk.mfa import MfaMethod, mfa_mark_satisfied
from helpdesk.models import AuditAction, Role, SsoIdentity, Team, User
from helpdesk.services import staff_access_set
from helpdesk.session_lifetime import sign_in_url

# The session's record of an SSO sign-in: issuer, subject, tokens and when the provider last confirmed it.
SSO_SESSION_KEY = "helpdesk_sso"
# Set on the request by the backend when it refuses a sign-in, so the callback view can say why.
REFUSAL_ATTR = "sso_refusal"
_TOKENS_ATTR = "sso_tokens"

# Highest first: a person in several mapped groups gets the highest of their roles and the teams of all of them.
ROLE_RANK = {Role.ADMIN: 4, Role.MANAGER: 3, Role.SPECIALIST: 2, Role.AGENT: 1}

GENERIC_REFUSAL = "Single sign-on did not complete. Please try again, or ask your administrator for help."
NO_GROUP_REFUSAL = (
    "Your identity provider account is not in any group that may use the helpdesk, so no helpdesk account was "
    "opened. Ask your administrator to add you to a helpdesk group."
)


class SsoRefused(Exception):
    """A sign-in (or a session re-check) that must not go on; ``message`` is what the person is told."""

    def __init__(self, code: str, message: str = GENERIC_REFUSAL, **detail: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


# --- configuration -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupGrant:
    role: Role
    teams: tuple[str, ...]


def parse_group_map(text: str) -> dict[str, GroupGrant]:
    """``"helpdesk-agents=agent:Frontline,helpdesk-managers=manager:Managers|Billing"``: comma-separated entries of
    ``group=role`` with optional ``:team|team`` (team names or slugs). Raises ValueError naming the bad entry."""
    grants: dict[str, GroupGrant] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        group, sep, grant = entry.partition("=")
        group, grant = group.strip(), grant.strip()
        if not sep or not group or not grant:
            raise ValueError(f"OIDC_GROUP_MAP entry {entry!r} is not group=role[:team|team].")
        role_text, _, teams_text = grant.partition(":")
        role_text = role_text.strip()
        if role_text not in ROLE_RANK:
            allowed = ", ".join(sorted(ROLE_RANK))
            raise ValueError(f"OIDC_GROUP_MAP entry {entry!r}: the role must be one of {allowed}.")
        if group in grants:
            raise ValueError(f"OIDC_GROUP_MAP names the group {group!r} twice.")
        teams = tuple(name.strip() for name in teams_text.split("|") if name.strip())
        grants[group] = GroupGrant(role=Role(role_text), teams=teams)
    return grants


def access_for_groups(groups: Iterable[str], grants: dict[str, GroupGrant]) -> tuple[Role, tuple[str, ...]] | None:
    """The role (the highest mapped) and teams (all mapped, in map order) for the person's groups; None when none of
    their groups is mapped."""
    matched = [grants[group] for group in grants if group in set(groups)]
    if not matched:
        return None
    role = max((grant.role for grant in matched), key=lambda r: ROLE_RANK[r])
    teams: list[str] = []
    for grant in matched:
        teams += [team for team in grant.teams if team not in teams]
    return role, tuple(teams)


@checks.register(checks.Tags.security)
def sso_settings_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """With SSO on, a missing setting or a malformed group map stops the start-up with a clear message."""
    if not settings.OIDC_ENABLED:
        return []
    errors: list[checks.CheckMessage] = []
    for name, env_name in [
        ("OIDC_ISSUER", "OIDC_ISSUER"),
        ("OIDC_RP_CLIENT_ID", "OIDC_CLIENT_ID"),
        ("OIDC_RP_CLIENT_SECRET", "OIDC_CLIENT_SECRET"),
        ("OIDC_GROUP_MAP", "OIDC_GROUP_MAP"),
    ]:
        if not getattr(settings, name):
            errors.append(checks.Error(f"OIDC_ENABLED is on but {env_name} is empty.", id="helpdesk.E_SSO_1"))
    try:
        parse_group_map(settings.OIDC_GROUP_MAP)
    except ValueError as exc:
        errors.append(checks.Error(str(exc), id="helpdesk.E_SSO_2"))
    if settings.OIDC_REVALIDATE_MINUTES < 1:
        errors.append(checks.Error("OIDC_REVALIDATE_MINUTES must be at least 1.", id="helpdesk.E_SSO_3"))
    return errors


_REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")


def provider_metadata() -> dict[str, Any]:
    """The provider's discovery document, cached for ``OIDC_DISCOVERY_CACHE_SECONDS``. Its ``issuer`` must equal
    ``OIDC_ISSUER`` (OpenID Connect Discovery 1.0, section 4.3) and it must offer PKCE with S256."""
    issuer = settings.OIDC_ISSUER
    key = f"helpdesk:sso:discovery:{issuer}"
    metadata = cache.get(key)
    if metadata is not None:
        return metadata
    try:
        response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        metadata = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SsoRefused("provider_unavailable", "The identity provider cannot be reached. Try again shortly.") from exc
    if not isinstance(metadata, dict) or any(not metadata.get(name) for name in _REQUIRED_METADATA):
        raise SsoRefused("provider_misconfigured", GENERIC_REFUSAL, problem="incomplete discovery document")
    if metadata["issuer"].rstrip("/") != issuer:
        raise SsoRefused("provider_misconfigured", GENERIC_REFUSAL, problem="discovery issuer differs")
    if "S256" not in metadata.get("code_challenge_methods_supported", ["S256"]):
        raise SsoRefused("provider_misconfigured", GENERIC_REFUSAL, problem="no PKCE S256")
    cache.set(key, metadata, settings.OIDC_DISCOVERY_CACHE_SECONDS)
    return metadata


# --- accounts ----------------------------------------------------------------------------------------------------


def _groups(claims: dict[str, Any]) -> list[str]:
    value = claims.get(settings.OIDC_GROUPS_CLAIM) or []
    if isinstance(value, str):
        value = [value]
    return [str(group) for group in value] if isinstance(value, list) else []


def _teams(names: Iterable[str]) -> list[Team]:
    teams = []
    for name in names:
        team = Team.objects.filter(name=name).first() or Team.objects.filter(slug=name).first()
        if team is None:
            raise SsoRefused("unknown_team", GENERIC_REFUSAL, team=name)
        teams.append(team)
    return teams


def _free_username(claims: dict[str, Any]) -> str:
    email = str(claims.get("email") or "")
    base = str(claims.get("preferred_username") or email.partition("@")[0] or f"sso-{claims['sub']}")
    base = re.sub(r"[^\w.@+-]", "-", base)[:140] or "sso-user"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


@transaction.atomic
def sso_user_for_claims(*, issuer: str, claims: dict[str, Any], request: HttpRequest | None, reason: str) -> User:
    """The staff account for a person the provider vouches for, created or moved to the role and teams their groups
    map to. Raises SsoRefused (nothing written) when no group maps, when a customer or an unmapped administrator
    would be signed in, or when an unlinked account already holds their email. Atomic."""
    subject = str(claims["sub"])
    groups = _groups(claims)
    access = access_for_groups(groups, parse_group_map(settings.OIDC_GROUP_MAP))
    if access is None:
        raise SsoRefused("no_mapped_group", NO_GROUP_REFUSAL, groups=groups)
    role, team_names = access
    teams = _teams(team_names)
    identity = SsoIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    if identity is None:
        email = str(claims.get("email") or "")
        if email and User.objects.filter(email__iexact=email).exists():
            raise SsoRefused(
                "email_taken",
                "A helpdesk account with your email address already exists and is not linked to single sign-on. "
                "Ask your administrator to link it.",
                email=email,
            )
        user = User.objects.create_user(
            username=_free_username(claims),
            email=email,
            password=None,  # unusable: this account signs in through the provider only
            first_name=str(claims.get("given_name") or "")[:150],
            last_name=str(claims.get("family_name") or "")[:150],
            role=role,
        )
        identity = SsoIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    user = identity.user
    if not user.is_active:
        raise SsoRefused("inactive", "This helpdesk account is deactivated. Ask your administrator.")
    if user.role == Role.CUSTOMER:
        raise SsoRefused("customer", GENERIC_REFUSAL)
    if user.is_superuser and role != Role.ADMIN:
        raise SsoRefused("admin_not_mapped", GENERIC_REFUSAL, groups=groups)
    staff_access_set(user=user, role=role, teams=teams, actor=None, reason=reason, request=request)
    SsoIdentity.objects.filter(pk=identity.pk).update(last_sign_in_at=timezone.now())
    return user


def _record_refusal(refusal: SsoRefused, *, request: HttpRequest | None, subject: str = "") -> None:
    audit.record(
        AuditAction.SSO_REFUSED,
        target_type="sso_subject" if subject else "",
        target_id=subject,
        request=request,
        detail={"code": refusal.code, **refusal.detail},
    )


# --- the protocol (mozilla-django-oidc, with our discovery, checks and account rules) ----------------------------


def _oidc_setting(attr: str, *default: Any) -> Any:
    return getattr(settings, attr, *default)


class SsoBackend(OIDCAuthenticationBackend):
    """The library's code-flow backend, answering only the SSO callback (never a username and password), with its
    endpoints from the discovery document and the audience and issuer checked as well as the signature and nonce."""

    OIDC_RP_SIGN_ALGO = "RS256"
    OIDC_RP_IDP_SIGN_KEY = None

    get_settings = staticmethod(_oidc_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library's __init__ reads the endpoints; ours come from discovery, fetched only when a sign-in needs it.
        self.UserModel = User

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:  # the library's attribute names, upper case
        return provider_metadata()["token_endpoint"]

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return provider_metadata()["userinfo_endpoint"]

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return provider_metadata()["jwks_uri"]

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:
        return settings.OIDC_RP_CLIENT_ID

    @property
    def OIDC_RP_CLIENT_SECRET(self) -> str:
        return settings.OIDC_RP_CLIENT_SECRET

    def get_user(self, user_id: int) -> User | None:
        # Django's rule (the library's own get_user skips it): a deactivated account's session no longer signs in.
        return ModelBackend.get_user(self, user_id)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        if not settings.OIDC_ENABLED or request is None or "nonce" not in kwargs or "password" in kwargs:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except SsoRefused as refusal:
            setattr(request, REFUSAL_ATTR, refusal)
        except (SuspiciousOperation, jwt.PyJWTError, requests.RequestException, KeyError, ValueError) as exc:
            setattr(request, REFUSAL_ATTR, SsoRefused("token_rejected", GENERIC_REFUSAL, error=type(exc).__name__))
        except IntegrityError:
            # The same person's first sign-in finishing twice at once (two tabs): the other one created the account.
            setattr(request, REFUSAL_ATTR, SsoRefused("concurrent_first_sign_in", GENERIC_REFUSAL))
        return None

    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        token_info = super().get_token(payload)
        if self.request is not None:
            setattr(self.request, _TOKENS_ATTR, token_info)
        return token_info

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """The library checks the signature (RS256, key from the JWKS by ``kid``), expiry and nonce; the issuer and
        audience are checked here (OpenID Connect Core 1.0, 3.1.3.7)."""
        payload = super().verify_token(token, **kwargs)
        self._check_issuer_and_audience(payload)
        return payload

    def verify_refreshed_id_token(self, token: str) -> dict[str, Any]:
        """An ID token from a refresh: signature, expiry, issuer and audience (a refresh carries no new nonce)."""
        payload = self.get_payload_data(token, self.retrieve_matching_jwk(token))
        self._check_issuer_and_audience(payload)
        return payload

    def _check_issuer_and_audience(self, payload: dict[str, Any]) -> None:
        if payload.get("iss") != settings.OIDC_ISSUER:
            raise SuspiciousOperation("ID token issuer mismatch.")
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token audience mismatch.")
        if len(audiences) > 1 and payload.get("azp") != settings.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("ID token authorised party mismatch.")

    def claims_for(self, access_token: str, id_claims: dict[str, Any]) -> dict[str, Any]:
        """The ID token's claims with the userinfo endpoint's on top; both must be about the same subject."""
        userinfo = self.get_userinfo(access_token, None, id_claims)
        if str(userinfo.get("sub")) != str(id_claims.get("sub")):
            raise SuspiciousOperation("Userinfo subject differs from the ID token's.")
        return {**id_claims, **userinfo}

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User:
        claims = self.claims_for(access_token, payload)
        try:
            return sso_user_for_claims(
                issuer=settings.OIDC_ISSUER, claims=claims, request=self.request, reason="single sign-on"
            )
        except SsoRefused as refusal:
            refusal.detail.setdefault("subject", str(claims.get("sub")))
            raise


class SsoLoginView(OIDCAuthenticationRequestView):
    """/sso/login/: starts the code flow (state, nonce and PKCE verifier kept in the session) at the provider."""

    get_settings = staticmethod(_oidc_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.OIDC_ENABLED:
            raise Http404
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_metadata()["authorization_endpoint"]
        except SsoRefused as refusal:
            messages.error(request, refusal.message)
            return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class SsoCallbackView(OIDCAuthenticationCallbackView):
    """/sso/callback/: the provider sends the browser back here with the code; the library checks the state and
    redeems the code with the PKCE verifier, ``SsoBackend`` checks the ID token and applies the groups."""

    get_settings = staticmethod(_oidc_setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.OIDC_ENABLED:
            raise Http404
        if request.GET.get("error"):
            error = str(request.GET["error"])[:60]
            setattr(request, REFUSAL_ATTR, SsoRefused("provider_refused", GENERIC_REFUSAL, error=error))
        try:
            return super().get(request)
        except SuspiciousOperation:
            # A state we never issued (a replayed or forged callback): refuse it like any other failure.
            setattr(request, REFUSAL_ATTR, SsoRefused("state_mismatch", GENERIC_REFUSAL))
            return self.login_failure()

    def login_failure(self) -> HttpResponse:
        refusal = getattr(self.request, REFUSAL_ATTR, None) or SsoRefused("not_completed")
        _record_refusal(refusal, request=self.request, subject=str(refusal.detail.pop("subject", "")))
        messages.error(self.request, refusal.message)
        return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))

    def login_success(self) -> HttpResponse:
        response = super().login_success()  # auth.login: a new session key, the user signed in
        token_info = getattr(self.request, _TOKENS_ATTR, {})
        identity = SsoIdentity.objects.get(user=self.user)
        self.request.session[SSO_SESSION_KEY] = {
            "issuer": identity.issuer,
            "subject": identity.subject,
            "access_token": token_info.get("access_token", ""),
            "refresh_token": token_info.get("refresh_token", ""),
            "checked_at": timezone.now().isoformat(),
        }
        # The identity provider did the second factor: this session needs no local MFA step.
        mfa_mark_satisfied(self.request, method=MfaMethod.SSO)
        audit.record(AuditAction.SSO_SIGN_IN, actor=self.user, target=self.user, request=self.request)
        return response


# --- re-checking signed-in sessions -------------------------------------------------------------------------------


def sso_session_revalidate(request: HttpRequest) -> None:
    """Ask the provider whether this SSO session still stands and apply the person's current groups. Redeems the
    refresh token (or, without one, calls userinfo with the access token); raises SsoRefused when the provider says
    no, cannot be reached, or the person no longer maps to a staff role. Stores the new tokens and the check time."""
    state = request.session[SSO_SESSION_KEY]
    backend = SsoBackend()
    backend.request = request
    try:
        access_token = state.get("access_token", "")
        id_claims: dict[str, Any] = {"sub": state["subject"]}
        if state.get("refresh_token"):
            token_info = backend.get_token(
                {
                    "client_id": settings.OIDC_RP_CLIENT_ID,
                    "client_secret": settings.OIDC_RP_CLIENT_SECRET,
                    "grant_type": "refresh_token",
                    "refresh_token": state["refresh_token"],
                }
            )
            access_token = token_info["access_token"]
            state["refresh_token"] = token_info.get("refresh_token") or state["refresh_token"]
            if token_info.get("id_token"):
                id_claims = backend.verify_refreshed_id_token(token_info["id_token"])
                if str(id_claims.get("sub")) != state["subject"]:
                    raise SuspiciousOperation("Refreshed ID token is about someone else.")
        claims = backend.claims_for(access_token, id_claims)
    except (SuspiciousOperation, jwt.PyJWTError, requests.RequestException, KeyError, ValueError) as exc:
        raise SsoRefused("revalidation_failed", error=type(exc).__name__) from exc
    user = sso_user_for_claims(issuer=state["issuer"], claims=claims, request=request, reason="single sign-on re-check")
    if user.pk != request.user.pk:
        raise SsoRefused("revalidation_failed", error="account differs")
    state["access_token"] = access_token
    state["checked_at"] = timezone.now().isoformat()
    request.session[SSO_SESSION_KEY] = state


def _checked_at(state: dict[str, Any]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(state.get("checked_at")))
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else None


SIGNED_OUT_MESSAGE = "Your single sign-on session has ended at your identity provider. Please sign in again."


class SsoRevalidationMiddleware:
    """Re-checks an SSO-signed-in session with the provider once ``OIDC_REVALIDATE_MINUTES`` have passed since the
    last check, on whatever request comes next (page, htmx fragment, form post or API call), and signs the person
    out when the provider no longer vouches for them. Sessions from password sign-ins are not touched."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated and SSO_SESSION_KEY in session:
            response = self._enforce(request)
            if response is not None:
                return response
        return self.get_response(request)

    def _enforce(self, request: HttpRequest) -> HttpResponse | None:
        state = request.session[SSO_SESSION_KEY]
        checked_at = _checked_at(state)
        interval = timedelta(minutes=settings.OIDC_REVALIDATE_MINUTES)
        if settings.OIDC_ENABLED and checked_at is not None and timezone.now() - checked_at < interval:
            return None
        try:
            if not settings.OIDC_ENABLED:
                raise SsoRefused("sso_switched_off")
            sso_session_revalidate(request)
            return None
        except SsoRefused as refusal:
            user = request.user
            audit.record(
                AuditAction.SIGN_OUT,
                actor=user,  # type: ignore[arg-type]  # authenticated, checked by the caller
                target=user,  # type: ignore[arg-type]
                request=request,
                detail={"reason": "single sign-on re-check", "code": refusal.code, **refusal.detail},
            )
        auth.logout(request)
        if request.path_info.startswith("/api/"):
            return None  # the API view now sees an anonymous request and answers 401 like any other
        messages.warning(request, SIGNED_OUT_MESSAGE)
        htmx = getattr(request, "htmx", None)
        if htmx:
            return HttpResponseClientRedirect(sign_in_url(htmx.current_url_abs_path))
        return HttpResponseRedirect(sign_in_url(request.get_full_path() if request.method == "GET" else None))
