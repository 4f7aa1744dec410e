"""One hop opener: the SLA sweep and the escalation services open the same hop, write the same events and queue the
same notifications on identical tickets; the manager on call and the automatic dossier have one rule each."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from escalations.hops import HopRouter, automatic_dossiers
from escalations.models import Escalation, EscalationLevel, EscalationPath, LevelTarget, SLAClock
from escalations.services import escalation_create_automatic, escalation_page_next_level
from escalations.sla.sweep import sla_sweep
from helpdesk import services
from helpdesk.models import Notification, Team

LONDON = ZoneInfo("Europe/London")


def london(*args):
    return datetime(*args, tzinfo=LONDON)


@pytest.fixture
def setup(office, make_policy, ladder, agent, specialist, manager):
    return make_policy(office, first=60, nxt=120, resolution=480)


def snapshot(ticket) -> dict:
    """What a route produced for a ticket, with the ticket's own reference taken out."""
    hops = [
        (
            e.level,
            e.to_team.name,
            e.to_tier,
            e.mode,
            e.escalation_type,
            e.status,
            e.requested_by_kind,
            e.reason,
            e.dossier_problem,
            e.dossier_tried,
            e.dossier_desired_outcome,
            e.dossier_mood,
            e.ack_due_at,
        )
        for e in Escalation.objects.filter(ticket=ticket).select_related("to_team").order_by("level", "pk")
    ]
    events = [
        (e.kind, e.is_public, e.body) for e in ticket.events.filter(kind="escalated").order_by("created_at", "pk")
    ]
    notices = sorted(
        (
            n.recipient.username,
            n.kind,
            n.channel,
            n.subject.replace(ticket.reference, "REF"),
            n.body.replace(ticket.reference, "REF"),
            n.not_before,
        )
        for n in Notification.objects.filter(ticket=ticket).select_related("recipient")
        if not n.kind.startswith("sla_")
    )
    return {"hops": hops, "events": events, "notices": notices}


def test_sweep_and_services_open_the_same_hops_events_and_notifications(setup, make_ticket, customer):
    # given two identical tickets whose first response was due Monday 11:00
    with time_machine.travel(london(2026, 11, 23, 10), tick=False):
        by_sweep = make_ticket(customer, category="outage")
        by_service = make_ticket(customer, category="outage")
    # when at 14:00 one is escalated by the service and the other by the sweep
    with time_machine.travel(london(2026, 11, 23, 14), tick=False):
        first = escalation_create_automatic(ticket=by_service, now=london(2026, 11, 23, 14))
        assert sla_sweep(now=london(2026, 11, 23, 14)).escalated == 1
    # and nobody accepts: at 14:31 the service pages one and the sweep the other; at 16:00 both reach the top
    with time_machine.travel(london(2026, 11, 23, 14, 31), tick=False):
        second = escalation_page_next_level(escalation=first, now=london(2026, 11, 23, 14, 31))
        assert sla_sweep(now=london(2026, 11, 23, 14, 31)).paged == 1
    with time_machine.travel(london(2026, 11, 23, 16), tick=False):
        assert escalation_page_next_level(escalation=second, now=london(2026, 11, 23, 16)) is None
        sla_sweep(now=london(2026, 11, 23, 16))
    # then both routes produced the same hops, events and notifications
    swept, served = snapshot(by_sweep), snapshot(by_service)
    assert [hop[:6] for hop in swept["hops"]] == [
        (1, "Technical", 2, "automatic", "support_level", "superseded"),
        (2, "Managers", 3, "automatic", "support_level", "open"),
    ]
    assert swept["hops"] == served["hops"]
    assert [event[:2] for event in swept["events"]] == [("escalated", False), ("escalated", True), ("escalated", False)]
    assert swept["events"] == served["events"]
    kinds = {(notice[0], notice[1]) for notice in swept["notices"]}
    assert {("customer", "customer_escalated"), ("specialist", "escalation_automatic")} <= kinds
    assert ("manager", "escalation_unacknowledged") in kinds
    assert swept["notices"] == served["notices"]


