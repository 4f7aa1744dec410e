"""End to end on the real broker: Celery beat schedules the sweep, a real worker runs it, a ticket about to breach
is escalated by a beat-scheduled sweep once it breaches, and the receiving team is notified. How soon is a matter
for bench/sla_sweep.py, not for a test on a shared machine: the waits below are only how long the test gives up
after."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from celery import beat
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django.utils import timezone

from escalations.models import Escalation, SLAClock
from helpdesk.models import Notification

INTERVAL = 2.0  # seconds between sweeps in this test (30 s in production)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, reset_sequences=True)  # see FOUNDATION_BUG in conftest
def test_beat_and_worker_escalate_a_ticket_about_to_breach(
    always, make_policy, ladder, make_ticket, customer, specialist, celery_broker
):
    from helpdesk.celery import app

    # given a one-minute first response, around the clock
    make_policy(always, first=1, nxt=None, resolution=60)

    # when beat (its real scheduler, in a thread) sends the sweep task every INTERVAL to a real worker
    schedule = {"sla-sweep": {"task": "escalations.sla.tasks.sla_sweep_task", "schedule": INTERVAL}}
    old_schedule = app.conf.beat_schedule
    app.conf.beat_schedule = schedule
    beat_service = beat.EmbeddedService(app, max_interval=0.2, scheduler_cls=beat.Scheduler, thread=True)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
            beat_service.start()
            # and a ticket, opened 57 seconds ago, is 3 seconds from breaching its first response
            with time_machine.travel(timezone.now() - timedelta(seconds=57), tick=False):
                ticket = make_ticket(customer)
            clock = SLAClock.objects.get(ticket=ticket, target="first_response")
            assert clock.due_at > timezone.now()
            deadline = clock.due_at + timedelta(seconds=60)
            escalation = None
            while timezone.now() < deadline and escalation is None:
                escalation = Escalation.objects.filter(ticket=ticket).first()
                time.sleep(0.1)
            notified = False
            while escalation and not notified and timezone.now() < deadline + timedelta(seconds=30):
                notified = Notification.objects.filter(
                    kind="escalation_automatic", recipient=specialist, channel="email", status="sent"
                ).exists()
                time.sleep(0.1)
    finally:
        beat_service.stop()
        app.conf.beat_schedule = old_schedule
        connection.close()

    # then it was escalated within two sweep intervals of the deadline, and the email went out
    assert escalation is not None, "the ticket was not escalated"
    assert escalation.mode == "automatic" and escalation.to_team.slug == "technical"
    assert escalation.created_at >= clock.due_at  # by the sweep after the breach, not before
    clock.refresh_from_db()
    assert clock.breached_at == clock.due_at
    assert Notification.objects.filter(kind="escalation_automatic", recipient=specialist, channel="in_app").exists()
    assert notified, "the receiving team's email was not delivered by the worker"
