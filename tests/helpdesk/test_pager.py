"""SMS pages through the outbox: the console provider, and the HTTP provider against a local fake gateway."""

from __future__ import annotations

import json
import logging

import pytest

from helpdesk.models import Notification, NotificationChannel, NotificationKind, NotificationStatus
from helpdesk.notifications import notification_deliver
from helpdesk.pager import HttpPager, pager_provider
from tests.http_receiver import Receiver


def sms_gateway(status: int = 202) -> Receiver:
    """A fake SMS gateway on loopback (see ``tests.http_receiver``)."""
    return Receiver(status=status, path="/v1/messages")


def _sms_row(manager):
    return Notification.objects.create(
        channel=NotificationChannel.SMS,
        kind=NotificationKind.ESCALATION_EMERGENCY,
        recipient=manager,
        to_address="+447700900123",
        subject="[T-1] You are on call.\nNew escalation",
        url="/tickets/T-1/",
        status=NotificationStatus.PENDING,
    )


def test_http_pager_posts_the_page_to_the_gateway(settings, manager):
    # given the HTTP provider pointed at a gateway on loopback
    with sms_gateway() as gateway:
        settings.PAGER_BACKEND, settings.PAGER_HTTP_URL, settings.PAGER_HTTP_TOKEN = "http", gateway.url, "tok-1"
        settings.SITE_URL = "https://help.example"
        row = _sms_row(manager)
        # when the outbox delivers an SMS row
        assert notification_deliver(notification_id=row.pk)
    # then the gateway got one JSON message with the bearer token, and the row is sent
    [request] = gateway.requests
    assert request["path"] == "/v1/messages"
    assert request["headers"]["Authorization"] == "Bearer tok-1"
    assert json.loads(request["body"]) == {
        "to": "+447700900123",
        "text": "[T-1] You are on call. New escalation https://help.example/tickets/T-1/",
    }
    row.refresh_from_db()
    assert row.status == NotificationStatus.SENT


def test_a_gateway_error_leaves_the_page_for_the_outbox_to_retry(settings, manager):
    with sms_gateway(status=503) as gateway:
        settings.PAGER_BACKEND, settings.PAGER_HTTP_URL = "http", gateway.url
        row = _sms_row(manager)
        assert not notification_deliver(notification_id=row.pk)
    row.refresh_from_db()
    assert (row.status, row.last_error) == (
        NotificationStatus.PENDING,
        "HTTPError: HTTP Error 503: Service Unavailable",
    )
    assert row.not_before is not None


def test_console_pager_logs_the_page(settings, manager, caplog):
    settings.PAGER_BACKEND = "console"
    row = _sms_row(manager)
    with caplog.at_level(logging.INFO, logger="helpdesk.pager"):
        assert notification_deliver(notification_id=row.pk)
    assert "page to +447700900123: [T-1] You are on call. New escalation" in caplog.text


def test_the_pager_refuses_a_url_that_is_not_http():
    with pytest.raises(ValueError, match=r"^PAGER_HTTP_URL must be an http\(s\) URL\.$"):
        HttpPager(url="file:///etc/passwd", token="", timeout=1)


def test_an_unknown_backend_is_refused(settings):
    settings.PAGER_BACKEND = "carrier-pigeon"
    with pytest.raises(RuntimeError, match=r"^unknown PAGER_BACKEND 'carrier-pigeon' \(use '', 'console' or 'http'\)$"):
        pager_provider()
