"""The notification outbox on the real broker: a real Celery worker delivers; a broker outage neither blocks a
request nor loses a notification."""

import threading
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone
from redis.connection import AbstractConnection

from helpdesk.celery import app as celery_app
from helpdesk.models import Notification, NotificationChannel, NotificationStatus, Ticket
from helpdesk.notifications import notification_deliver, notifications_redeliver_pending, outbox_publisher
from tests.celery_helpers import broker_at, hanging_broker, publisher_idle, real_worker, wait_until


def email_rows(**filters):
    return Notification.objects.filter(channel=NotificationChannel.EMAIL, **filters)


@contextmanager
def broker_callers():
    """The threads that published to the broker or sent a command to Redis inside the block.

    A request that never calls the broker or Redis itself cannot wait on them, whatever they do: the tests check
    which threads called, rather than timing requests on a shared machine."""
    callers: list[int] = []

    def recorded(call):
        def recording(*args, **kwargs):
            callers.append(threading.get_ident())
            return call(*args, **kwargs)

        return recording

    with (
        mock.patch.object(outbox_publisher, "_publish", recorded(outbox_publisher._publish)),
        mock.patch.object(celery_app, "send_task", recorded(celery_app.send_task)),
        mock.patch.object(AbstractConnection, "send_packed_command", recorded(AbstractConnection.send_packed_command)),
    ):
        yield callers


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_delivers_outbox_notification(customer, teams, make_ticket):
    # given a real worker consuming the real broker
    with real_worker():
        # when a ticket is created (the service queues the customer's acknowledgement in the outbox)
        ticket = make_ticket(customer, subject="Printer on fire")
        row = email_rows(ticket=ticket).get()
        # then the worker delivers it: the row is sent and the email went out once, with a SITE_URL link
        assert wait_until(lambda: email_rows(pk=row.pk, status=NotificationStatus.SENT).exists())
    messages = [m for m in mail.outbox if ticket.reference in m.subject]
    assert len(messages) == 1
    assert messages[0].to == [customer.email]
    assert f"https://helpdesk.example.test/tickets/{ticket.reference}/" in messages[0].body
    assert messages[0].extra_headers["Message-ID"] == f"<notification-{row.pk}@helpdesk>"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_broker_outage_neither_blocks_nor_loses_notifications(customer, teams, client, login):
    login(customer)
    # given the broker is unreachable (a closed port)
    with broker_callers() as callers, broker_at("redis://127.0.0.1:1/0"):
        # when the customer opens a ticket through the web
        response = client.post("/tickets/new/", {"subject": "Outage day", "description": "Nothing loads"})
        publisher_idle()
    # then the request returned without calling the broker (the publisher's thread did), so it never waited on it,
    # and the notification waits in the outbox
    assert response.status_code == 302
    assert callers
    assert threading.get_ident() not in callers
    row = email_rows(ticket__subject="Outage day").get()
    assert row.status == NotificationStatus.PENDING
    assert not [m for m in mail.outbox if "Outage day" in m.body or row.ticket.reference in m.subject]

    # when the broker is back, a worker runs and beat's re-delivery sweep comes round
    with real_worker():
        requeued = notifications_redeliver_pending(now=timezone.now() + timedelta(minutes=1))
        assert row.pk in requeued
        assert wait_until(lambda: email_rows(pk=row.pk, status=NotificationStatus.SENT).exists())
    # then it is delivered, exactly once
    assert len([m for m in mail.outbox if row.ticket.reference in m.subject]) == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_hung_broker_never_blocks_a_request(customer, agent, teams, client, login):
    # given a warm process (the first request pays one-time import and template costs, broker or not)
    login(customer)
    assert client.post("/tickets/new/", {"subject": "Warm-up", "description": "x"}).status_code == 302
    # and a broker that accepts connections and never answers (a Redis under CLIENT PAUSE, a stuck proxy)
    with broker_callers() as callers:
        with hanging_broker() as url, broker_at(url):
            # when the customer opens a ticket through the web, and the agent replies to it through the web
            created = client.post("/tickets/new/", {"subject": "Hung broker day", "description": "Nothing loads"})
            ticket = Ticket.objects.get(subject="Hung broker day")
            login(agent)
            replied = client.post(
                f"/tickets/{ticket.reference}/reply/", {"body": "We are on it.", "version": ticket.version}
            )
            # then both requests returned without calling the broker (the hang lasts as long as the test), and the
            # emails wait in the outbox
            assert (created.status_code, replied.status_code) == (302, 302)
            assert threading.get_ident() not in callers
            rows = list(email_rows(ticket=ticket))
            assert len(rows) == 2
            assert {row.to_address for row in rows} == {customer.email}
            assert {row.status for row in rows} == {NotificationStatus.PENDING}
        publisher_idle()
    # and only the publisher's thread called it
    assert callers
    assert threading.get_ident() not in callers

    # when the broker answers again, a worker runs and beat's re-delivery sweep comes round
    with real_worker():
        requeued = notifications_redeliver_pending(now=timezone.now() + timedelta(minutes=1))
        assert {row.pk for row in rows} <= set(requeued)
        assert wait_until(lambda: email_rows(ticket=ticket, status=NotificationStatus.SENT).count() == 2)
    # then both are delivered, exactly once each
    assert len([m for m in mail.outbox if ticket.reference in m.subject]) == 2


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_redis_under_client_pause_never_blocks_a_request(customer, teams, client, login, tmp_path):
    import redis

    from helpdesk import embedded_broker

    # given a warm process and a real Redis server of our own (CLIENT PAUSE stops every client of a server, so the
    # shared one is never paused), hung with CLIENT PAUSE ALL for a few seconds
    login(customer)
    assert client.post("/tickets/new/", {"subject": "Warm-up", "description": "x"}).status_code == 302
    socket_path = tmp_path / "paused-redis.sock"
    server = embedded_broker.start(socket_path)
    try:
        with broker_at(f"redis+socket://{socket_path}"):
            redis.Redis(unix_socket_path=str(socket_path)).execute_command("CLIENT", "PAUSE", 4000, "ALL")
            with broker_callers() as callers:
                # when the customer opens a ticket through the web
                response = client.post("/tickets/new/", {"subject": "Paused Redis", "description": "Nothing loads"})
                # then the request returned without sending Redis a command, and the email waits in the outbox
                assert response.status_code == 302
                assert threading.get_ident() not in callers
                row = email_rows(ticket__subject="Paused Redis").get()
                assert row.status == NotificationStatus.PENDING
                publisher_idle()
        # and only the publisher's thread talked to the broker, once the pause was over
        assert callers
        assert threading.get_ident() not in callers
    finally:
        embedded_broker.stop(server)

    # when the usual broker is back, a worker runs and beat's re-delivery sweep comes round
    with real_worker():
        assert row.pk in notifications_redeliver_pending(now=timezone.now() + timedelta(minutes=1))
        assert wait_until(lambda: email_rows(pk=row.pk, status=NotificationStatus.SENT).exists())
    # then it is delivered once
    assert len([m for m in mail.outbox if row.ticket.reference in m.subject]) == 1


