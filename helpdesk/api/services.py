"""Writes behind the API: personal tokens and the sign-in lockout."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from helpdesk.models import ApiToken, LoginFailure, User

TOKEN_PREFIX = "hd_"  # noqa: S105 - a public marker, not a secret


def api_token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str, read_only: bool = False) -> tuple[ApiToken, str]:
    """Issue a named personal token; only its SHA-256 digest is kept, so the raw token is returned once. A
    ``read_only`` token may only read (enforced by ``ApiTokenAuthentication``). Atomic."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the token a name, e.g. the integration that will use it."})
    if not user.is_active:
        raise ValidationError({"name": "Inactive users cannot have tokens."})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:80], prefix=raw[:10], digest=api_token_digest(raw), read_only=read_only
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of my tokens; it stops authenticating on the very next request. Atomic, idempotent."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
    if token is None:
        raise Http404("No such token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def _lockout_key(username: str) -> str:
    return (username or "").strip().lower()[:150]


@transaction.atomic
def login_attempt_reserve(*, username: str, now: datetime | None = None) -> datetime | None:
    """Count a sign-in attempt *before* the password is checked, under a row lock, so that no burst of parallel
    guesses gets more than LOGIN_LOCKOUT_FAILURES password checks. Returns the lock's end when locked. Atomic."""
    now = now or timezone.now()
    key = _lockout_key(username)
    LoginFailure.objects.get_or_create(username=key)  # races on the unique username resolve inside get_or_create
    row = LoginFailure.objects.select_for_update().get(username=key)
    if row.locked_until is not None:
        if row.locked_until > now:
            return row.locked_until
        row.failures, row.locked_until = 0, None
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= settings.LOGIN_LOCKOUT_FAILURES:
        row.locked_until = now + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    row.save(update_fields=["failures", "locked_until", "last_failure_at"])
    return None


@transaction.atomic
def login_attempt_succeeded(*, username: str) -> None:
    """A correct password clears the username's failure count. Atomic, idempotent."""
    LoginFailure.objects.filter(username=_lockout_key(username)).update(failures=0, locked_until=None)


@transaction.atomic
def user_update_profile(*, user: User, **changes: str) -> User:
    """Change my own name, phone or time zone; never role, permissions or organisation. Atomic."""
    allowed = {"first_name", "last_name", "phone", "timezone"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be changed here."))
    for name, value in changes.items():
        setattr(user, name, value)
    if changes:
        user.save(update_fields=sorted(changes))
    return user
