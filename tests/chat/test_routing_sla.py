"""Routing a waiting chat (its category's team, available agents under capacity), the customer's expected wait, and
the waiting chat's first-response clock from the SLA engine (breached once by the existing sweep, met by accept)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings

from chat.models import ChatSession, ChatStatus
from chat.selectors import chat_expected_wait_seconds, chat_queue_position, chat_takers, chat_waiting_for
from chat.services import chat_accept, chat_end
from helpdesk.errors import NotAllowed
from helpdesk.models import Team, TeamMembership, Tier

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def london(*args):
    return datetime(*args, tzinfo=LONDON)


@pytest.fixture
def billing_desk(teams, categories, django_user_model):
    """A second frontline team skilled in billing only (Frontline keeps every category): billing chats route to it
    (``team_for_category`` picks the first skilled tier-1 team by name: "Billing desk" < "Frontline")."""
    desk = Team.objects.create(name="Billing desk", slug="billing-desk", tier=Tier.AGENT)
    desk.categories.set([categories["billing"]])
    cashier = django_user_model.objects.create_user(
        username="cashier", password="x", role="agent", first_name="Casey", last_name="Cash"
    )
    TeamMembership.objects.create(team=desk, user=cashier)
    return {"team": desk, "cashier": cashier}


def test_a_chat_is_offered_only_to_its_category_teams_available_agents(
    start_chat, customer, customer2, agent, agent2, billing_desk, frames, django_capture_on_commit_callbacks
):
    # given a billing chat (routed to the billing desk) and an outage chat (routed to Frontline)
    with django_capture_on_commit_callbacks(execute=True):
        billing = start_chat(customer, category="billing")
    outage = start_chat(customer2, category="outage")
    cashier = billing_desk["cashier"]

    # then each chat routes where its ticket routes, and only that team's agents are offered it and told of it
    assert (billing.team, billing.ticket.team) == (billing_desk["team"], billing_desk["team"])
    assert outage.team.name == "Frontline"
    assert list(chat_takers(billing)) == [cashier]
    assert list(chat_takers(outage)) == [agent, agent2]
    assert [f for f in frames if f[0] == "chat"] == [("chat", {"chat": billing.pk, "change": "waiting"}, (cashier.pk,))]
    assert (list(chat_waiting_for(cashier)), list(chat_waiting_for(agent))) == ([billing], [outage])
    # each waits first in its own queue
    assert (chat_queue_position(billing), chat_queue_position(outage)) == (1, 1)

    # and an agent of another team cannot take it
    with pytest.raises(
        NotAllowed, match=f"^{re.escape('This chat is for the Billing desk team; you are not on it.')}$"
    ):
        chat_accept(session=billing, agent=agent)


def test_an_away_agent_is_offered_no_chat_and_cannot_take_one(start_chat, customer, agent, agent2):
    # given the agent marked away (the top bar's toggle)
    session = start_chat(customer, category="outage")
    agent.is_available = False
    agent.save(update_fields=["is_available"])

    # then the chat is offered to the colleague only, and the away agent's accept is refused
    assert list(chat_takers(session)) == [agent2]
    assert list(chat_waiting_for(agent)) == []
    with pytest.raises(
        NotAllowed, match=f"^{re.escape('You are marked away. Set yourself available to take chats.')}$"
    ):
        chat_accept(session=session, agent=agent)


@override_settings(CHAT_MAX_CONCURRENT_PER_AGENT=1)
def test_an_agent_at_capacity_is_no_longer_offered_waiting_chats(start_chat, customer, customer2, agent, agent2):
    # given the agent holding one chat with a capacity of one
    chat_accept(session=start_chat(customer, category="outage"), agent=agent)
    waiting = start_chat(customer2, category="outage")

    # then the waiting chat is offered to the colleague only
    assert list(chat_takers(waiting)) == [agent2]
    assert list(chat_waiting_for(agent)) == []
    assert list(chat_waiting_for(agent2)) == [waiting]


def test_the_console_list_and_the_push_audience_agree_for_every_agent_and_chat(
    start_chat, customer, customer2, agent, agent2, specialist, manager, billing_desk, org, django_user_model
):
    # given chats of every routing, an away agent, a full agent and agents of other tiers
    third = django_user_model.objects.create_user(username="c3", password="x", role="customer", organization=org)
    with override_settings(CHAT_MAX_CONCURRENT_PER_AGENT=1):
        start_chat(customer, category="billing")
        start_chat(customer2, category="outage")
        chat_accept(session=start_chat(third, category="data-privacy"), agent=agent2)
        agent.is_available = False
        agent.save(update_fields=["is_available"])
        staff = [agent, agent2, specialist, manager, billing_desk["cashier"]]

        # then an agent sees a chat on the console exactly when they are in its push audience
        pairs = set()
        for session in ChatSession.objects.filter(status=ChatStatus.WAITING):
            takers = set(chat_takers(session))
            for user in staff:
                offered = session in chat_waiting_for(user)
                assert offered == (user in takers), (user, session)
                pairs.add((user.username, session.pk, offered))
    assert sum(offered for *_, offered in pairs) == 1  # only the cashier's billing chat: the test can fail


def test_the_expected_wait_is_the_median_accept_delay_times_position_over_free_agents(
    start_chat, customer, customer2, agent, agent2, org, django_user_model
):
    def customer_n(n):
        return django_user_model.objects.create_user(username=f"w{n}", password="x", role="customer", organization=org)

    # given no history: no estimate (the page says "a few minutes")
    first = start_chat(customer, category="outage")
    assert chat_expected_wait_seconds(first) is None

    # given three chats of the queue accepted after 60 s, 120 s and 600 s (median 120 s)
    start = london(2026, 11, 23, 10)
    for n, delay in enumerate([60, 120, 600]):
        with time_machine.travel(start, tick=False):
            session = start_chat(customer_n(n), category="outage")
        with time_machine.travel(start + timedelta(seconds=delay), tick=False):
            chat_accept(session=session, agent=agent2)
            chat_end(session=session, actor=agent2)
    second = start_chat(customer2, category="outage")

    # then with two free agents the first waits 120 s and the second 240 s, shared by two: 60 s and 120 s
    assert (chat_expected_wait_seconds(first), chat_expected_wait_seconds(second)) == (60, 120)
    # and with one free agent, twice that; an accepted chat has none
    agent.is_available = False
    agent.save(update_fields=["is_available"])
    assert chat_expected_wait_seconds(second) == 240
    chat_accept(session=first, agent=agent2)
    first.refresh_from_db()
    assert chat_expected_wait_seconds(first) is None


# --- the SLA engine ----------------------------------------------------------------------------------------------


@pytest.fixture
def first_response_in_10_minutes(plans, config):
    """Enterprise normal priority (the customer's plan): first response in 10 minutes, around the clock."""
    from escalations.models import BusinessCalendar, SLAPolicy

    always = BusinessCalendar.objects.create(name="Always", timezone="UTC", is_24x7=True)
    return SLAPolicy.objects.create(
        name="Enterprise normal",
        plan=plans["enterprise"],
        priority="normal",
        calendar=always,
        first_response_minutes=10,
        next_response_minutes=60,
        resolution_minutes=480,
    )


def test_a_chat_left_waiting_past_the_first_response_target_breaches_once(
    start_chat, customer, agent, first_response_in_10_minutes
):
    from escalations.models import SLAClock, SLAEvent
    from escalations.sla.sweep import sla_sweep
    from reports.dashboard import sla_breaches_by_team_and_plan
    from reports.metrics import MetricFilters

    # given a chat started at 10:00 that nobody takes: its ticket's first-response clock is due at 10:10
    with time_machine.travel(london(2026, 11, 23, 10), tick=False):
        session = start_chat(customer, category="outage")
    clock = SLAClock.objects.get(ticket=session.ticket, target="first_response")
    assert (clock.state, clock.due_at) == ("running", london(2026, 11, 23, 10, 10))

    # when the sweep runs before, after and again after the deadline
    with time_machine.travel(london(2026, 11, 23, 10, 9), tick=False):
        early = sla_sweep(now=london(2026, 11, 23, 10, 9))
    with time_machine.travel(london(2026, 11, 23, 10, 12), tick=False):
        late = sla_sweep(now=london(2026, 11, 23, 10, 12))
        again = sla_sweep(now=london(2026, 11, 23, 10, 12, 30))

    # then the chat breached exactly once, at its true deadline, and the breach counts on the dashboard
    assert (early.breached, late.breached, again.breached) == (0, 1, 0)
    clock.refresh_from_db()
    assert clock.breached_at == london(2026, 11, 23, 10, 10)
    assert SLAEvent.objects.filter(clock=clock, kind="breached").count() == 1
    by_team, by_plan = sla_breaches_by_team_and_plan(
        filters=MetricFilters(start=london(2026, 11, 23, 0), end=london(2026, 11, 24, 0))
    )
    assert [(row.label, row.num) for row in by_plan] == [("Enterprise", 1)]
    assert [(row.label, row.num) for row in by_team] == [("Frontline", 1)]


def test_accepting_a_waiting_chat_meets_its_first_response_so_the_sweep_does_not_breach_it(
    start_chat, customer, agent, first_response_in_10_minutes
):
    from escalations.models import SLAClock
    from escalations.sla.sweep import sla_sweep

    # given a chat started at 10:00 and accepted at 10:04
    with time_machine.travel(london(2026, 11, 23, 10), tick=False):
        session = start_chat(customer, category="outage")
    with time_machine.travel(london(2026, 11, 23, 10, 4), tick=False):
        chat_accept(session=session, agent=agent)

    # when the sweep runs after the deadline
    with time_machine.travel(london(2026, 11, 23, 10, 30), tick=False):
        result = sla_sweep(now=london(2026, 11, 23, 10, 30))

    # then the first response was met at the accept, nothing breached, and the ticket follows the agent
    clock = SLAClock.objects.get(ticket=session.ticket, target="first_response")
    assert (clock.state, clock.met_at, clock.breached_at, result.breached) == (
        "met",
        london(2026, 11, 23, 10, 4),
        None,
        0,
    )
    session.ticket.refresh_from_db()
    assert session.ticket.assignee == agent
