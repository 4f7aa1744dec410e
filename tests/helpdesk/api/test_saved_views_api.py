"""Saved views in the API: the screens' services and rules, the navigation's count, and no hidden ticket."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from helpdesk.models import SavedView, Ticket
from helpdesk.saved_views import saved_view_counts, saved_view_create

BASE = "/api/saved-views/"


@pytest.fixture
def views(people, teams, agent2, categories):
    """The agent's personal view, a Frontline team view (the agent leads Frontline), a Compliance team view and the
    specialist's personal view; all over ``scope=all`` so the restricted ticket is in reach of the filter."""
    agent, compliance = people["agent"], people["compliance"]
    return {
        "mine": saved_view_create(owner=agent, name="Everything", query=QueryDict("scope=all&status=new")),
        "frontline": saved_view_create(
            owner=agent, name="Frontline urgent", query=QueryDict("scope=all&priority=normal"), team=teams["frontline"]
        ),
        "compliance": saved_view_create(
            owner=compliance, name="Privacy", query=QueryDict("scope=all"), team=teams["compliance"]
        ),
        "specialist": saved_view_create(owner=people["specialist"], name="Mine only", query=QueryDict("scope=mine")),
        "manager": saved_view_create(owner=people["manager"], name="All", query=QueryDict("scope=all")),
    }


def test_the_list_holds_my_views_and_my_teams_views_only(people, agent2, views, api_as):
    # given views of several owners and teams
    # when the agent (Frontline lead) and agent2 (Frontline member) list theirs
    agent_rows = api_as(people["agent"]).get(BASE).json()["results"]
    agent2_rows = api_as(agent2).get(BASE).json()["results"]
    # then each gets their own and their teams' views, and only the lead may manage the team view
    assert [(row["name"], row["may_manage"]) for row in agent_rows] == [
        ("Everything", True),
        ("Frontline urgent", True),
    ]
    assert [(row["name"], row["personal"], row["team"], row["may_manage"]) for row in agent2_rows] == [
        ("Frontline urgent", False, "frontline", False)
    ]
    # and someone else's personal view is a 404, as is a team view of another team
    assert api_as(agent2).get(f"{BASE}{views['mine'].pk}/").status_code == 404
    assert api_as(people["agent"]).get(f"{BASE}{views['compliance'].pk}/").status_code == 404


def test_count_equals_the_navigations_and_never_counts_a_hidden_ticket(people, tickets, views, api_as):
    # given the restricted ticket, which matches every ``scope=all`` view's filter
    restricted = tickets["restricted"]
    assert Ticket.objects.filter(pk=restricted.pk, restricted=True).exists()
    for role in ("agent", "compliance", "manager"):
        user = people[role]
        api = api_as(user)
        # when the role reads each of its views' count and tickets through the API
        navigation = {row.view.pk: row.count for row in saved_view_counts(user)}
        assert navigation, role
        for pk, nav_count in navigation.items():
            count = api.get(f"{BASE}{pk}/count/").json()
            body = api.get(f"{BASE}{pk}/tickets/", {"page_size": 100})
            references = [row["reference"] for row in body.json()["results"]]
            # then the count is the navigation's, and the tickets are that many
            assert count == {"id": pk, "count": nav_count}, (role, pk)
            assert body.json()["count"] == nav_count == len(references), (role, pk)
            # and the restricted ticket is there only for whoever may see it
            if role == "agent":
                assert restricted.reference not in body.content.decode()
    compliance_tickets = api_as(people["compliance"]).get(f"{BASE}{views['compliance'].pk}/tickets/").json()
    assert restricted.reference in [row["reference"] for row in compliance_tickets["results"]]


