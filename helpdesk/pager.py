"""Pages by SMS: the outbox's ``sms`` channel. A provider is anything with ``send(*, to, text)`` that raises on
failure (the outbox then retries with back-off like any other row). ``PAGER_BACKEND`` picks it: empty (the default)
turns the channel off and no SMS row is written; ``console`` logs each page; ``http`` posts it as JSON to
``PAGER_HTTP_URL`` with ``PAGER_HTTP_TOKEN`` as a bearer token (a generic SMS gateway adapter). Voice calls are not
built."""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Protocol

from django.conf import settings

from helpdesk.models import Notification, NotificationChannel
from helpdesk.notifications import absolute_url, register_deliverer
from helpdesk.text import single_line

logger = logging.getLogger(__name__)


class PagerProvider(Protocol):
    def send(self, *, to: str, text: str) -> None: ...


class ConsolePager:
    """Writes each page to the log: for development and for a deployment without an SMS provider yet."""

    def send(self, *, to: str, text: str) -> None:
        logger.info("page to %s: %s", to, text)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirected page would be re-sent as a GET without its body: treat any 3xx as the failure it is.
    def redirect_request(self, *args, **kwargs):
        return None


class HttpPager:
    """POSTs ``{"to": ..., "text": ...}`` as JSON with a bearer token; any status but 2xx is a failure."""

    def __init__(self, *, url: str, token: str, timeout: float) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("PAGER_HTTP_URL must be an http(s) URL.")
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, *, to: str, text: str) -> None:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above; the URL is operator-configured
            self.url,
            data=json.dumps({"to": to, "text": text}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
            method="POST",
        )
        # The opener raises HTTPError for any 3xx, 4xx or 5xx; the check below catches the odd 1xx-free rest.
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=self.timeout) as response:
            if not 200 <= response.status < 300:
                raise RuntimeError(f"pager provider answered {response.status}")


def pager_enabled() -> bool:
    return bool(settings.PAGER_BACKEND)


def pager_provider() -> PagerProvider:
    backend = settings.PAGER_BACKEND
    if backend == "console":
        return ConsolePager()
    if backend == "http":
        return HttpPager(
            url=settings.PAGER_HTTP_URL, token=settings.PAGER_HTTP_TOKEN, timeout=settings.PAGER_TIMEOUT_SECONDS
        )
    raise RuntimeError(f"unknown PAGER_BACKEND {backend!r} (use '', 'console' or 'http')")


def pager_text(notification: Notification) -> str:
    """One line: the subject and the link (a text message has no body worth sending)."""
    text = single_line(notification.subject)
    return f"{text} {absolute_url(notification.url)}" if notification.url else text


def _deliver_sms(notification: Notification) -> None:
    pager_provider().send(to=notification.to_address, text=pager_text(notification))


register_deliverer(NotificationChannel.SMS, _deliver_sms)
