"""Real threads on PostgreSQL: the SLA sweep opening automatic escalations while agents resolve the same tickets.

The resolution criteria (feedback's status guard) refuse to resolve an escalated ticket without its resolution
summary. They must be judged on the ticket's row as locked by the resolving transaction: judged earlier, a sweep that
escalates the ticket in between (and holds its row while doing so) leaves a resolved ticket with an open escalation
and no summary. Row locks only mean something on PostgreSQL, so on SQLite this is skipped with a reason.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/hd_x .venv/bin/python -m pytest tests/escalations/sla -m postgres
"""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection

from escalations.models import Escalation, EscalationStatus
from escalations.sla.sweep import sla_sweep
from feedback.selectors import resolution_checklist
from helpdesk import services
from helpdesk.models import Status, Ticket

LONDON = ZoneInfo("Europe/London")
TICKETS = 150
RESOLVER_THREADS = 10  # 150 resolves over a few connections: the shared PostgreSQL allows 100 in all
NO_SUMMARY = "No resolution summary yet: record what was done to fix the problem."

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="needs PostgreSQL (row locks, real concurrent transactions): set DATABASE_URL=postgres://...",
    ),
]


def london(*args):
    return datetime(*args, tzinfo=LONDON)


def resolve(ticket_id: int, *, agent, seen_version: int, via_form: bool):
    """What the workspace form (``ticket_update``) or the status button (``ticket_change_status``) does."""
    ticket = Ticket.objects.get(pk=ticket_id)
    if via_form:
        services.ticket_update(
            ticket=ticket,
            actor=agent,
            expected_version=seen_version,
            status=Status.RESOLVED,
            priority=ticket.priority,
            category=ticket.category,
            team=ticket.team,
            assignee=ticket.assignee,
        )
    else:
        services.ticket_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)


def test_sla_sweep_racing_150_resolves_never_leaves_a_resolved_ticket_with_an_open_escalation(
    office, make_policy, ladder, make_ticket, customer, agent, specialist, manager
):
    # given 150 open tickets whose first response was due at 11:00, each on an agent's screen since before the sweep
    make_policy(office, first=60, nxt=120, resolution=480)
    with time_machine.travel(london(2026, 11, 23, 10), tick=False):
        tickets = [make_ticket(customer, subject=f"Race {i}") for i in range(TICKETS)]
    seen = dict(Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("pk", "version"))
    ids = list(seen)
    outcomes: dict[int, object] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(RESOLVER_THREADS + 1)

    def sweeper():
        try:
            barrier.wait(timeout=30)
            sla_sweep(now=london(2026, 11, 23, 12), batch_size=25)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    def resolver(share: list[int]):
        try:
            barrier.wait(timeout=30)
            for ticket_id in share:
                try:
                    resolve(ticket_id, agent=agent, seen_version=seen[ticket_id], via_form=ticket_id % 2 == 0)
                    outcomes[ticket_id] = "resolved"
                except ValidationError as exc:
                    outcomes[ticket_id] = exc
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    # when the sweep and the 150 resolves start at the same instant
    threads = [threading.Thread(target=sweeper)] + [
        threading.Thread(target=resolver, args=(ids[i::RESOLVER_THREADS],)) for i in range(RESOLVER_THREADS)
    ]
    with time_machine.travel(london(2026, 11, 23, 12), tick=True):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    # then nothing failed but clear refusals, and every resolve was either applied or refused by the guard
    assert not errors, errors
    assert len(outcomes) == TICKETS
    refused = {pk: exc for pk, exc in outcomes.items() if exc != "resolved"}
    assert all(NO_SUMMARY in exc.messages for exc in refused.values()), refused
    # and no ticket ended resolved with an open escalation
    resolved_with_open_escalation = Escalation.objects.filter(
        ticket__in=ids, ticket__status=Status.RESOLVED, status=EscalationStatus.OPEN
    ).values_list("ticket__reference", flat=True)
    assert list(resolved_with_open_escalation) == []
    # and every resolved ticket passed the resolution criteria (an escalated one would need its summary)
    resolved = Ticket.objects.filter(pk__in=ids, status=Status.RESOLVED)
    assert {t.pk for t in resolved} == {pk for pk, outcome in outcomes.items() if outcome == "resolved"}
    failing = [t.reference for t in resolved if not resolution_checklist(ticket=t).complete]
    assert failing == []
    # and each ticket is exactly one of: resolved, or escalated and still open for the specialists
    escalated = set(Escalation.objects.filter(ticket__in=ids).values_list("ticket_id", flat=True))
    assert escalated.isdisjoint({t.pk for t in resolved})
    assert set(Ticket.objects.filter(pk__in=ids).exclude(status=Status.RESOLVED).values_list("pk", flat=True)) == (
        set(refused)
    )
