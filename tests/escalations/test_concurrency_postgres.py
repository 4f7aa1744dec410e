"""Real threads on PostgreSQL: a double-clicked escalate, two racing automatic escalations and two simultaneous
accepts each produce exactly one record or owner. Row locks and partial unique indexes are only meaningful on
PostgreSQL, so on SQLite these tests are skipped with a reason.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/hd_esc .venv/bin/python -m pytest tests/escalations -m postgres
"""

from __future__ import annotations

import pytest
from django.conf import settings

from escalations.models import Escalation, EscalationStatus
from escalations.services import (
    EscalationConflict,
    escalation_accept,
    escalation_create,
    escalation_create_automatic,
)
from tests.threads import run_together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="needs PostgreSQL (row locks, real concurrent transactions): set DATABASE_URL=postgres://...",
    ),
]


def test_a_double_clicked_escalate_creates_exactly_one(config, customer, agent, specialist, make_ticket, dossier):
    # given a ticket and the same escalate form submitted twice at the same instant
    ticket = make_ticket(customer, category="outage")

    def click():
        from helpdesk.models import Ticket

        return escalation_create(
            ticket=Ticket.objects.get(pk=ticket.pk),
            actor=agent,
            escalation_type="technical",
            mode="functional",
            **dossier,
        )

    # when both run in parallel
    results = run_together(click, click, click)
    # then exactly one escalation exists; the others were refused with a clear conflict
    created = [r for r in results if isinstance(r, Escalation)]
    refused = [r for r in results if isinstance(r, EscalationConflict)]
    assert len(created) == 1 and len(refused) == 2, results
    assert Escalation.objects.filter(ticket=ticket).count() == 1


def test_racing_automatic_escalations_create_exactly_one(config, customer, specialist, make_ticket, resolution_policy):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    # given a ticket opened 9 hours ago under an 8-hour resolution target: its resolution clock is overdue
    with time_machine.travel(timezone.now() - timedelta(hours=9), tick=False):
        ticket = make_ticket(customer, category="outage")

    def sweep():
        from helpdesk.models import Ticket

        return escalation_create_automatic(ticket=Ticket.objects.get(pk=ticket.pk))

    results = run_together(sweep, sweep, sweep, sweep)
    assert sum(isinstance(r, Escalation) for r in results) == 1, results
    assert sum(r is None for r in results) == 3, results
    assert Escalation.objects.filter(ticket=ticket, status=EscalationStatus.OPEN).count() == 1


def test_two_simultaneous_accepts_have_exactly_one_owner(
    config, customer, agent, specialist, manager, make_ticket, escalate
):
    # given one open escalation and two people pressing accept at the same instant
    ticket = make_ticket(customer, category="outage")
    escalation = escalate(ticket, agent)

    def accept(user):
        return lambda: escalation_accept(escalation=Escalation.objects.get(pk=escalation.pk), actor=user)

    results = run_together(accept(specialist), accept(manager))
    # then one wins and the other is told who did
    winners = [r for r in results if isinstance(r, Escalation)]
    losers = [r for r in results if isinstance(r, EscalationConflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.ACCEPTED
    assert str(losers[0]).startswith(f"{escalation.accepted_by.display_name} accepted this escalation at ")
    ticket.refresh_from_db()
    assert ticket.assignee == escalation.accepted_by
    assert ticket.events.filter(kind="escalation_accepted", is_public=False).count() == 1


def test_accept_racing_escalate_further_never_deadlocks(
    config, customer, agent, specialist, manager, make_ticket, escalate
):
    from escalations.services import escalation_escalate_further

    # given an open escalation that one person accepts while a manager escalates it further, many times over
    for round_ in range(5):
        ticket = make_ticket(customer, subject=f"Race {round_}", category="outage")
        escalation = escalate(ticket, agent)

        def accept(pk=escalation.pk):
            return escalation_accept(escalation=Escalation.objects.get(pk=pk), actor=specialist)

        def further(pk=escalation.pk):
            return escalation_escalate_further(escalation=Escalation.objects.get(pk=pk), actor=manager, reason="Tier 3")

        results = run_together(accept, further)
        # then nothing failed other than a clear conflict, and exactly one hop is active: level 2
        assert all(isinstance(r, Escalation | EscalationConflict) for r in results), results
        active = Escalation.objects.filter(ticket=ticket, status__in=["open", "accepted"])
        assert [e.level for e in active] == [2]
