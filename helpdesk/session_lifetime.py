"""Session lifetimes by role. A staff session (agent, specialist, manager, admin) ends after
``STAFF_SESSION_IDLE_MINUTES`` without activity and, whatever the activity, ``STAFF_SESSION_MAX_HOURS`` after
sign-in; a customer session lasts ``CUSTOMER_SESSION_DAYS`` (Django's ``SESSION_COOKIE_AGE``).

No maintained library fits Django 6.1 here: django-session-security (2.6.8) lists Django up to 6.0, has an idle
timeout only (one for everybody, no absolute lifetime) and needs its own JavaScript and template include.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import Resolver404, resolve
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

SIGNED_IN_AT = "helpdesk_signed_in_at"
LAST_SEEN_AT = "helpdesk_last_seen_at"
# Last-seen is rewritten at most this often, so a busy agent does not save the session on every request; the idle
# timeout is therefore exact to within this much.
LAST_SEEN_RESOLUTION = timedelta(seconds=60)

IDLE = "idle"
LIFETIME = "lifetime"


def staff_session_idle() -> timedelta:
    return timedelta(minutes=settings.STAFF_SESSION_IDLE_MINUTES)


def staff_session_lifetime() -> timedelta:
    return timedelta(hours=settings.STAFF_SESSION_MAX_HOURS)


def staff_session_expiry(*, signed_in_at: datetime, last_seen_at: datetime, now: datetime) -> str | None:
    """Why a staff session has ended at ``now`` (``LIFETIME`` or ``IDLE``), or None while it is still valid."""
    if now - signed_in_at >= staff_session_lifetime():
        return LIFETIME
    if now - last_seen_at >= staff_session_idle():
        return IDLE
    return None


def expiry_message(reason: str) -> str:
    if reason == LIFETIME:
        hours = settings.STAFF_SESSION_MAX_HOURS
        return f"For security, staff sessions end {hours} hour(s) after signing in. Please sign in again."
    minutes = settings.STAFF_SESSION_IDLE_MINUTES
    return f"You were signed out after {minutes} minute(s) without activity. Please sign in again."


def _read(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else None


@receiver(user_logged_in, dispatch_uid="helpdesk.session_lifetime.stamp_sign_in")
def _stamp_sign_in(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """Every way in (form, admin, API session) records when the session started; a staff session is also stored
    with an expiry just after its absolute end (see ``_stored_expiry``)."""
    session = getattr(request, "session", None)
    if session is None:
        return
    now = timezone.now()
    session[SIGNED_IN_AT] = session[LAST_SEEN_AT] = now.isoformat()
    if getattr(user, "is_staff_member", False):
        session.set_expiry(_stored_expiry(now))


def _stored_expiry(signed_in_at: datetime) -> datetime:
    """The session store drops a staff session one idle period after its end: never kept long, but kept long
    enough that the middleware, not a silent expiry, ends it and tells the user why."""
    return signed_in_at + staff_session_lifetime() + staff_session_idle()


def _is_passive(request: HttpRequest) -> bool:
    """Background polls (presence, dashboard refresh) are checked for expiry but do not count as activity."""
    try:
        url_name = resolve(request.path_info).view_name
    except Resolver404:
        return False
    return url_name in settings.SESSION_PASSIVE_URL_NAMES


class StaffSessionTimeoutMiddleware:
    """Signs a staff user out once their session is idle too long or too old, and sends them to sign in with a
    message saying why. API calls are signed out and then answered as anonymous (401)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "is_staff_member", False):
            response = self._enforce(request)
            if response is not None:
                return response
        return self.get_response(request)

    def _enforce(self, request: HttpRequest) -> HttpResponse | None:
        session = request.session
        now = timezone.now()
        signed_in_at = _read(session.get(SIGNED_IN_AT))
        if signed_in_at is None:
            # A session from before this rule (or one whose stamp was tampered with): its clocks start now.
            session[SIGNED_IN_AT] = session[LAST_SEEN_AT] = now.isoformat()
            session.set_expiry(_stored_expiry(now))
            return None
        last_seen_at = _read(session.get(LAST_SEEN_AT)) or signed_in_at
        reason = staff_session_expiry(signed_in_at=signed_in_at, last_seen_at=last_seen_at, now=now)
        if reason is None:
            if now - last_seen_at >= LAST_SEEN_RESOLUTION and not _is_passive(request):
                session[LAST_SEEN_AT] = now.isoformat()
            return None
        logout(request)
        if request.path_info.startswith("/api/"):
            return None  # the API view now sees an anonymous request and answers 401 like any other
        messages.warning(request, expiry_message(reason))
        htmx = getattr(request, "htmx", None)
        if htmx:
            # A partial update must not swap the sign-in page into a fragment: send the whole page there, and come
            # back to the page the fragment was on.
            return HttpResponseClientRedirect(sign_in_url(htmx.current_url_abs_path))
        return HttpResponseRedirect(sign_in_url(request.get_full_path() if request.method == "GET" else None))


def sign_in_url(next_path: str | None) -> str:
    login_url = resolve_url(settings.LOGIN_URL)
    if not next_path or urlsplit(next_path).path in {login_url, resolve_url("logout")}:
        return login_url
    return redirect_to_login(next_path, login_url).url
