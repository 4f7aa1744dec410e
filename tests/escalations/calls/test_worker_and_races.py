"""The beat tasks on a real Celery worker, and two sweeps racing on PostgreSQL: one callback, one reminder, one
breach, never two."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from escalations.calls.services import (
    callback_create,
    callbacks_breach_missed,
    callbacks_remind_due,
    warm_transfers_expire,
)
from escalations.calls.tasks import callbacks_sweep_task, warm_transfers_expire_task
from escalations.models import Callback, CallbackStatus, Escalation
from helpdesk.models import Notification
from tests.celery_helpers import real_worker, wait_until
from tests.threads import run_threads


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_turns_an_unaccepted_warm_transfer_into_a_callback(
    make_ticket, customer, agent, specialist, warm_transfer
):
    # given a warm transfer whose two minutes are over
    ticket = make_ticket(customer, category="outage")
    escalation = warm_transfer(ticket, agent, now=timezone.now() - timedelta(minutes=3))
    with real_worker():
        # when beat's tasks are published and run by the worker
        warm_transfers_expire_task.delay()
        assert wait_until(lambda: Callback.objects.filter(escalation=escalation).exists())
        callbacks_sweep_task.delay()
        # then the agent is told, and the callback (window starting now) is reminded once
        assert wait_until(lambda: Notification.objects.filter(kind="callback_reminder", recipient=agent).exists())
    assert Notification.objects.filter(kind="warm_transfer_timed_out", recipient=agent).count() == 1
    escalation.refresh_from_db()
    assert escalation.caller_waiting is False


@pytest.mark.django_db(transaction=True)
def test_racing_sweeps_make_one_callback_one_reminder_one_breach(
    make_ticket, customer, agent, agent2, specialist, warm_transfer
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (real concurrent transactions): set DATABASE_URL=postgres://…")
    # given a timed-out warm transfer and a callback of agent2's whose window has ended
    now = timezone.now()
    transfer = warm_transfer(make_ticket(customer, category="outage"), agent, now=now - timedelta(minutes=3))
    missed = callback_create(
        ticket=make_ticket(customer),
        actor=agent2,
        window_start=now - timedelta(hours=1),
        window_end=now - timedelta(minutes=1),
        reason="Promised.",
        now=now - timedelta(hours=2),
    )

    # when two beats run every sweep at the same moment
    def sweep():
        warm_transfers_expire(now=now)
        callbacks_remind_due(now=now)
        callbacks_breach_missed(now=now)

    run_threads(sweep, sweep)
    # then
    assert Callback.objects.filter(escalation=transfer).count() == 1
    assert Escalation.objects.get(pk=transfer.pk).caller_waiting is False
    assert Notification.objects.filter(kind="warm_transfer_timed_out", channel="in_app").count() == 1
    assert Notification.objects.filter(kind="callback_reminder", channel="in_app").count() == 1
    assert Notification.objects.filter(kind="callback_missed", channel="in_app").count() == 1
    missed.refresh_from_db()
    assert missed.status == CallbackStatus.ESCALATED
