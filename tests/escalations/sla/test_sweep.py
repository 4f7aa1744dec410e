"""The sweep: warnings and breaches exactly once, true deadlines, escalation, paging, quiet hours."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from escalations.models import Escalation, SLAEvent, TeamCalendar
from escalations.sla.sweep import sla_sweep
from helpdesk import services
from helpdesk.models import (
    Notification,
    NotificationChannel,
    NotificationKind,
    TicketEvent,
    WebhookEndpoint,
    WebhookEventType,
)
from tests.escalations.sla.conftest import clocks_of

LONDON = ZoneInfo("Europe/London")


def london(*args):
    return datetime(*args, tzinfo=LONDON)


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def setup(office, make_policy, ladder, agent, agent2, specialist, manager):
    """Enterprise normal: first response 60 business minutes, warn at 80%, Mon–Fri 09–17 London."""
    return make_policy(office, first=60, nxt=120, resolution=480)


def new_ticket(make_ticket, customer, moment, **kwargs):
    with at(moment):
        return make_ticket(customer, **kwargs)


def test_warning_is_sent_once_to_assignee_and_team_lead(setup, make_ticket, customer, agent, agent2, teams):
    # given a ticket assigned to agent2 (the frontline lead is agent), created Monday 10:00
    ticket = new_ticket(make_ticket, customer, london(2026, 11, 23, 10))
    with at(london(2026, 11, 23, 10, 1)):
        services.ticket_assign(ticket=ticket, actor=agent, team=teams["frontline"], assignee=agent2)
    # when the sweep runs at 10:48 (80% of an hour)
    result = sla_sweep(now=london(2026, 11, 23, 10, 48))
    again = sla_sweep(now=london(2026, 11, 23, 10, 49))
    # then exactly one warning, to both, and nothing on the rerun
    assert (result.warned, result.breached, again.warned) == (1, 0, 0)
    clock = clocks_of(ticket)["first_response"]
    assert clock.warned_at == london(2026, 11, 23, 10, 48)
    assert clock.next_check_at == london(2026, 11, 23, 11)
    warnings = Notification.objects.filter(kind="sla_warning", channel="in_app")
    assert sorted(n.recipient.username for n in warnings) == ["agent", "agent2"]
    assert warnings[0].subject == f"[{ticket.reference}] SLA warning: first response due Mon 23 Nov 2026 11:00"
    assert SLAEvent.objects.filter(clock=clock, kind="warned").count() == 1
    event = TicketEvent.objects.get(ticket=ticket, kind="sla")
    assert not event.is_public


def test_breach_records_the_true_deadline_and_escalates_once(setup, make_ticket, customer, specialist, teams):
    # given first response due Monday 11:00
    ticket = new_ticket(make_ticket, customer, london(2026, 11, 23, 10))
    # when the sweep only gets to it at 14:00
    with at(london(2026, 11, 23, 14)):
        result = sla_sweep(now=london(2026, 11, 23, 14))
        rerun = sla_sweep(now=london(2026, 11, 23, 14, 0, 30))
    # then the breach is at 11:00, the ticket escalated once to level 1 (Technical)
    assert (result.breached, result.escalated, result.warned) == (1, 1, 0)
    assert (rerun.breached, rerun.escalated, rerun.warned, rerun.clocks) == (0, 0, 0, 0)
    clock = clocks_of(ticket)["first_response"]
    assert clock.breached_at == london(2026, 11, 23, 11)
    assert clock.escalation_level == 1
    assert SLAEvent.objects.get(clock=clock, kind="breached").at == london(2026, 11, 23, 11)
    escalation = Escalation.objects.get(ticket=ticket)
    assert (escalation.mode, escalation.status, escalation.level, escalation.to_team) == (
        "automatic",
        "open",
        1,
        teams["technical"],
    )
    assert escalation.requested_by_kind == "system"
    assert escalation.from_tier == 1 and escalation.to_tier == 2
    assert escalation.ack_due_at == london(2026, 11, 23, 14, 30)
    assert escalation.reason.startswith("SLA breach: the first response was due Mon 23 Nov 2026 11:00")
    assert escalation.dossier_problem.startswith("Printer on fire")
    # the dossier is written in plain sentences (escalations.hops.automatic_dossiers)
    assert escalation.dossier_problem == "Printer on fire. The customer wrote: “It is on fire.”"
    assert escalation.dossier_tried == "No agent has replied yet."
    assert escalation.dossier_desired_outcome == (
        "A first answer — it was due at 11:00 GMT (Enterprise plan, normal priority)."
    )
    assert escalation.dossier_mood == "unknown"
    events = TicketEvent.objects.filter(ticket=ticket, kind__in=["sla", "escalated"])
    assert [(e.kind, e.is_public) for e in events] == [("sla", False), ("escalated", False), ("escalated", True)]
    assert events[2].body.startswith("We have passed your request to our Technical team so that the right people")
    notified = Notification.objects.filter(kind="escalation_automatic", channel="in_app")
    assert [n.recipient for n in notified] == [specialist]
    told = Notification.objects.get(kind="customer_escalated", channel="email")
    assert told.recipient == customer and told.subject == f"[{ticket.reference}] An update on your request"


def test_ticket_resolved_before_the_sweep_is_not_escalated(setup, make_ticket, customer, agent):
    ticket = new_ticket(make_ticket, customer, london(2026, 11, 23, 10))
    with at(london(2026, 11, 23, 11, 30)):
        services.ticket_change_status(ticket=ticket, actor=agent, status="resolved")
    result = sla_sweep(now=london(2026, 11, 23, 12))
    assert (result.breached, result.escalated) == (0, 0)
    assert not Escalation.objects.exists()


def test_catch_up_after_a_long_outage_escalates_each_once_with_the_right_times(setup, make_ticket, customer):
    # given three tickets due at 11:00, 12:00 and 13:00 (the workers were down all day)
    tickets = [new_ticket(make_ticket, customer, london(2026, 11, 23, h)) for h in (10, 11, 12)]
    # when the sweep catches up on Wednesday, in small batches
    result = sla_sweep(now=london(2026, 11, 25, 9), batch_size=2)
    # then each first response and each resolution breached once, at its deadline; one escalation per ticket
    assert result.breached == 6
    assert result.escalated == 3
    assert result.warned == 0
    for ticket, hour in zip(tickets, (10, 11, 12), strict=True):
        clocks = clocks_of(ticket)
        assert clocks["first_response"].breached_at == london(2026, 11, 23, hour + 1)
        assert clocks["resolution"].breached_at == london(2026, 11, 24, hour)
        assert Escalation.objects.filter(ticket=ticket).count() == 1
    assert sla_sweep(now=london(2026, 11, 25, 9, 1)).clocks == 0


def test_quiet_hours_delay_email_but_never_the_escalation(setup, make_ticket, customer, specialist, teams, office):
    # given Technical works office hours; a ticket due Friday 17:00 breaches overnight
    TeamCalendar.objects.create(team=teams["technical"], calendar=office)
    ticket = new_ticket(make_ticket, customer, london(2026, 11, 27, 16))
    # when the sweep runs on Saturday 02:00
    result = sla_sweep(now=london(2026, 11, 28, 2))
    # then the escalation exists now, and the email waits for Monday 09:00
    assert result.escalated == 1
    assert Escalation.objects.get(ticket=ticket).created_at == london(2026, 11, 28, 2)
    email = Notification.objects.get(kind="escalation_automatic", channel="email", recipient=specialist)
    assert email.not_before == london(2026, 11, 30, 9)
    assert Notification.objects.get(kind="escalation_automatic", channel="in_app").not_before is None


def test_emergencies_ignore_quiet_hours(setup, make_ticket, customer, specialist, teams, office):
    TeamCalendar.objects.create(team=teams["technical"], calendar=office)
    ticket = new_ticket(make_ticket, customer, london(2026, 11, 27, 16))
    type(ticket).objects.filter(pk=ticket.pk).update(is_emergency=True)
    sla_sweep(now=london(2026, 11, 28, 2))
    assert Notification.objects.get(kind="escalation_automatic", channel="email").not_before is None


def test_unaccepted_escalation_pages_the_next_level_once(setup, make_ticket, customer, manager, teams):
    # given an automatic escalation opened at 14:00 with 30 minutes to accept
    ticket = new_ticket(make_ticket, customer, london(2026, 11, 23, 10))
    sla_sweep(now=london(2026, 11, 23, 14))
    first = Escalation.objects.get(ticket=ticket)
    # when nobody accepts by 14:31
    result = sla_sweep(now=london(2026, 11, 23, 14, 31))
    rerun = sla_sweep(now=london(2026, 11, 23, 14, 32))
    # then level 2 (Managers, tier 3) is paged once and level 1 is superseded
    assert (result.paged, rerun.paged) == (1, 0)
    first.refresh_from_db()
    assert first.status == "superseded" and first.closed_at == london(2026, 11, 23, 14, 31)
    second = Escalation.objects.get(ticket=ticket, status="open")
    assert (second.level, second.to_team, second.to_tier, second.previous) == (2, teams["managers"], 3, first)
    assert second.ack_due_at == london(2026, 11, 23, 15, 1)
    assert Notification.objects.filter(kind="escalation_automatic", recipient=manager).exists()
    # and at the top of the path it stops waiting
    top = sla_sweep(now=london(2026, 11, 23, 16))
    second.refresh_from_db()
    assert top.paged == 0 and second.status == "open" and second.ack_due_at is None


def test_a_second_breach_climbs_one_more_level(setup, make_ticket, customer, teams):
    ticket = new_ticket(make_ticket, customer, london(2026, 11, 23, 10))
    sla_sweep(now=london(2026, 11, 23, 12))  # first response breached: level 1
    Escalation.objects.filter(ticket=ticket).update(status="accepted", ack_due_at=None)
    sla_sweep(now=london(2026, 11, 24, 10, 30))  # resolution breached: level 2
    levels = list(Escalation.objects.filter(ticket=ticket).order_by("level").values_list("level", "status"))
    assert levels == [(1, "superseded"), (2, "open")]
    second = Escalation.objects.get(ticket=ticket, level=2)
    assert (second.previous.level, second.from_tier, second.to_tier) == (1, 2, 3)
    assert clocks_of(ticket)["resolution"].escalation_level == 2


def test_idle_sweep_is_one_query(setup, make_ticket, customer, django_assert_num_queries):
    # given: clocks, an open hop and its on-call stage, none of them due yet
    for hour in (10, 11, 12):
        new_ticket(make_ticket, customer, london(2026, 11, 23, hour))
    sla_sweep(now=london(2026, 11, 23, 11, 30))
    assert Escalation.objects.filter(status="open").exists()
    # when: the sweep runs before anything else is due
    with django_assert_num_queries(1):
        result = sla_sweep(now=london(2026, 11, 23, 11, 31))
    # then: one probe, nothing done
    assert result.as_dict() == {
        "warned": 0, "breached": 0, "escalated": 0, "paged": 0, "oncall_paged": 0, "batches": 0, "clocks": 0,
    }  # fmt: skip


def test_batch_queries_do_not_grow_with_tickets(setup, make_ticket, customer, django_assert_max_num_queries):
    for minute in range(0, 60, 2):
        new_ticket(make_ticket, customer, london(2026, 11, 23, 10, minute))
    with django_assert_max_num_queries(40):
        result = sla_sweep(now=london(2026, 11, 23, 15))
    assert result.escalated == 30


def test_webhook_deliveries_are_one_insert_per_batch(setup, make_ticket, customer, django_assert_max_num_queries):
    # given an endpoint subscribed to breaches and escalations, and 20 tickets about to breach
    WebhookEndpoint.objects.create(
        name="CRM",
        url="https://crm.example.test/hook",
        secret="s" * 32,
        event_types=[WebhookEventType.SLA_BREACHED, WebhookEventType.TICKET_ESCALATED],
    )
    for minute in range(0, 40, 2):
        new_ticket(make_ticket, customer, london(2026, 11, 23, 10, minute))
    # when the sweep escalates them: within the same bound as without an endpoint (not two INSERTs per ticket)
    with django_assert_max_num_queries(40):
        result = sla_sweep(now=london(2026, 11, 23, 15))
    # then each breach and each hop has its delivery
    assert result.escalated == 20
    rows = Notification.objects.filter(channel=NotificationChannel.WEBHOOK, status="pending")
    assert rows.filter(kind=NotificationKind.for_webhook(WebhookEventType.SLA_BREACHED)).count() == 20
    assert rows.filter(kind=NotificationKind.for_webhook(WebhookEventType.TICKET_ESCALATED)).count() == 20


def test_management_command_drives_time(setup, make_ticket, customer):
    new_ticket(make_ticket, customer, london(2026, 11, 23, 10))
    out = StringIO()
    call_command("sla_sweep", "--at", "2026-11-23T12:00:00", stdout=out)
    assert '"breached": 1' in out.getvalue() and '"escalated": 1' in out.getvalue()
    assert '"at": "2026-11-23T12:00:00+00:00"' in out.getvalue()


def test_management_command_rejects_a_bad_moment(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=re.escape("--at must be an ISO-8601 date and time, not 'tuesday'.")):
        call_command("sla_sweep", "--at", "tuesday")


def test_paused_clock_is_never_swept(setup, make_ticket, customer, agent):
    ticket = new_ticket(make_ticket, customer, london(2026, 11, 23, 10))
    with at(london(2026, 11, 23, 10, 5)):
        services.ticket_reply(ticket=ticket, author=agent, body="Could you send a screenshot?")
        services.ticket_change_status(ticket=ticket, actor=agent, status="pending_customer")
    result = sla_sweep(now=datetime(2026, 12, 31, tzinfo=UTC))
    assert (result.breached, result.clocks) == (0, 0)
    assert clocks_of(ticket)["resolution"].state == "paused"
