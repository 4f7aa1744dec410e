"""The delayed survey email, sent by a real Celery worker on the real broker: the beat task runs in the worker,
and the outbox row it writes is delivered by the same worker."""

import re
import time
from contextlib import contextmanager
from datetime import timedelta

import kombu.pools
import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.utils import timezone

from feedback.models import Survey
from feedback.tasks import send_due_surveys_task
from helpdesk.celery import app
from helpdesk.models import Notification, NotificationChannel, NotificationStatus


def reset_broker_pools() -> None:
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    kombu.pools.reset()


@contextmanager
def real_worker():
    reset_broker_pools()
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=15, loglevel="WARNING"):
        yield


def wait_until(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_sends_the_delayed_survey_email(escalated_ticket, resolve, customer):
    # given an escalated ticket resolved two hours and a bit ago (no countdown task was queued for it)
    resolved_at = timezone.now() - timedelta(hours=2, minutes=1)
    with time_machine.travel(resolved_at, tick=False):
        resolve(escalated_ticket)
    survey = Survey.objects.get(ticket=escalated_ticket)
    assert survey.send_at < timezone.now() and survey.sent_at is None
    with real_worker():
        # when beat's sweep task is published to the broker and run by the worker
        send_due_surveys_task.delay()
        # then the worker sends the survey and delivers its email from the outbox
        assert wait_until(
            lambda: Notification.objects.filter(
                ticket=escalated_ticket,
                kind="survey",
                channel=NotificationChannel.EMAIL,
                status=NotificationStatus.SENT,
            ).exists()
        )
    survey.refresh_from_db()
    assert survey.sent_at is not None
    emails = [m for m in mail.outbox if m.subject == f"[{escalated_ticket.reference}] How did we do?"]
    assert len(emails) == 1 and emails[0].to == [customer.email]
    link = re.search(r"https://helpdesk\.example\.test/survey/[^/\s]+/", emails[0].body)
    assert link, emails[0].body
