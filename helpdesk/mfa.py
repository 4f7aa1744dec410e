"""Two-step sign-in (MFA) for staff: an authenticator app (TOTP) plus single-use recovery codes.

Library: django-otp 1.7.5 supplies the devices (``TOTPDevice``: RFC 6238 with replay protection; ``StaticDevice`` /
``StaticToken``: the recovery codes) and segno 1.6.6 draws the enrolment QR code as inline SVG on the server (no
JavaScript, nothing third-party in the browser). django-otp was chosen over django-allauth's MFA because it only
verifies codes and so fits our own sign-in, where every way in (/login/, the admin's login, ``/api/auth/login/``)
goes through one authentication backend and its per-username lockout (helpdesk/signin.py); allauth's MFA works inside
allauth's own account views and login flow, which would replace that sign-in and its lockout. django-otp 1.7.5
declares ``Django>=4.2`` with no upper bound (it has no per-version classifiers); the tests run its TOTP and static
devices on Django 6.1. Its own per-device delays are switched off (``OTP_*_THROTTLE_FACTOR = 0``): every code attempt
is counted by the username lockout instead. WebAuthn/passkeys are not offered: django-otp has no maintained WebAuthn
device for Django 6.1.

The rules, each with one home here:
- who must use it: ``mfa_required_for(user)`` (roles listed in ``MFA_REQUIRED_ROLES``); anyone staff may enrol;
- what a sign-in needs: ``mfa_second_factor`` (called by the authentication backend, so every way in asks for the
  code): a user with an authenticator app must give a current code or an unused recovery code;
- whether this session did its second factor: ``mfa_satisfied(request)``. A sign-in whose identity provider did the
  second factor (single sign-on) calls ``mfa_mark_satisfied(request, method=MfaMethod.SSO)`` after ``login()``;
- ``MfaEnrolmentMiddleware`` sends a user whose role requires MFA and who has not enrolled to the enrolment page
  before anything else (screens and Django admin; the session API answers 403). Personal API tokens are not affected.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpdesk import audit
from helpdesk.api.services import login_attempt_reserve, login_attempt_succeeded
from helpdesk.models import AuditAction, User

# The session key that says which second factor this session passed ("totp", "recovery", "enrolled", "sso").
MFA_SESSION_KEY = "helpdesk_mfa"
# Set on the request by the authentication backend when the sign-in passed a second factor; copied into the
# session once ``login()`` has cycled it (``_remember_second_factor``).
MFA_VERIFIED_ATTR = "mfa_verified_method"

TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_CODE_LENGTH = 10  # characters of base32's alphabet (50 random bits), shown as two groups of five
RECOVERY_CODE_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # no 0/1/8/9: nothing to confuse with O, I, l or B
RECOVERY_DEVICE_NAME = "Recovery codes"


class MfaMethod:
    TOTP = "totp"
    RECOVERY = "recovery"
    ENROLLED = "enrolled"  # the code that confirmed the enrolment, in this very session
    SSO = "sso"  # the identity provider did the second factor


# --- who, and whether this session is verified ---------------------------------------------------------------


def mfa_required_for(user: User) -> bool:
    """Whether ``user``'s role must use two-step sign-in (``MFA_REQUIRED_ROLES``; a superuser counts as admin)."""
    return bool(user.is_active and user.effective_role in set(settings.MFA_REQUIRED_ROLES))


