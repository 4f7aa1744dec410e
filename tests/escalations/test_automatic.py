"""The SLA-facing services: automatic escalation and paging the next level, each exactly once. They are thin
wrappers over the sweep's own route (``escalations.hops``), so these run the hop opener one ticket at a time."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from escalations.models import Escalation, EscalationMode, EscalationStatus, RequestedBy
from escalations.selectors import escalations_unacknowledged_due
from escalations.services import escalation_accept, escalation_create_automatic, escalation_page_next_level


@pytest.fixture
def make_ticket(make_ticket, resolution_policy):
    """Tickets opened 9 hours ago under an 8-hour resolution target: the SLA engine started their resolution clock at
    creation, so it is overdue now (the breach the SLA engine escalates)."""

    def make(*args, **kwargs):
        with time_machine.travel(timezone.now() - timedelta(hours=9), tick=False):
            return make_ticket(*args, **kwargs)

    return make


def test_automatic_escalation_goes_to_the_first_level_once(config, customer, specialist, make_ticket):
    # given an open ticket at tier 1
    ticket = make_ticket(customer, category="outage")
    # when the SLA engine escalates it twice
    first = escalation_create_automatic(ticket=ticket)
    second = escalation_create_automatic(ticket=ticket)
    # then one automatic, system-requested escalation exists, at level 1 to the technical team
    assert second is None
    assert first.mode == EscalationMode.AUTOMATIC
    assert first.requested_by_kind == RequestedBy.SYSTEM
    assert first.escalation_type == "support_level"
    assert (first.level, first.to_team.slug, first.to_tier) == (1, "technical", 2)
    assert Escalation.objects.filter(ticket=ticket).count() == 1
    # and the customer was told in plain words
    assert ticket.events.filter(kind="escalated", is_public=True).exists()


def test_automatic_escalation_above_an_accepted_one_supersedes_it(config, customer, specialist, manager, make_ticket):
    # given an automatic escalation accepted by the specialist
    ticket = make_ticket(customer, category="outage")
    first = escalation_create_automatic(ticket=ticket)
    escalation_accept(escalation=first, actor=specialist)
    # when the SLA breaches again
    second = escalation_create_automatic(ticket=ticket)
    # then the next level (managers, tier 3) is opened and the first hop is superseded
    first.refresh_from_db()
    assert first.status == EscalationStatus.SUPERSEDED
    assert (second.level, second.to_tier, second.previous_id) == (2, 3, first.pk)


def test_paging_the_next_level_happens_exactly_once(config, customer, specialist, manager, make_ticket):
    # given an automatic escalation nobody accepted within its ack minutes
    ticket = make_ticket(customer, category="outage")
    now = timezone.now()
    first = escalation_create_automatic(ticket=ticket, now=now)
    later = now + timedelta(minutes=31)
    # when the sweep finds it and pages twice
    assert list(escalations_unacknowledged_due(now=now)) == []
    assert list(escalations_unacknowledged_due(now=later)) == [first]
    paged = escalation_page_next_level(escalation=first, now=later)
    again = escalation_page_next_level(escalation=first, now=later)
    # then exactly one next-level hop exists, the first is superseded, and the managers were notified
    assert again is None
    first.refresh_from_db()
    assert first.status == EscalationStatus.SUPERSEDED
    assert (paged.level, paged.to_tier, paged.previous_id) == (2, 3, first.pk)
    assert manager.notifications.filter(kind="escalation_automatic").exists()


def test_paging_at_the_top_alerts_managers_once_and_stops(config, customer, specialist, manager, make_ticket):
    # given a level-2 (tier 3) hop that nobody accepts
    ticket = make_ticket(customer, category="outage")
    now = timezone.now()
    first = escalation_create_automatic(ticket=ticket, now=now)
    top = escalation_page_next_level(escalation=first, now=now + timedelta(minutes=31))
    much_later = now + timedelta(hours=3)
    # when the sweep pages it twice
    assert escalation_page_next_level(escalation=top, now=much_later) is None
    assert escalation_page_next_level(escalation=top, now=much_later) is None
    # then it stays open, is no longer due, and managers got exactly one alert
    top.refresh_from_db()
    assert top.status == EscalationStatus.OPEN and top.ack_due_at is None
    assert list(escalations_unacknowledged_due(now=much_later)) == []
    assert manager.notifications.filter(kind="escalation_unacknowledged", channel="in_app").count() == 1


def test_the_database_allows_one_open_escalation_per_ticket_and_level(config, customer, specialist, make_ticket):
    from escalations.hops import Dossier, HopSpec, escalation_hops_open

    # given an open automatic escalation at level 1
    ticket = make_ticket(customer, category="outage")
    first = escalation_create_automatic(ticket=ticket)
    fields = {
        f.name: getattr(first, f.name) for f in Escalation._meta.concrete_fields if f.name not in ("id", "previous")
    }
    # when a racing writer opens the same ticket and level past every check
    hop = HopSpec(
        ticket=ticket,
        escalation_type=first.escalation_type,
        mode=first.mode,
        to_team=first.to_team,
        position=first.level,
        reason="racing",
        dossier=Dossier("p", "t", "d", "unknown"),
    )
    duplicate = escalation_hops_open(hops=[hop], now=timezone.now())
    # then the partial unique constraint refuses it, and a closed one at that level is allowed
    assert duplicate == [] and hop.lost == "duplicate"
    # A raw insert on purpose: the constraint itself is under test, below every service that would refuse first.
    assert Escalation.objects.create(**{**fields, "status": EscalationStatus.SUPERSEDED}) is not None
    assert Escalation.objects.filter(ticket=ticket, status="open").count() == 1


def test_a_closed_ticket_takes_its_escalations_with_it_and_is_never_paged(
    config, customer, agent, specialist, make_ticket, monkeypatch
):
    from helpdesk import guards
    from helpdesk.services import ticket_change_status

    # This test is about paging and closing; the resolution criteria (feedback's guards) are tested there.
    monkeypatch.setattr(guards, "_GUARDS", {})

    # given an unaccepted automatic escalation
    ticket = make_ticket(customer, category="outage")
    now = timezone.now()
    first = escalation_create_automatic(ticket=ticket, now=now)
    # when the ticket is resolved, the sweep does not page anyone about it
    ticket_change_status(ticket=ticket, actor=agent, status="resolved")
    assert escalation_page_next_level(escalation=first, now=now + timedelta(hours=1)) is None
    first.refresh_from_db()
    assert first.status == EscalationStatus.OPEN and first.ack_due_at is None
    # when it is closed, the escalation ends with it
    ticket_change_status(ticket=ticket, actor=agent, status="closed")
    first.refresh_from_db()
    assert first.status == EscalationStatus.RESOLVED
    assert first.resolution_summary.startswith("Closed with the ticket by Alex Morgan on ")
