"""Which language and which time zone a request is rendered in: the one rule for every screen and email.

Language: the user's own choice (``User.language``, set on the profile), else the browser's ``Accept-Language``
(Django's ``LocaleMiddleware`` has already picked it), else ``LANGUAGE_CODE``. Emails and other messages rendered
outside a request use ``user_language(recipient)`` with ``translation.override``.

Time zone: ``helpdesk.customer_time.customer_timezone(user)``, the same rule for staff and customers: the user's own
``User.timezone`` (profile), else their organisation's, else ``TIME_ZONE`` (the contact centre's own zone). Every
staff time is printed with its zone's name, so a screen never shows a bare clock time.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from helpdesk.customer_time import customer_timezone
from helpdesk.models import User


def supported_language(code: str | None) -> str | None:
    """``code`` if the product is translated into it (``settings.LANGUAGES``), else None."""
    codes = {c for c, _ in settings.LANGUAGES}
    return code if code in codes else None


def in_language_of(user: User | None) -> translation.override:
    """``with in_language_of(customer): ...``: write a message (subject and body) in the recipient's language."""
    return translation.override(user_language(user))


def user_language(user: User | None) -> str:
    """The language to write to ``user`` in when no request says it (emails): their choice, else the default."""
    return (user and supported_language(user.language)) or settings.LANGUAGE_CODE


class UserLocaleMiddleware:
    """Activates the signed-in user's language (when they chose one) and time zone for the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        chosen = supported_language(user.language)
        if chosen:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        timezone.activate(customer_timezone(user))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
