"""Outgoing webhooks through the outbox: signed, retried with back-off, disabled after repeated failures, safe
addresses only, and surviving a broker outage. A local HTTP receiver is started by each test."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import ssl
import subprocess
import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from helpdesk.celery import app as celery_app
from helpdesk.models import (
    Notification,
    NotificationChannel,
    NotificationStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)
from helpdesk.notifications import notification_deliver, notifications_redeliver_pending, outbox_publisher
from helpdesk.services import ticket_change_status
from helpdesk.webhooks import webhook_emit, webhook_signature_verify, webhook_url_check
from tests.celery_helpers import broker_at, real_worker, wait_until
from tests.http_receiver import Receiver

SECRET = "s3cret-shared-with-the-crm"


@pytest.fixture
def allow_local(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    return settings


def _endpoint(url, *types, **extra) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name="CRM", url=url, secret=SECRET, event_types=list(types or [WebhookEventType.TICKET_CREATED]), **extra
    )


def _webhook_rows(**filters):
    return Notification.objects.filter(channel=NotificationChannel.WEBHOOK, **filters)


def test_ticket_created_delivery_is_signed_and_verifies(allow_local, customer, make_ticket):
    with Receiver() as receiver:
        # given an endpoint subscribed to ticket.created
        endpoint = _endpoint(receiver.url)
        # when a ticket is created, its outbox row is delivered
        ticket = make_ticket(customer, subject="Printer on fire")
        row = _webhook_rows(ticket=ticket).get()
        assert notification_deliver(notification_id=row.pk) is True
    # then the receiver got one signed JSON POST that verifies with the shared secret
    [request] = receiver.requests
    headers = request["headers"]
    assert request["path"] == "/hooks/helpdesk"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Helpdesk-Delivery"] == row.data["delivery_id"]
    assert headers["X-Helpdesk-Event"] == "ticket.created"
    assert webhook_signature_verify(
        secret=SECRET,
        timestamp=headers["X-Helpdesk-Timestamp"],
        body=request["body"],
        signature=headers["X-Helpdesk-Signature"],
    )
    assert not webhook_signature_verify(
        secret="wrong",
        timestamp=headers["X-Helpdesk-Timestamp"],
        body=request["body"],
        signature=headers["X-Helpdesk-Signature"],
    )
    assert not webhook_signature_verify(
        secret=SECRET,
        timestamp=headers["X-Helpdesk-Timestamp"],
        body=request["body"] + b" ",
        signature=headers["X-Helpdesk-Signature"],
    )
    payload = json.loads(request["body"])
    assert payload["event"] == "ticket.created"
    assert payload["id"] == row.data["delivery_id"]
    assert payload["ticket"]["reference"] == ticket.reference
    assert payload["ticket"]["url"] == f"https://helpdesk.example.test/tickets/{ticket.reference}/"
    # and the attempt is in the delivery log
    log = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (log.succeeded, log.status_code, log.attempt) == (True, 200, 1)


def test_stale_timestamps_do_not_verify():
    from helpdesk.webhooks import webhook_signature

    sent = int(time.time()) - 3600
    signature = webhook_signature(secret=SECRET, timestamp=str(sent), body=b"{}")
    assert not webhook_signature_verify(secret=SECRET, timestamp=str(sent), body=b"{}", signature=signature)


def test_only_subscribed_active_endpoints_receive(allow_local, customer, agent, make_ticket):
    created = _endpoint("http://127.0.0.1:9/a", WebhookEventType.TICKET_CREATED)
    resolved = _endpoint("http://127.0.0.1:9/b", WebhookEventType.TICKET_RESOLVED)
    _endpoint("http://127.0.0.1:9/c", WebhookEventType.TICKET_CREATED, is_active=False)
    ticket = make_ticket(customer)
    assert [row.data["endpoint_id"] for row in _webhook_rows(ticket=ticket)] == [created.pk]
    ticket_change_status(ticket=ticket, actor=agent, status="resolved")
    rows = _webhook_rows(ticket=ticket, kind="webhook:ticket.resolved")
    assert [row.data["endpoint_id"] for row in rows] == [resolved.pk]
    assert rows[0].data["payload"]["data"]["from"] == "new"


def test_emit_rejects_unknown_event_types(db):
    with pytest.raises(ValueError, match=re.escape("Unknown webhook event type 'ticket.exploded'.")):
        webhook_emit(event_type="ticket.exploded", ticket=None, payload={})


def test_slack_format_posts_text(allow_local, customer, make_ticket):
    with Receiver() as receiver:
        _endpoint(receiver.url, slack_format=True)
        ticket = make_ticket(customer, subject="Checkout down")
        notification_deliver(notification_id=_webhook_rows(ticket=ticket).get().pk)
    body = json.loads(receiver.requests[0]["body"])
    assert body == {
        "text": f"*Ticket created*: <https://helpdesk.example.test/tickets/{ticket.reference}/|{ticket.reference}> "
        "Checkout down (normal, new)"
    }


def test_failing_receiver_is_retried_with_backoff_then_disabled(allow_local, customer, make_ticket, settings):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    settings.NOTIFICATION_MAX_ATTEMPTS = 8
    with Receiver(status=500) as receiver:
        # given an endpoint whose receiver always fails
        endpoint = _endpoint(receiver.url)
        ticket = make_ticket(customer)
        row = _webhook_rows(ticket=ticket).get()
        now = timezone.now()
        # when the outbox delivers it, then retries after each back-off
        for attempt in range(1, 4):
            assert notification_deliver(notification_id=row.pk, now=now) is False
            row.refresh_from_db()
            assert row.attempts == attempt
            assert row.not_before == now + timedelta(seconds=30 * 2 ** (attempt - 1))
            # not before the back-off moment
            assert notification_deliver(notification_id=row.pk, now=now + timedelta(seconds=1)) is False
            now = row.not_before + timedelta(seconds=1)
        # then the receiver saw three attempts of the same delivery, and the endpoint is disabled
        assert len(receiver.requests) == 3
        assert {r["headers"]["X-Helpdesk-Delivery"] for r in receiver.requests} == {row.data["delivery_id"]}
        endpoint.refresh_from_db()
        assert (endpoint.is_active, endpoint.failure_count) == (False, 3)
        assert endpoint.disabled_at is not None
        # and further attempts do not call it
        assert notification_deliver(notification_id=row.pk, now=now) is False
        assert len(receiver.requests) == 3
    row.refresh_from_db()
    assert row.last_error == "WebhookRefused: endpoint 'CRM' is disabled"
    log = list(
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .order_by("attempt")
        .values_list("attempt", "status_code", "succeeded")
    )
    assert log == [(1, 500, False), (2, 500, False), (3, 500, False)]
    # and a new event no longer queues anything for it
    make_ticket(customer, subject="another")
    assert _webhook_rows(ticket__subject="another").count() == 0


def test_success_resets_the_failure_count(allow_local, customer, make_ticket):
    with Receiver(status=503) as receiver:
        endpoint = _endpoint(receiver.url)
        row = _webhook_rows(ticket=make_ticket(customer)).get()
        notification_deliver(notification_id=row.pk)
        endpoint.refresh_from_db()
        assert endpoint.failure_count == 1
        receiver.status = 204
        notification_deliver(notification_id=row.pk, now=timezone.now() + timedelta(minutes=5))
    endpoint.refresh_from_db()
    row.refresh_from_db()
    assert (endpoint.failure_count, endpoint.is_active, row.status) == (0, True, NotificationStatus.SENT)


def test_redirects_are_not_followed(allow_local, customer, make_ticket):
    with Receiver(status=302, location="http://169.254.169.254/latest/meta-data/") as receiver:
        _endpoint(receiver.url)
        row = _webhook_rows(ticket=make_ticket(customer)).get()
        assert notification_deliver(notification_id=row.pk) is False
    row.refresh_from_db()
    assert row.last_error == "WebhookRefused: HTTP 302"
    assert len(receiver.requests) == 1


@pytest.fixture
def tls_receiver(tmp_path):
    """A receiver speaking HTTPS with a self-signed certificate for ``localhost``; yields (receiver, cert path)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: cannot make a certificate for the HTTPS receiver")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    receiver = Receiver()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    receiver.url = f"https://localhost:{receiver.server.server_address[1]}/hooks/helpdesk"
    with receiver:
        yield receiver, cert


