"""One clock: the live engine (driven through the real services and the sweep) and the what-if replay of the current
policy agree clock by clock on what warned and what breached, for random timelines, policies and calendars.

Each example builds its own calendar and policies (normal and high priority; low has no policy, so moving there
clears the clocks), creates one ticket, and walks a random timeline from Friday 23 Oct 2026 08:00 UTC (Europe/London
and New York leave summer time on 25 Oct and 1 Nov): status changes (open, waiting on the customer, waiting on a third
party, resolved, reopened, closed), public agent replies, customer messages, priority changes and sweeps at random
moments. A final sweep runs at the end; the replay judges the clocks as of that moment.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from escalations.models import BusinessCalendar, CalendarHoliday, SLAClock, SLAPolicy, WorkingInterval
from escalations.sla.sweep import sla_sweep
from helpdesk import services
from helpdesk.models import STATUS_TRANSITIONS, Status
from reports import simulator
from reports.simulator import Draft

START = dt.datetime(2026, 10, 23, 8, 0, tzinfo=dt.UTC)

ACTIONS = st.one_of(
    st.tuples(
        st.just("status"),
        st.sampled_from(
            [Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_THIRD_PARTY, Status.RESOLVED, Status.CLOSED]
        ),
    ),
    st.tuples(st.just("agent_reply"), st.none()),
    st.tuples(st.just("customer_message"), st.none()),
    st.tuples(st.just("priority"), st.sampled_from(["normal", "high", "low"])),
    st.tuples(st.just("sweep"), st.none()),
)
STEPS = st.lists(st.tuples(st.integers(min_value=1, max_value=36 * 60), ACTIONS), min_size=1, max_size=10)
TARGET = st.one_of(st.none(), st.integers(min_value=5, max_value=16 * 60))
POLICY = st.fixed_dictionaries(
    {
        "first_response_minutes": TARGET,
        "next_response_minutes": TARGET,
        "resolution_minutes": st.integers(min_value=5, max_value=40 * 60),
        "warn_percent": st.integers(min_value=1, max_value=100),
        "pause_on_pending_customer": st.booleans(),
        "pause_on_pending_third_party": st.booleans(),
    }
)
CALENDAR = st.sampled_from(["24x7", "Europe/London", "America/New_York"])


def _calendar(kind: str) -> BusinessCalendar:
    if kind == "24x7":
        return BusinessCalendar.objects.create(name="Always", timezone="UTC", is_24x7=True)
    calendar = BusinessCalendar.objects.create(name=f"Office {kind}", timezone=kind)
    for day in range(5):
        WorkingInterval.objects.create(calendar=calendar, weekday=day, start=dt.time(9), end=dt.time(17))
    CalendarHoliday.objects.create(calendar=calendar, date=dt.date(2026, 10, 27), name="Holiday")
    return calendar


def _act(ticket, action, value, *, moment, agent, customer) -> None:
    ticket.refresh_from_db()
    if action == "status":
        if value in STATUS_TRANSITIONS[ticket.status]:
            services.ticket_change_status(ticket=ticket, actor=agent, status=value)
    elif action == "agent_reply" and ticket.status != Status.CLOSED:
        services.ticket_reply(ticket=ticket, author=agent, body="We are on it.")
    elif action == "customer_message" and ticket.status != Status.CLOSED:
        services.ticket_reply(ticket=ticket, author=customer, body="Any news?")
    elif action == "priority" and ticket.status != Status.CLOSED and value != ticket.priority:
        services.ticket_change_priority(ticket=ticket, actor=agent, priority=value)
    elif action == "sweep":
        sla_sweep(now=moment)


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(
    calendar_kind="24x7",
    normal={"first_response_minutes": None, "next_response_minutes": None, "resolution_minutes": 5, "warn_percent": 1},
    high={"first_response_minutes": None, "next_response_minutes": 5, "resolution_minutes": 5, "warn_percent": 1},
    steps=[(1, ("customer_message", None)), (1, ("priority", "high"))],
)
@given(calendar_kind=CALENDAR, normal=POLICY, high=POLICY, steps=STEPS)
def test_the_live_engine_and_the_replay_agree_clock_by_clock(
    calendar_kind, normal, high, steps, customer, agent, plans, make_ticket, monkeypatch
):
    from helpdesk import guards

    monkeypatch.setattr(guards, "_GUARDS", {})
    with transaction.atomic():
        # given a calendar, two policies and one ticket created at START
        calendar = _calendar(calendar_kind)
        for priority, fields in (("normal", normal), ("high", high)):
            SLAPolicy.objects.create(
                name=f"Enterprise {priority}", plan=plans["enterprise"], priority=priority, calendar=calendar, **fields
            )
        with time_machine.travel(START, tick=False):
            ticket = make_ticket(customer, priority="normal")
        # when the live engine lives through the timeline, swept at random moments and at the end
        moment = START
        for gap, (action, value) in steps:
            moment += dt.timedelta(minutes=gap)
            with time_machine.travel(moment, tick=False):
                _act(ticket, action, value, moment=moment, agent=agent, customer=customer)
        end = moment + dt.timedelta(minutes=1)
        sla_sweep(now=end)
        # then replaying the current policies gives the same clocks, warned and breached alike
        live = [
            (c.target, c.warned_at is not None, c.breached_at is not None)
            for c in SLAClock.objects.filter(ticket=ticket).order_by("pk")
        ]
        first = SLAClock.objects.filter(ticket=ticket).order_by("pk").first()
        tables = simulator.draft_tables(Draft(policy_id=first.policy_id))
        ticket.refresh_from_db()
        events = simulator.timelines([ticket.pk])[ticket.pk]
        policy_for = tables.resolver(plan_id=plans["enterprise"].pk, category_id=ticket.category_id)
        replayed = simulator.replay_clocks(
            created_at=ticket.created_at,
            events=events,
            policy=policy_for(simulator.initial_priority(priority=ticket.priority, events=events)),
            now=end,
            policy_for=policy_for,
        )
        assert [(c.target, c.warned_at is not None, c.breached_at is not None) for c in replayed] == live
        # and the what-if screen's "no change" shows no difference
        result = simulator.simulate(draft=Draft(policy_id=first.policy_id), start=START, end=end, viewer=None, now=end)
        assert (result.changed_count, result.total.simulated_breaches) == (0, result.total.actual_breaches)
        assert sum(t.simulated_warned for t in result.by_target.values()) == sum(
            t.actual_warned for t in result.by_target.values()
        )
        transaction.set_rollback(True)
