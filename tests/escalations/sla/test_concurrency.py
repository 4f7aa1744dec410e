"""Exactly-once under concurrency. The thread tests need PostgreSQL (real row locks and SKIP LOCKED); run them with
DATABASE_URL=postgres://postgres@127.0.0.1:5432/hd_sla. The crash test runs everywhere."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction

from escalations.models import Escalation, SLAClock, SLAEvent
from escalations.sla import sweep as sweep_module
from escalations.sla.sweep import sla_sweep
from helpdesk import services
from helpdesk.models import Notification, Ticket
from tests.escalations.sla.conftest import clocks_of
from tests.threads import run_threads

LONDON = ZoneInfo("Europe/London")
NOT_POSTGRES = "needs PostgreSQL for real row locks and SKIP LOCKED: set DATABASE_URL=postgres://…"


def london(*args):
    return datetime(*args, tzinfo=LONDON)


def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip(NOT_POSTGRES)


@pytest.fixture
def due_tickets(office, make_policy, ladder, make_ticket, customer, agent, specialist, manager):
    make_policy(office, first=60, nxt=120, resolution=480)

    def make(count):
        with time_machine.travel(london(2026, 11, 23, 10), tick=False):
            return [make_ticket(customer, subject=f"Ticket {i}") for i in range(count)]

    return make


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, reset_sequences=True)  # see FOUNDATION_BUG in conftest
def test_two_sweeps_at_once_escalate_each_ticket_exactly_once(due_tickets):
    postgres_only()
    # given 60 tickets whose first response was due at 11:00
    tickets = due_tickets(60)
    results = []
    now = london(2026, 11, 23, 12)
    # when two sweeps run at the same moment, in small batches
    run_threads(*[lambda: results.append(sla_sweep(now=now, batch_size=7)) for _ in range(2)])
    # then every breach and escalation happened once, shared between them
    assert sum(r.breached for r in results) == 60
    assert sum(r.escalated for r in results) == 60
    assert SLAEvent.objects.filter(kind="breached").count() == 60
    assert Escalation.objects.count() == 60
    assert Escalation.objects.values("ticket").distinct().count() == 60
    assert Notification.objects.filter(kind="escalation_automatic", channel="in_app").count() == 60
    assert not SLAClock.objects.filter(ticket__in=tickets, target="first_response", breached_at__isnull=True).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, reset_sequences=True)  # see FOUNDATION_BUG in conftest
def test_sweep_racing_a_resolve_never_escalates_the_resolved_ticket(due_tickets, agent):
    postgres_only()
    # given a breached ticket being resolved in a transaction that has not committed yet
    (ticket,) = due_tickets(1)
    resolving, swept = threading.Event(), threading.Event()
    results = []
    now = london(2026, 11, 23, 12)

    def resolve():
        with time_machine.travel(london(2026, 11, 23, 11, 59), tick=False), transaction.atomic():
            services.ticket_change_status(ticket=Ticket.objects.get(pk=ticket.pk), actor=agent, status="resolved")
            resolving.set()
            assert swept.wait(timeout=20)

    def sweep():
        assert resolving.wait(timeout=20)
        results.append(sla_sweep(now=now))
        swept.set()

    # when the sweep runs while the resolve holds its locks, then again after it committed
    run_threads(resolve, sweep)
    results.append(sla_sweep(now=now))
    # then the sweep skipped the locked ticket and later found it resolved: no breach, no escalation
    assert [r.escalated for r in results] == [0, 0]
    assert not Escalation.objects.exists()
    assert clocks_of(ticket)["first_response"].state == "stopped"
    assert clocks_of(ticket)["resolution"].state == "met"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, reset_sequences=True)  # see FOUNDATION_BUG in conftest
def test_many_sweeps_racing_resolves_produce_each_escalation_once(due_tickets, agent, monkeypatch):
    postgres_only()
    from helpdesk import guards

    # Racing resolves against sweeps is the point; the resolution criteria (feedback's guards) are tested there.
    monkeypatch.setattr(guards, "_GUARDS", {})
    tickets = due_tickets(30)
    now = london(2026, 11, 23, 12)

    def resolve_half():
        for ticket in tickets[::2]:
            with time_machine.travel(london(2026, 11, 23, 11, 59), tick=False):
                services.ticket_change_status(ticket=Ticket.objects.get(pk=ticket.pk), actor=agent, status="resolved")

    run_threads(resolve_half, lambda: sla_sweep(now=now, batch_size=3), lambda: sla_sweep(now=now, batch_size=5))
    sla_sweep(now=now)
    per_ticket = {t.pk: Escalation.objects.filter(ticket=t).count() for t in tickets}
    assert set(per_ticket.values()) <= {0, 1}
    assert all(per_ticket[t.pk] == 1 for t in tickets[1::2])
    # Every first response was missed exactly once, whoever saw it first: the sweep (which escalates) or the
    # resolve at 11:59 (which records the late breach on a ticket no longer worth escalating).
    breaches = SLAEvent.objects.filter(kind="breached")
    assert breaches.count() == 30
    assert set(breaches.values_list("clock__target", flat=True)) == {"first_response"}
    assert breaches.values("clock").distinct().count() == 30
    # The sweep's breaches (stamped with its batch) are exactly the escalated tickets; the resolve's are the rest.
    swept = set(breaches.filter(batch__isnull=False).values_list("clock__ticket_id", flat=True))
    assert swept == {pk for pk, count in per_ticket.items() if count == 1}


def test_a_sweep_killed_mid_batch_leaves_nothing_and_the_rerun_does_it_once(due_tickets, monkeypatch):
    # given two breached tickets and a worker that dies while escalating
    due_tickets(2)
    now = london(2026, 11, 23, 12)

    def die(**kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(sweep_module, "sla_escalate_breached", die)
    with pytest.raises(SystemExit):
        sla_sweep(now=now)
    # then nothing of that batch survived
    assert not SLAEvent.objects.filter(kind="breached").exists()
    assert not Escalation.objects.exists()
    # when the redelivered task reruns
    monkeypatch.undo()
    result = sla_sweep(now=now)
    # then everything happens once
    assert (result.breached, result.escalated) == (2, 2)
    assert sla_sweep(now=now).clocks == 0
