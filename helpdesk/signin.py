"""Sign-in: the one username lockout that every way in goes through, and the forms that explain it.

Every sign-in (the HTML form at /login/, the Django admin's login, the JSON ``/api/auth/login/``, and anything else
that calls ``django.contrib.auth.authenticate``) reaches ``LockoutModelBackend``, the only authentication backend.
It counts the attempt *before* the password is checked (``login_attempt_reserve``, under a row lock), so a parallel
burst of guesses through any mix of entry points gets at most ``LOGIN_LOCKOUT_FAILURES`` password checks.

django-axes was tried and not adopted: its 8.3.1 release lists Django up to 6.0, and it records a failure only after
the password check, so 15 parallel guesses on PostgreSQL all had their password checked (see README, Security).

Two-step sign-in is part of the same ``authenticate`` call: a user with an authenticator app must pass
``otp_token`` (a current code or an unused recovery code, helpdesk/mfa.py) with the password, and a wrong or
missing code is one more failure in the same lockout count. Every refusal reads the same whichever factor was wrong.
"""

from __future__ import annotations

import math
from datetime import datetime

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils import timezone

from helpdesk.api.services import login_attempt_reserve, login_attempt_succeeded
from helpdesk.mfa import MFA_VERIFIED_ATTR, mfa_second_factor

# Set on the request by the backend when a sign-in was refused because the username is locked.
LOCKED_UNTIL_ATTR = "login_locked_until"


class LockoutModelBackend(ModelBackend):
    """ModelBackend behind the per-username lockout. A locked username is refused without checking the password,
    whether or not the username exists, so the refusal reveals nothing about which usernames exist."""

    def authenticate(self, request: HttpRequest | None, username=None, password=None, otp_token=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        locked_until = login_attempt_reserve(username=username)
        if locked_until is not None:
            if request is not None:
                setattr(request, LOCKED_UNTIL_ATTR, locked_until)
            # authenticate() stops trying backends on PermissionDenied and sends user_login_failed.
            raise PermissionDenied("This username is locked after repeated failed sign-ins.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            return None
        # The password was right; the second factor decides. A refusal here leaves the attempt counted as failed.
        method = mfa_second_factor(user=user, code=otp_token, request=request)
        if method is None:
            return None
        login_attempt_succeeded(username=username)
        if method and request is not None:
            setattr(request, MFA_VERIFIED_ATTR, method)
        return user


def login_locked_until(request: HttpRequest | None) -> datetime | None:
    """When the last sign-in on this request was refused by the lockout, the lock's end; else None."""
    return getattr(request, LOCKED_UNTIL_ATTR, None)


def lockout_wait_seconds(locked_until: datetime, *, now: datetime | None = None) -> int:
    return max(1, math.ceil((locked_until - (now or timezone.now())).total_seconds()))


def lockout_message(locked_until: datetime, *, now: datetime | None = None) -> str:
    """The one lockout text, the same for every username (existing or not) and every entry point."""
    minutes = math.ceil(lockout_wait_seconds(locked_until, now=now) / 60)
    return f"Too many failed sign-in attempts. Try again in {minutes} minute(s)."


# The one refusal for a wrong username, password or code: it never says which factor was wrong.
INVALID_LOGIN_MESSAGE = (
    "Please enter a correct username and password, and the code from your authenticator app if you use one. "
    "Note that the password is case-sensitive."
)


class _LockoutMessageMixin(forms.Form):
    """Adds the optional authentication-code field, passes it to ``authenticate`` with the password, and words
    the refusals (lockout, or the one message for any wrong factor)."""

    otp_token = forms.CharField(
        label="Authentication code",
        required=False,
        max_length=32,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "spellcheck": "false"}),
        help_text="From your authenticator app, or one of your recovery codes. Leave empty if you have not set up "
        "two-step sign-in.",
    )

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            self.user_cache = authenticate(
                self.request, username=username, password=password, otp_token=self.cleaned_data.get("otp_token")
            )
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

    def get_invalid_login_error(self):
        locked_until = login_locked_until(self.request)
        if locked_until is not None:
            return ValidationError(lockout_message(locked_until), code="locked")
        return ValidationError(INVALID_LOGIN_MESSAGE, code="invalid_login")


class SignInForm(_LockoutMessageMixin, AuthenticationForm):
    """The /login/ form: Django's, with the lockout explained instead of "wrong password"."""


class AdminSignInForm(_LockoutMessageMixin, AdminAuthenticationForm):
    """The Django admin's login form, with the same lockout message."""