def test_delivery_is_idempotent(customer, teams, make_ticket):
    ticket = make_ticket(customer)
    row = email_rows(ticket=ticket).get()
    assert notification_deliver(notification_id=row.pk) is True
    assert notification_deliver(notification_id=row.pk) is False
    assert len([m for m in mail.outbox if ticket.reference in m.subject]) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 1)


def test_failed_delivery_backs_off_then_gives_up(customer, teams, make_ticket, settings, monkeypatch):
    from helpdesk import notifications

    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    ticket = make_ticket(customer)
    row = email_rows(ticket=ticket).get()

    def broken(notification):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setitem(notifications._DELIVERERS, NotificationChannel.EMAIL, broken)
    now = timezone.now()
    assert notification_deliver(notification_id=row.pk, now=now) is False
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "ConnectionRefusedError: smtp down")
    assert row.not_before == now + timedelta(seconds=30)
    # not before its back-off moment
    assert notification_deliver(notification_id=row.pk, now=now + timedelta(seconds=10)) is False
    row.refresh_from_db()
    assert row.attempts == 1
    assert notification_deliver(notification_id=row.pk, now=now + timedelta(seconds=31)) is False
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 2)


def test_notifications_skip_recipients_who_cannot_see_the_ticket(customer, customer2, agent, teams, make_ticket):
    from helpdesk.notifications import notification_enqueue

    ticket = make_ticket(customer)
    rows = notification_enqueue(kind="test", subject="hello", recipients=[customer, customer2, agent], ticket=ticket)
    assert {row.recipient for row in rows} == {customer, agent}


def test_a_row_left_sending_by_a_dead_worker_is_retried_after_the_timeout(customer, teams, make_ticket, settings):
    from helpdesk.models import Notification

    settings.NOTIFICATION_SENDING_TIMEOUT_SECONDS = 600
    ticket = make_ticket(customer)
    row = email_rows(ticket=ticket).get()
    claimed_at = timezone.now() - timedelta(minutes=5)
    # given a worker that claimed the row five minutes ago and died before recording the outcome
    Notification.objects.filter(pk=row.pk).update(status=NotificationStatus.SENDING, attempts=1, claimed_at=claimed_at)
    # when re-delivery runs before the timeout, it leaves the row alone; a direct delivery cannot claim it either
    assert row.pk not in notifications_redeliver_pending(now=claimed_at + timedelta(minutes=9))
    assert notification_deliver(notification_id=row.pk, now=claimed_at + timedelta(minutes=9)) is False
    # then after the timeout it is pending again and is delivered once
    assert row.pk in notifications_redeliver_pending(now=claimed_at + timedelta(minutes=11))
    assert notification_deliver(notification_id=row.pk, now=claimed_at + timedelta(minutes=11)) is True
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 2)