def test_a_batch_of_many_writes_for_each_ticket_the_rows_the_single_path_writes(setup, make_ticket, customer):
    # given five identical tickets whose first response was due Monday 11:00 (the sweep works what a batch shares out
    # once: a priority's words, the ticket URL, each team's receivers, the columns it sends as arrays)
    with time_machine.travel(london(2026, 11, 23, 10), tick=False):
        by_service = make_ticket(customer, category="outage")
        swept = [make_ticket(customer, category="outage") for _ in range(4)]
    # when at 14:00 one is escalated alone by the service and the four others by the sweep, in one batch
    with time_machine.travel(london(2026, 11, 23, 14), tick=False):
        escalation_create_automatic(ticket=by_service, now=london(2026, 11, 23, 14))
        result = sla_sweep(now=london(2026, 11, 23, 14))
    assert (result.escalated, result.batches) == (4, 1)
    # then each swept ticket has exactly the service's hop, events and notifications (no row of one leaks to another)
    served = snapshot(by_service)
    assert served["hops"] and served["events"] and served["notices"]
    for ticket in swept:
        assert snapshot(ticket) == served


def test_the_manager_on_call_is_the_tier3_team_skilled_in_the_category_else_the_first(
    teams, categories, make_ticket, customer
):
    # given two tier-3 teams, "Executive" skilled in outages, and a path whose level is "the manager on call"
    executive = Team.objects.create(name="Executive", slug="executive", tier=3)
    executive.categories.add(categories["outage"])
    path = EscalationPath.objects.create(name="Managerial", escalation_type="managerial")
    EscalationLevel.objects.create(path=path, position=1, target=LevelTarget.MANAGER_ON_CALL)
    outage = make_ticket(customer, category="outage")
    billing = make_ticket(customer, category="billing")
    # when the hop is routed
    router = HopRouter()

    def route(ticket):
        return router.target(ticket=ticket, escalation_type="managerial", mode="hierarchical", position=1, above_tier=1)

    # then the outage goes to the skilled team, the rest to the first tier-3 team by name
    assert route(outage)[2] == executive
    assert route(billing)[2] == min(Team.objects.filter(tier=3), key=lambda t: t.name)
    assert route(billing)[2].name == "Executive"  # "Executive" sorts before "Managers"
    assert router.manager_on_call(outage) == executive


def test_automatic_dossier_is_written_in_plain_sentences(setup, make_ticket, customer, agent):
    # given a ticket opened Monday 10:00 with two agent replies, the last at 10:05, and one more customer message
    with time_machine.travel(london(2026, 11, 23, 10), tick=False):
        ticket = make_ticket(customer, subject="Invoices show the wrong VAT", description="All our invoices since May.")
    with time_machine.travel(london(2026, 11, 23, 10, 2), tick=False):
        services.ticket_reply(ticket=ticket, author=agent, body="Looking into it.")
    with time_machine.travel(london(2026, 11, 23, 10, 4), tick=False):
        services.ticket_reply(ticket=ticket, author=customer, body="Any news?")
    with time_machine.travel(london(2026, 11, 23, 10, 5), tick=False):
        services.ticket_reply(ticket=ticket, author=agent, body="Still checking.")
    clock = SLAClock.objects.select_related("policy__plan", "policy__calendar").get(
        ticket=ticket, target="resolution", state="running"
    )
    # when the dossier is written on Tuesday 11:00, after the resolution target was missed
    dossier = automatic_dossiers(tickets=[ticket], clocks={ticket.pk: clock}, now=london(2026, 11, 24, 11))[ticket.pk]
    # then a specialist reads sentences, not counters
    assert dossier.problem == "Invoices show the wrong VAT. The customer wrote: “All our invoices since May.”"
    assert dossier.tried == (
        "2 agent replies; the last on Mon 10:05 GMT. The customer has written 1 more message since opening it."
    )
    assert dossier.desired == "A resolution — it was due at 10:00 GMT (Enterprise plan, normal priority)."
    assert dossier.mood == "unknown"


def test_automatic_dossier_without_replies_says_so(setup, make_ticket, customer):
    with time_machine.travel(london(2026, 11, 23, 10), tick=False):
        ticket = make_ticket(customer)
    dossier = automatic_dossiers(tickets=[ticket], now=london(2026, 11, 23, 14))[ticket.pk]
    assert dossier.tried == "No agent has replied yet."
    assert dossier.desired == "A resolution within the time we promised."
