"""The delayed survey email, sent by a real Celery worker on the real broker: the beat task runs in the worker,
and the outbox row it writes is delivered by the same worker."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from feedback.models import Survey
from feedback.tasks import send_due_surveys_task
from helpdesk.models import Notification, NotificationChannel, NotificationStatus
from tests.celery_helpers import real_worker, wait_until


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