def test_create_follows_the_screens_rule_for_team_views(people, agent2, teams, api_as):
    # given a Frontline member who is not its lead, and its lead
    body = {"name": "Frontline backlog", "query": "scope=all&priority=high", "team": "frontline"}
    # when each saves a team view
    refused = api_as(agent2).post(BASE, body)
    created = api_as(people["agent"]).post(BASE, body)
    # then the member is refused with the service's words, and the lead's view is stored canonically
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only the leads of Frontline and managers can add a view for the team."
    assert created.status_code == 201, created.content
    assert created["ETag"] == '"1"'
    assert created["Location"] == f"{BASE}{created.json()['id']}/"
    assert created.json()["query"] == "scope=all&status=open&priority=high&sort=sla"
    assert created.json()["team"] == "frontline"
    # and a manager may keep a view for any team
    assert api_as(people["manager"]).post(BASE, {**body, "name": "Managers' pick"}).status_code == 201


def test_create_refuses_bad_input_naming_the_field(people, views, api_as):
    api = api_as(people["agent"])
    unknown = api.post(BASE, {"name": "X", "owner": 3, "sql": "drop"})
    bad_query = api.post(BASE, {"name": "X", "query": "status=exploded"})
    duplicate = api.post(BASE, {"name": "Everything"})
    blank = api.post(BASE, {"name": "   "})
    assert unknown.status_code == 400
    assert set(unknown.json()) == {"owner", "sql"}
    assert bad_query.status_code == 400
    assert bad_query.json()["field"] == "query"
    assert duplicate.status_code == 400
    assert duplicate.json() == {
        "detail": "You already have a view called “Everything”.",
        "code": "invalid",
        "field": "name",
    }
    assert blank.status_code == 400
    assert list(blank.json()) == ["name"]
    assert SavedView.objects.filter(name="X").count() == 0


def test_update_needs_if_match_and_refuses_a_stale_version(people, agent2, views, api_as):
    api = api_as(people["agent"])
    path = f"{BASE}{views['frontline'].pk}/"
    # when the lead changes the team view without If-Match, with the version, then with that version again
    missing = api.patch(path, {"name": "Frontline normal"})
    saved = api.patch(
        path, {"name": "Frontline normal", "query": "scope=all&priority=high&cols=subject,sla"}, version=1
    )
    stale = api.patch(path, {"name": "Lost update"}, version=1)
    # then: 428, 200 with the next version, 412 with the current one; nothing of the stale write is kept
    assert missing.status_code == 428
    assert saved.status_code == 200, saved.content
    assert saved["ETag"] == '"2"'
    assert saved.json()["columns"] == ["subject", "sla"]
    assert saved.json()["query"] == "scope=all&status=open&priority=high&sort=sla&cols=subject%2Csla"
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert SavedView.objects.get(pk=views["frontline"].pk).name == "Frontline normal"
    # and a member who is not a lead may not change or delete it, nor may anyone move it to another team
    assert api_as(agent2).patch(path, {"name": "Mine"}, version=2).status_code == 403
    assert api_as(agent2).delete(path).status_code == 403
    moved = api.patch(path, {"team": "technical"}, version=2)
    assert moved.status_code == 400
    assert "team" in moved.json()
    # and the lead deletes it
    assert api.delete(path).status_code == 204
    assert not SavedView.objects.filter(pk=views["frontline"].pk).exists()


def test_customers_and_anonymous_get_nothing(people, views, api_as):
    for role, expected in (("customer", 403), ("anonymous", 401)):
        api = api_as(people[role])
        assert api.get(BASE).status_code == expected
        assert api.get(f"{BASE}{views['mine'].pk}/count/").status_code == expected
        assert api.post(BASE, {"name": "Mine"}).status_code == expected


def test_a_views_tickets_cost_a_constant_number_of_queries(
    people, views, make_ticket, api_as, django_assert_max_num_queries
):
    # given many tickets in the agent's view
    for i in range(12):
        make_ticket(people["customer"], subject=f"Refund {i}")
    api = api_as(people["agent"])
    path = f"{BASE}{views['mine'].pk}/tickets/"
    # when the agent reads a page of them (6 queries, whatever the page size)
    with django_assert_max_num_queries(6):
        response = api.get(path, {"page_size": 50})
    # then every ticket is on it
    assert response.status_code == 200
    assert response.json()["count"] >= 12
