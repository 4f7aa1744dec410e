"""Clocks driven by ticket activity, with frozen time and data built through the real services."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from escalations.models import CalendarHoliday, SLAEvent
from helpdesk import services
from helpdesk.models import Ticket
from tests.escalations.sla.conftest import clocks_of

LONDON = ZoneInfo("Europe/London")


def london(*args):
    return datetime(*args, tzinfo=LONDON)


def at(moment):
    return time_machine.travel(moment, tick=False)


def test_created_friday_1655_first_response_due_monday_0955(office, make_policy, make_ticket, customer, agent):
    # given a 1-business-hour first response, Mon–Fri 09:00–17:00
    make_policy(office, first=60)
    # when the ticket is created on Friday 16:55
    with at(london(2026, 11, 20, 16, 55)):
        ticket = make_ticket(customer)
    # then
    clock = clocks_of(ticket)["first_response"]
    assert clock.due_at == london(2026, 11, 23, 9, 55)
    assert clock.warn_at == london(2026, 11, 23, 9, 43)
    assert clock.next_check_at == clock.warn_at
    ticket.refresh_from_db()
    assert ticket.sla_due_at == london(2026, 11, 23, 9, 55)
    assert ticket.version == 1  # the SLA engine never bumps the version


def test_created_friday_1655_due_tuesday_when_monday_is_a_holiday(office, make_policy, make_ticket, customer):
    # given Monday is a holiday
    CalendarHoliday.objects.create(calendar=office, date=date(2026, 11, 23), name="Founders' day")
    make_policy(office, first=60)
    # when
    with at(london(2026, 11, 20, 16, 55)):
        ticket = make_ticket(customer)
    # then
    assert clocks_of(ticket)["first_response"].due_at == london(2026, 11, 24, 9, 55)


def test_pause_over_midnight_on_a_24x7_calendar(always, make_policy, make_ticket, customer, agent):
    # given 4 hours to resolve, around the clock
    make_policy(always, first=None, nxt=None, resolution=240)
    with at(datetime(2026, 11, 23, 20, tzinfo=UTC)):
        ticket = make_ticket(customer)
    # when waiting on the customer from 22:00 until 01:30 the next morning
    with at(datetime(2026, 11, 23, 22, tzinfo=UTC)):
        services.ticket_change_status(ticket=ticket, actor=agent, status="pending_customer")
    paused = clocks_of(ticket)["resolution"]
    with at(datetime(2026, 11, 24, 1, 30, tzinfo=UTC)):
        services.ticket_reply(ticket=ticket, author=ticket.customer, body="Here you are.")
    # then the paused 3.5 hours do not count
    assert paused.state == "paused"
    assert paused.next_check_at is None and paused.due_at is None
    clock = clocks_of(ticket)["resolution"]
    assert clock.state == "running"
    assert clock.consumed_seconds == 2 * 3600
    assert clock.paused_seconds == 3.5 * 3600
    assert clock.due_at == datetime(2026, 11, 24, 3, 30, tzinfo=UTC)
    assert [e.kind for e in SLAEvent.objects.filter(clock=clock)] == ["started", "paused", "resumed"]


def test_pause_over_several_days_in_business_hours(office, make_policy, make_ticket, customer, agent):
    # given 8 business hours to resolve
    make_policy(office, first=None, nxt=None, resolution=480)
    with at(london(2026, 11, 23, 10)):
        ticket = make_ticket(customer)
    # when paused Monday 12:00 until Thursday 14:00
    with at(london(2026, 11, 23, 12)):
        services.ticket_change_status(ticket=ticket, actor=agent, status="pending_customer")
    with at(london(2026, 11, 26, 14)):
        services.ticket_change_status(ticket=ticket, actor=agent, status="open")
    # then 6 business hours remain from Thursday 14:00
    clock = clocks_of(ticket)["resolution"]
    assert clock.due_at == london(2026, 11, 27, 12)
    assert clock.paused_seconds == 3 * 86400 + 2 * 3600


def test_pending_third_party_pauses_only_when_the_policy_allows(office, make_policy, make_ticket, customer, agent):
    make_policy(office, first=None, nxt=None, resolution=480)
    with at(london(2026, 11, 23, 10)):
        ticket = make_ticket(customer)
    with at(london(2026, 11, 23, 11)):
        services.ticket_change_status(ticket=ticket, actor=agent, status="pending_third_party")
    assert clocks_of(ticket)["resolution"].state == "running"


def test_reopen_keeps_the_time_already_used(office, make_policy, make_ticket, customer, agent):
    # given 8 business hours to resolve, resolved after 3
    make_policy(office, first=None, nxt=None, resolution=480)
    with at(london(2026, 11, 23, 10)):
        ticket = make_ticket(customer)
    with at(london(2026, 11, 23, 13)):
        services.ticket_change_status(ticket=ticket, actor=agent, status="resolved")
    met = clocks_of(ticket)["resolution"]
    assert met.state == "met" and met.met_at == london(2026, 11, 23, 13)
    ticket.refresh_from_db()
    assert ticket.sla_due_at is None
    # when the customer writes back on Wednesday 10:00
    with at(london(2026, 11, 25, 10)):
        services.ticket_reply(ticket=ticket, author=customer, body="It broke again.")
    # then the same clock resumes with 5 business hours left
    clock = clocks_of(ticket)["resolution"]
    assert clock.pk == met.pk
    assert clock.state == "running" and clock.met_at is None
    assert clock.due_at == london(2026, 11, 25, 15)
    assert "reopened" in [e.kind for e in SLAEvent.objects.filter(clock=clock)]


def test_policy_change_mid_flight_keeps_used_time(office, make_policy, make_ticket, customer, agent):
    # given normal: 8 h to resolve; urgent: 4 h
    make_policy(office, priority="normal", first=None, nxt=None, resolution=480)
    urgent = make_policy(office, priority="urgent", first=None, nxt=None, resolution=240)
    with at(london(2026, 11, 23, 10)):
        ticket = make_ticket(customer)
    # when the priority becomes urgent at 12:00
    with at(london(2026, 11, 23, 12)):
        services.ticket_change_priority(ticket=ticket, actor=agent, priority="urgent")
    # then 2 of the 4 hours are used
    clock = clocks_of(ticket)["resolution"]
    assert clock.policy == urgent
    assert clock.due_at == london(2026, 11, 23, 14)
    ticket.refresh_from_db()
    assert ticket.sla_due_at == london(2026, 11, 23, 14)
    recomputed = SLAEvent.objects.get(clock=clock, kind="recomputed")
    assert recomputed.policy == urgent
    assert recomputed.detail.startswith("enterprise normal → enterprise urgent: target 240 business minutes")


def test_a_ticket_matching_no_policy_has_its_clocks_cleared(office, make_policy, make_ticket, customer, agent):
    # given a policy for normal only
    make_policy(office)
    with at(london(2026, 11, 23, 10)):
        ticket = make_ticket(customer)
    # when the priority moves to one without a policy
    with at(london(2026, 11, 23, 11)):
        services.ticket_change_priority(ticket=ticket, actor=agent, priority="low")
    # then every live clock is cleared, with nothing left to check
    clocks = clocks_of(ticket)
    assert {c.state for c in clocks.values()} == {"cleared"}
    assert all(c.next_check_at is None for c in clocks.values())
    ticket.refresh_from_db()
    assert ticket.sla_due_at is None
    assert SLAEvent.objects.filter(ticket=ticket, kind="cleared").first().detail == (
        "Cleared: the ticket matches no SLA policy. Priority normal → low."
    )


def test_plan_change_recomputes_open_tickets(office, make_policy, make_ticket, customer, org):
    make_policy(office, plan="enterprise", first=None, nxt=None, resolution=480)
    basic = make_policy(office, plan="basic", first=None, nxt=None, resolution=960)
    with at(london(2026, 11, 23, 10)):
        ticket = make_ticket(customer)
    with at(london(2026, 11, 23, 12)):
        org.plan = basic.plan
        org.save()
    clock = clocks_of(ticket)["resolution"]
    assert clock.policy == basic
    assert clock.due_at == london(2026, 11, 25, 10)  # 2 of 16 business hours used by Monday noon


def test_category_specific_policy_wins(office, make_policy, make_ticket, customer, agent, categories):
    make_policy(office, first=None, nxt=None, resolution=480)
    outage = make_policy(office, first=None, nxt=None, resolution=120, category=categories["outage"])
    with at(london(2026, 11, 23, 10)):
        ticket = make_ticket(customer)
    with at(london(2026, 11, 23, 10, 30)):
        services.ticket_update(
            ticket=ticket,
            actor=agent,
            expected_version=ticket.version,
            status=ticket.status,
            priority=ticket.priority,
            category=categories["outage"],
            team=ticket.team,
            assignee=ticket.assignee,
        )
    clock = clocks_of(ticket)["resolution"]
    assert clock.policy == outage
    assert clock.due_at == london(2026, 11, 23, 12)


def test_replies_meet_responses_and_notes_meet_nothing(office, make_policy, make_ticket, customer, agent):
    make_policy(office, first=60, nxt=120, resolution=480)
    with at(london(2026, 11, 23, 10)):
        ticket = make_ticket(customer)
    # an internal note meets nothing
    with at(london(2026, 11, 23, 10, 10)):
        services.ticket_add_internal_note(ticket=ticket, author=agent, body="Looking.")
    assert clocks_of(ticket)["first_response"].state == "running"
    # a customer message before the first answer starts nothing new
    with at(london(2026, 11, 23, 10, 15)):
        services.ticket_reply(ticket=ticket, author=customer, body="Any news?")
    assert "next_response" not in clocks_of(ticket)
    # the first public agent reply meets first response
    with at(london(2026, 11, 23, 10, 20)):
        services.ticket_reply(ticket=ticket, author=agent, body="On it.")
    first = clocks_of(ticket)["first_response"]
    assert first.state == "met" and first.met_at == london(2026, 11, 23, 10, 20)
    # a customer message starts next response; the agent's next public reply meets it
    with at(london(2026, 11, 23, 16, 30)):
        services.ticket_reply(ticket=ticket, author=customer, body="Still broken.")
    nxt = clocks_of(ticket)["next_response"]
    assert nxt.state == "running" and nxt.due_at == london(2026, 11, 24, 10, 30)
    ticket.refresh_from_db()
    assert ticket.sla_due_at == london(2026, 11, 24, 10)  # the resolution clock is due first
    with at(london(2026, 11, 24, 9, 5)):
        services.ticket_add_internal_note(ticket=ticket, author=agent, body="Still looking.")
        assert clocks_of(ticket)["next_response"].state == "running"
        services.ticket_reply(ticket=ticket, author=agent, body="Fixed now.")
    assert clocks_of(ticket)["next_response"].state == "met"
    # resolve meets resolution
    with at(london(2026, 11, 24, 9, 10)):
        services.ticket_change_status(ticket=ticket, actor=agent, status="resolved")
    assert clocks_of(ticket)["resolution"].state == "met"
    ticket.refresh_from_db()
    assert ticket.sla_due_at is None


def test_no_policy_no_clocks(make_ticket, customer, db):
    ticket = make_ticket(customer)
    assert clocks_of(ticket) == {}
    assert Ticket.objects.get(pk=ticket.pk).sla_due_at is None


@pytest.mark.parametrize(
    ("tz", "created", "due"),
    [
        ("Europe/London", (2026, 3, 27, 16, 30), (2026, 3, 30, 10)),
        ("Europe/London", (2026, 10, 23, 16, 30), (2026, 10, 26, 10)),
        ("America/New_York", (2026, 3, 6, 16, 30), (2026, 3, 9, 10)),
        ("America/New_York", (2026, 10, 30, 16, 30), (2026, 11, 2, 10)),
        ("Australia/Sydney", (2026, 4, 3, 16, 30), (2026, 4, 6, 10)),
        ("Australia/Sydney", (2026, 10, 2, 16, 30), (2026, 10, 5, 10)),
    ],
)
def test_dst_weekends_through_the_service(office, make_policy, make_ticket, customer, tz, created, due):
    # given office hours in the zone, a 90-minute first response started Friday 16:30 before a DST change
    office.timezone = tz
    office.save()
    make_policy(office, first=90)
    zone = ZoneInfo(tz)
    with at(datetime(*created, tzinfo=zone)):
        ticket = make_ticket(customer)
    # then Monday 10:00 local, whatever the offset did over the weekend
    assert clocks_of(ticket)["first_response"].due_at == datetime(*due, tzinfo=zone)


def test_leap_day_through_the_service(office, make_policy, make_ticket, customer):
    make_policy(office, first=120)
    with at(london(2028, 2, 28, 16, 30)):
        ticket = make_ticket(customer)
    assert clocks_of(ticket)["first_response"].due_at == london(2028, 2, 29, 10, 30)


def test_year_end_holidays_through_the_service(office, make_policy, make_ticket, customer):
    # given Christmas, Boxing Day and New Year's Day repeating yearly (entered for 2020), office hours
    for day, name in [(date(2020, 12, 25), "Christmas"), (date(2020, 12, 26), "Boxing Day"), (date(2020, 1, 1), "NY")]:
        CalendarHoliday.objects.create(calendar=office, date=day, name=name, repeats_yearly=True)
    make_policy(office, first=240)
    # when a ticket arrives on New Year's Eve 2027 (a Friday) at 15:00
    with at(london(2027, 12, 31, 15)):
        ticket = make_ticket(customer)
    # then two hours count on Friday, none on the holiday Saturday or the weekend: Monday 3 January 11:00
    assert clocks_of(ticket)["first_response"].due_at == london(2028, 1, 3, 11)


def test_customer_answer_while_waiting_starts_next_response_running(office, make_policy, make_ticket, customer, agent):
    make_policy(office, first=60, nxt=120, resolution=480)
    with at(london(2026, 11, 23, 10)):
        ticket = make_ticket(customer)
    with at(london(2026, 11, 23, 10, 10)):
        services.ticket_reply(ticket=ticket, author=agent, body="Which browser do you use?")
        services.ticket_change_status(ticket=ticket, actor=agent, status="pending_customer")
    with at(london(2026, 11, 23, 14)):
        services.ticket_reply(ticket=ticket, author=customer, body="Firefox.")
    nxt = clocks_of(ticket)["next_response"]
    assert nxt.state == "running" and nxt.due_at == london(2026, 11, 23, 16)
    assert [e.kind for e in SLAEvent.objects.filter(clock=nxt)] == ["started"]
    resolution = clocks_of(ticket)["resolution"]
    assert resolution.state == "running"
    assert resolution.due_at == london(2026, 11, 24, 13, 50)  # 10 minutes used before the wait, 3 h 50 paused