def mfa_device(user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator app, or None when they have not enrolled."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def mfa_enrolled(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def mfa_satisfied(request: HttpRequest) -> bool:
    """Whether this session's sign-in passed a second factor (a code, a recovery code, the enrolment itself, or
    single sign-on that marked it with ``mfa_mark_satisfied``)."""
    session = getattr(request, "session", None)
    return bool(session is not None and session.get(MFA_SESSION_KEY))


def mfa_mark_satisfied(request: HttpRequest, *, method: str) -> None:
    """Record on the signed-in session that its second factor was done (``method`` says how). The single sign-on
    callback calls this after ``login()``: the identity provider does its own MFA, so no local code is asked."""
    request.session[MFA_SESSION_KEY] = method


@receiver(user_logged_in, dispatch_uid="helpdesk.mfa.remember_second_factor")
def _remember_second_factor(sender, request: HttpRequest | None, user, **kwargs) -> None:
    method = getattr(request, MFA_VERIFIED_ATTR, None)
    if request is not None and method:
        mfa_mark_satisfied(request, method=method)


# --- codes --------------------------------------------------------------------------------------------------


def normalise_code(code: str | None) -> str:
    """Codes as people type them: spaces and dashes ignored, letters in any case."""
    return "".join((code or "").split()).replace("-", "").lower()


def mfa_second_factor(*, user: User, code: str | None, request: HttpRequest | None = None) -> str | None:
    """The second-factor step of a sign-in whose password was right. Returns ``""`` when ``user`` has no
    authenticator app (the password is the whole sign-in; the enrolment middleware handles roles that require
    one), the method (``"totp"`` / ``"recovery"``) when ``code`` is a current code or an unused recovery code, and
    None (audited as ``MFA_FAILED``) otherwise. The caller has already counted the attempt in the lockout."""
    if not mfa_enrolled(user):
        return ""
    method = _consume_code(user=user, code=code)
    if method is None:
        audit.record(
            AuditAction.MFA_FAILED,
            actor=user,
            target=user,
            request=request,
            detail={"during": "sign_in", "code_given": bool(normalise_code(code))},
        )
        return None
    if method == MfaMethod.RECOVERY:
        audit.record(
            AuditAction.RECOVERY_CODE_USED,
            actor=user,
            target=user,
            request=request,
            detail={"remaining": mfa_recovery_codes_left(user)},
        )
    return method


@transaction.atomic
def _consume_code(*, user: User, code: str | None) -> str | None:
    """Check ``code`` against the user's authenticator app, then their recovery codes. A TOTP code is accepted
    once (django-otp keeps the last time step used, under a row lock here so two parallel sign-ins cannot both
    use it); a recovery code is deleted as it is used, and only the one delete that removes it wins. Atomic."""
    code = normalise_code(code)
    if not code:
        return None
    if code.isdigit() and len(code) < RECOVERY_CODE_LENGTH:
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is not None and device.verify_token(code):
            return MfaMethod.TOTP
        return None
    deleted, _kinds = StaticToken.objects.filter(device__user=user, device__confirmed=True, token=code).delete()
    return MfaMethod.RECOVERY if deleted else None


def mfa_code_check(*, user: User, code: str | None, request: HttpRequest | None = None, during: str) -> bool:
    """A code asked again from a signed-in user before a sensitive change (removing MFA, new recovery codes).
    Counted by the same username lockout as sign-ins; a wrong code is audited. Atomic per step."""
    if login_attempt_reserve(username=user.get_username()) is not None:
        raise ValidationError(_("Too many failed attempts. Try again later."), code="locked")
    method = _consume_code(user=user, code=code)
    if method is None:
        audit.record(
            AuditAction.MFA_FAILED,
            actor=user,
            target=user,
            request=request,
            detail={"during": during, "code_given": bool(normalise_code(code))},
        )
        return False
    login_attempt_succeeded(username=user.get_username())
    if method == MfaMethod.RECOVERY:
        audit.record(
            AuditAction.RECOVERY_CODE_USED,
            actor=user,
            target=user,
            request=request,
            detail={"during": during, "remaining": mfa_recovery_codes_left(user)},
        )
    return True


# --- enrolment ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingEnrolment:
    device: TOTPDevice
    secret: str  # base32, what people type into an app that cannot scan
    otpauth_uri: str
    qr_svg: str  # inline <svg>, drawn on the server

    @property
    def secret_grouped(self) -> str:
        """The key in groups of four, as authenticator apps accept it typed (they ignore the spaces)."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


@transaction.atomic
def mfa_enrol_start(*, user: User) -> PendingEnrolment:
    """The not-yet-confirmed authenticator app for ``user`` (created on first call, then reused so a reload shows
    the same secret). It does not take part in sign-in until confirmed with a code. Atomic, idempotent."""
    if mfa_enrolled(user):
        raise ValidationError(_("Two-step sign-in is already set up."), code="enrolled")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    secret = base64.b32encode(device.bin_key).decode()
    uri = device.config_url
    qr = segno.make(uri, error="m")
    svg = qr.svg_inline(
        scale=4, border=4, dark="#000", light="#fff", omitsize=True, svgclass="mfa-qr", title="QR code to scan"
    )
    return PendingEnrolment(device=device, secret=secret, otpauth_uri=uri, qr_svg=svg)


@transaction.atomic
def mfa_enrol_confirm(*, user: User, code: str | None, request: HttpRequest | None = None) -> list[str]:
    """Confirm the pending authenticator app with a code it shows, issue fresh recovery codes (returned once; the
    caller shows them) and mark the current session verified. Audited as ``MFA_ENROLLED``. Atomic."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("id").first()
    if device is None or mfa_enrolled(user):
        raise ValidationError(_("Start the set-up again: there is nothing waiting to be confirmed."), code="no_pending")
    if not device.verify_token(normalise_code(code)):
        raise ValidationError(
            _("That code did not match. Check that your phone's clock is right and enter the code the app shows now."),
            code="wrong_code",
        )
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    codes = _recovery_codes_replace(user=user)
    audit.record(AuditAction.MFA_ENROLLED, actor=user, target=user, request=request, detail={"method": "totp"})
    if request is not None and hasattr(request, "session"):
        mfa_mark_satisfied(request, method=MfaMethod.ENROLLED)
    return codes


def _recovery_codes_replace(*, user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    count = settings.MFA_RECOVERY_CODE_COUNT
    codes = [
        "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _i in range(RECOVERY_CODE_LENGTH)) for _j in range(count)
    ]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def mfa_recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def mfa_recovery_codes_regenerate(*, user: User, code: str | None, request: HttpRequest | None = None) -> list[str]:
    """New recovery codes (the old ones stop working), after a current code. Atomic."""
    if not mfa_enrolled(user):
        raise ValidationError(_("Two-step sign-in is not set up."), code="not_enrolled")
    if not mfa_code_check(user=user, code=code, request=request, during="recovery_codes"):
        raise ValidationError(_("That code is not valid."), code="wrong_code")
    return _recovery_codes_replace(user=user)


def mfa_remove(
    *,
    user: User,
    actor: User,
    code: str | None = None,
    admin_reset: bool = False,
    request: HttpRequest | None = None,
) -> None:
    """Remove a user's authenticator app and recovery codes. From the profile page the user confirms with a current
    code; an administrator's reset in Django admin (lost phone) does not ask one. Audited as ``MFA_REMOVED``. A role
    that requires MFA is sent to enrol again on its next request."""
    if not admin_reset and not mfa_code_check(user=user, code=code, request=request, during="remove"):
        raise ValidationError(_("That code is not valid."), code="wrong_code")
    with transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).delete()[0]
        StaticDevice.objects.filter(user=user).delete()
        audit.record(
            AuditAction.MFA_REMOVED,
            actor=actor,
            target=user,
            request=request,
            detail={"devices": removed, "admin_reset": admin_reset},
        )
    if request is not None and actor.pk == user.pk and hasattr(request, "session"):
        request.session.pop(MFA_SESSION_KEY, None)


# --- enforcement --------------------------------------------------------------------------------------------

# Where a user who must enrol may still go: the enrolment page itself and the ways out.
ENROLMENT_OPEN_URL_NAMES = frozenset({"mfa_setup", "logout", "login", "admin:logout", "api:login", "favicon"})


def _url_name(request: HttpRequest) -> str:
    try:
        return resolve(request.path_info).view_name
    except Resolver404:
        return ""


class MfaEnrolmentMiddleware:
    """A signed-in user whose role requires two-step sign-in and whose session has not passed it is stopped here:
    without an authenticator app they are sent to set one up (screens and Django admin; the session API answers
    403 ``mfa_enrolment_required``); with one (a session started before they enrolled elsewhere) they are signed
    out to sign in again with a code. Requests with an ``Authorization`` header (personal API tokens) pass: tokens
    are not affected. Costs no query once the session is verified, nor for roles that do not require MFA."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not mfa_satisfied(request)
            and mfa_required_for(user)
            and "HTTP_AUTHORIZATION" not in request.META
        ):
            response = self._enforce(request, user)
            if response is not None:
                return response
        return self.get_response(request)

    def _enforce(self, request: HttpRequest, user: User) -> HttpResponse | None:
        if _url_name(request) in ENROLMENT_OPEN_URL_NAMES:
            return None
        if request.headers.get("Accept", "").startswith("text/event-stream"):
            # The push stream of a page (static/js/live.js): nothing until two-step sign-in is done, and no redirect
            # for the browser to follow into an HTML page (it would abort the page's own navigation).
            return HttpResponse(status=204)
        is_api = request.path_info.startswith("/api/")
        if mfa_enrolled(user):
            audit.sign_out_because(request, reason="second factor not done in this session")
            logout(request)
            if is_api:
                return JsonResponse(
                    {"detail": "Sign in again with your authentication code.", "code": "mfa_required"}, status=401
                )
            messages.info(request, _("Sign in again with the code from your authenticator app."))
            return _redirect(request, reverse("login"))
        if is_api:
            return JsonResponse(
                {
                    "detail": "Your role requires two-step sign-in: set it up on your profile page first.",
                    "code": "mfa_enrolment_required",
                },
                status=403,
            )
        return _redirect(request, reverse("mfa_setup"))


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if getattr(request, "htmx", False):
        if urlsplit(request.headers.get("HX-Current-URL", "")).path == url:
            # A fragment the page loads by itself (e.g. the navigation's saved views) on the very page we would send
            # the browser to: sending it there again would reload the page, and then again, for ever.
            return HttpResponse(status=204)
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)
