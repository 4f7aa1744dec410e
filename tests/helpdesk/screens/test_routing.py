"""Routing: the tier-1 team skilled in the category, then the team's rule (round-robin / least-loaded / manual),
skipping away agents; the away/available toggle."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk import services
from helpdesk.models import AssignmentRule, Status, TeamMembership
from tests.conftest import _make_user


@pytest.fixture
def third_agent(teams):
    user = _make_user("agent3", "agent", first_name="Robin", last_name="Diaz")
    TeamMembership.objects.create(team=teams["frontline"], user=user)
    return user


def _rule(team, rule):
    team.assignment_rule = rule
    team.save(update_fields=["assignment_rule"])


def test_new_ticket_goes_to_the_tier1_team_skilled_in_its_category(customer, teams, categories, make_ticket):
    # given a tier-1 team that handles outages, besides the tier-2 technical team
    billing_only = teams["frontline"]
    billing_only.categories.set([categories["billing"]])
    outage_t1 = type(billing_only).objects.create(name="Outage desk", slug="outage-desk", tier=1)
    outage_t1.categories.set([categories["outage"]])
    # when a customer opens an outage ticket
    ticket = make_ticket(customer, category="outage")
    # then it goes to the tier-1 outage desk, not to tier 2
    assert ticket.team == outage_t1
    assert ticket.tier == 1


def test_manual_rule_leaves_the_ticket_unassigned(customer, agent, agent2, make_ticket):
    ticket = make_ticket(customer)
    assert ticket.assignee is None


def test_round_robin_takes_turns_and_skips_away_agents(customer, agent, agent2, third_agent, teams, make_ticket):
    # given a round-robin team of three, one of whom is away
    _rule(teams["frontline"], AssignmentRule.ROUND_ROBIN)
    services.user_set_availability(user=agent2, is_available=False)
    # when five tickets arrive
    assignees = [make_ticket(customer, subject=f"T{i}").assignee.username for i in range(5)]
    # then the two available agents alternate and the away one gets none
    assert assignees == ["agent", "agent3", "agent", "agent3", "agent"]


def test_round_robin_resumes_with_an_agent_who_comes_back(customer, agent, agent2, teams, make_ticket):
    # given a round-robin team where agent2 was away for the first two tickets
    _rule(teams["frontline"], AssignmentRule.ROUND_ROBIN)
    services.user_set_availability(user=agent2, is_available=False)
    first = [make_ticket(customer).assignee.username for _ in range(2)]
    # when agent2 is available again
    services.user_set_availability(user=agent2, is_available=True)
    # then agent2 (the longest without an assignment) is next
    assert first == ["agent", "agent"]
    assert make_ticket(customer).assignee.username == "agent2"


def test_least_loaded_picks_fewest_open_tickets_and_skips_away_agents(
    customer, agent, agent2, third_agent, teams, make_ticket
):
    # given agent with 2 open tickets, agent2 with 1 open and 3 resolved, agent3 with none but away
    for _ in range(2):
        services.ticket_assign(ticket=make_ticket(customer), actor=agent, team=teams["frontline"], assignee=agent)
    services.ticket_assign(ticket=make_ticket(customer), actor=agent, team=teams["frontline"], assignee=agent2)
    for _ in range(3):
        done = make_ticket(customer)
        services.ticket_assign(ticket=done, actor=agent, team=teams["frontline"], assignee=agent2)
        services.ticket_change_status(ticket=done, actor=agent2, status=Status.RESOLVED)
    services.user_set_availability(user=third_agent, is_available=False)
    _rule(teams["frontline"], AssignmentRule.LEAST_LOADED)
    # when two tickets arrive
    first = make_ticket(customer).assignee
    second = make_ticket(customer).assignee
    # then the least loaded available agent gets the first (resolved tickets do not count), then ties go to
    # whoever waited longest
    assert first == agent2
    assert second == agent


def test_no_available_agent_leaves_the_ticket_for_the_team(customer, agent, agent2, teams, make_ticket):
    # given a round-robin team whose members are all away
    _rule(teams["frontline"], AssignmentRule.ROUND_ROBIN)
    for user in (agent, agent2):
        services.user_set_availability(user=user, is_available=False)
    # when a ticket arrives, then it stays unassigned in the team's queue
    ticket = make_ticket(customer)
    assert (ticket.team, ticket.assignee) == (teams["frontline"], None)


def test_away_toggle_flips_availability_and_returns_to_the_page(client, login, agent):
    # given an available agent on their queue
    login(agent)
    # when they press the toggle twice
    first = client.post(reverse("availability_toggle"), {"next": "/tickets/?scope=all"})
    agent.refresh_from_db()
    away = agent.is_available
    client.post(reverse("availability_toggle"), {"next": "https://evil.example/"})
    agent.refresh_from_db()
    # then they are away, then available again; the safe "next" is honoured and a foreign one is not
    assert away is False
    assert agent.is_available is True
    assert first["Location"] == "/tickets/?scope=all"
    assert "● Available" in client.get(reverse("ticket_list")).content.decode()


def test_customers_have_no_availability(client, login, customer):
    login(customer)
    assert client.post(reverse("availability_toggle")).status_code == 403