def test_https_delivery_verifies_the_certificate_against_the_host_name(
    allow_local, customer, make_ticket, tls_receiver, monkeypatch
):
    receiver, cert = tls_receiver
    _endpoint(receiver.url)
    # given a receiver whose certificate no trusted authority signed: refused
    row = _webhook_rows(ticket=make_ticket(customer)).get()
    assert notification_deliver(notification_id=row.pk) is False
    row.refresh_from_db()
    assert "CERTIFICATE_VERIFY_FAILED" in row.last_error
    assert receiver.requests == []
    # when its certificate is trusted, the pinned connection (to the checked address, with SNI and host-name check
    # for "localhost") delivers
    trusting = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(http.client, "_create_https_context", lambda version: trusting)
    assert notification_deliver(notification_id=row.pk, now=timezone.now() + timedelta(minutes=5)) is True
    assert len(receiver.requests) == 1


def test_private_addresses_are_refused_by_default(customer, make_ticket, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with Receiver() as receiver:
        _endpoint(receiver.url)
        row = _webhook_rows(ticket=make_ticket(customer)).get()
        assert notification_deliver(notification_id=row.pk) is False
    assert receiver.requests == []
    row.refresh_from_db()
    assert row.last_error == (
        "WebhookRefused: refused: The host '127.0.0.1' resolves to a loopback, private or link-local address "
        "(127.0.0.1); webhooks may only call public addresses."
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "Only http:// and https:// webhook URLs are allowed."),
        ("file:///etc/passwd", "Only http:// and https:// webhook URLs are allowed."),
        ("http://user:pw@example.com/", "Put credentials in the secret, not in the URL."),
        (
            "http://10.1.2.3/",
            "The host '10.1.2.3' resolves to a loopback, private or link-local address (10.1.2.3); webhooks may only call public addresses.",
        ),
        (
            "http://169.254.169.254/",
            "The host '169.254.169.254' resolves to a loopback, private or link-local address (169.254.169.254); webhooks may only call public addresses.",
        ),
        (
            "http://[::1]:8080/",
            "The host '::1' resolves to a loopback, private or link-local address (::1); webhooks may only call public addresses.",
        ),
        (
            "http://[::ffff:192.168.0.1]/",
            "The host '::ffff:192.168.0.1' resolves to a loopback, private or link-local address (::ffff:192.168.0.1); webhooks may only call public addresses.",
        ),
        ("http://localhost:8000/", None),
    ],
)
def test_url_check_refuses_unsafe_urls(url, message, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(ValidationError) as info:
        webhook_url_check(url)
    if message is not None:
        assert info.value.message_dict == {"url": [message]}
    else:
        assert "loopback, private or link-local" in info.value.message_dict["url"][0]


def test_public_address_passes_the_check(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    assert webhook_url_check("https://93.184.215.14/hook") == ["93.184.215.14"]


def test_admin_form_refuses_unsafe_urls(admin_user, client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    client.force_login(admin_user)
    response = client.post(
        "/admin/helpdesk/webhookendpoint/add/",
        {
            "name": "x",
            "url": "http://127.0.0.1:9000/",
            "secret": "s",
            "event_types": ["ticket.created"],
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert "webhooks may only call public addresses" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_delivery_log_is_in_the_admin(allow_local, admin_user, client, customer, make_ticket):
    with Receiver() as receiver:
        endpoint = _endpoint(receiver.url)
        notification_deliver(notification_id=_webhook_rows(ticket=make_ticket(customer)).get().pk)
    client.force_login(admin_user)
    assert client.get("/admin/helpdesk/webhookdelivery/").status_code == 200
    page = client.get(f"/admin/helpdesk/webhookendpoint/{endpoint.pk}/change/")
    assert page.status_code == 200
    assert WebhookDelivery.objects.get().delivery_id in page.content.decode()


# --- a real worker and a broker outage (the pattern of tests/helpdesk/test_outbox.py) -------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_webhook_survives_a_broker_outage(allow_local, customer, teams, api_as):
    with Receiver() as receiver:
        _endpoint(receiver.url)
        api = api_as(customer)
        # given the broker is unreachable while a ticket is opened through the API
        # (the broker is only ever called from the publisher's own thread, so the request never waits on it: which
        # threads published is recorded, rather than timing the request on a shared machine)
        publishing_threads = []
        publish, send_task = outbox_publisher._publish, celery_app.send_task

        def recording_publish(ids):
            publishing_threads.append(threading.get_ident())
            return publish(ids)

        def recording_send_task(*args, **kwargs):
            publishing_threads.append(threading.get_ident())
            return send_task(*args, **kwargs)

        with (
            mock.patch.object(outbox_publisher, "_publish", recording_publish),
            mock.patch.object(celery_app, "send_task", recording_send_task),
            broker_at("redis://127.0.0.1:1/0"),
        ):
            response = api.post("/api/tickets/", {"subject": "Outage day", "description": "Nothing loads"})
        # then the request answered without touching the broker itself, and the webhook waits in the outbox
        assert response.status_code == 201
        assert threading.get_ident() not in publishing_threads
        row = _webhook_rows(ticket__reference=response.json()["reference"]).get()
        assert row.status == NotificationStatus.PENDING
        assert receiver.requests == []
        # when the broker is back and beat's re-delivery sweep comes round, a real worker delivers it
        with real_worker():
            assert row.pk in notifications_redeliver_pending(now=timezone.now() + timedelta(minutes=1))
            assert wait_until(lambda: _webhook_rows(pk=row.pk, status=NotificationStatus.SENT).exists())
        # then the receiver got it exactly once, signed
        [request] = receiver.requests
    assert request["headers"]["X-Helpdesk-Delivery"] == row.data["delivery_id"]
    assert webhook_signature_verify(
        secret=SECRET,
        timestamp=request["headers"]["X-Helpdesk-Timestamp"],
        body=request["body"],
        signature=request["headers"]["X-Helpdesk-Signature"],
    )
