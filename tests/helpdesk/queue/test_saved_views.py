"""Saved views: the stored state is the queue's validated, allowlisted URL state; personal views belong to their
owner, team views to the team (kept by its leads and managers); the navigation counts every view in a bounded number
of queries, through tickets_visible_to."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.urls import reverse

from helpdesk import services
from helpdesk.errors import Invalid, NotAllowed, NotFound
from helpdesk.models import Priority, SavedView, Ticket
from helpdesk.saved_views import (
    saved_view_counts,
    saved_view_create,
    saved_view_delete,
    saved_view_get_for_user,
    saved_view_rename,
    saved_views_visible_to,
)


def test_a_view_stores_only_the_queues_allowlisted_state(agent, categories):
    # given a queue URL with filters, a sort, columns, a page number and parameters the queue does not know
    query = QueryDict(
        f"scope=all&priority=high&category={categories['billing'].pk}&sort=oldest&page=3&evil=1"
        "&cols=subject,priority,nonsense"
    )
    # when the agent saves it
    view = saved_view_create(owner=agent, name="  Billing,\nhigh  ", query=query)
    # then only the declared filters (with the defaults the form filled in) and allowlisted columns are stored
    assert view.name == "Billing, high"
    assert QueryDict(view.query).dict() == {
        "scope": "all",
        "status": "open",
        "priority": "high",
        "category": str(categories["billing"].pk),
        "sort": "oldest",
        "cols": "subject,priority",
    }


def test_a_state_the_queue_refuses_is_not_saved(agent):
    # given / when an unknown sort key (a column name with SQL after it)
    with pytest.raises(Invalid) as exc:
        saved_view_create(owner=agent, name="Hack", query=QueryDict("sort=created_at;drop table"))
    # then nothing is saved and the message names the field
    assert exc.value.message == (
        "The queue filter is not valid (Sort by: Select a valid choice. created_at;drop table is not one of the "
        "available choices.)."
    )
    assert not SavedView.objects.exists()


def test_personal_views_are_their_owners_and_names_are_unique(agent, agent2):
    # given a personal view of agent
    view = saved_view_create(owner=agent, name="Mine", query=QueryDict("scope=mine"))
    # when agent2 looks for it, renames it or deletes it; and agent saves a second view of the same name
    # then agent2 does not find it, and the name is refused
    assert list(saved_views_visible_to(agent2)) == []
    with pytest.raises(NotFound):
        saved_view_get_for_user(user=agent2, pk=view.pk)
    with pytest.raises(NotAllowed) as exc:
        saved_view_rename(actor=agent2, view=view, name="Stolen")
    assert exc.value.message == "Only its owner can change a personal view."
    with pytest.raises(Invalid) as dup:
        saved_view_create(owner=agent, name="Mine", query=QueryDict(""))
    assert dup.value.message == "You already have a view called “Mine”."
    # and its owner renames and deletes it
    saved_view_rename(actor=agent, view=view, name="Still mine")
    assert SavedView.objects.get().name == "Still mine"
    saved_view_delete(actor=agent, view=view)
    assert not SavedView.objects.exists()


def test_a_team_view_is_seen_by_the_team_only_and_kept_by_its_leads_and_managers(
    agent, agent2, specialist, manager, teams
):
    # given agent leads Frontline, agent2 is a member, the specialist is in another team
    # when agent2 (not a lead) tries to add a Frontline view, and agent (the lead) adds one
    with pytest.raises(NotAllowed) as exc:
        saved_view_create(owner=agent2, name="Team", query=QueryDict(""), team=teams["frontline"])
    assert exc.value.message == "Only the leads of Frontline and managers can add a view for the team."
    view = saved_view_create(
        owner=agent, name="Frontline urgent", query=QueryDict("priority=urgent"), team=teams["frontline"]
    )
    # then every member of Frontline sees it, the specialist does not
    assert list(saved_views_visible_to(agent2)) == [view]
    assert list(saved_views_visible_to(specialist)) == []
    # and agent2 may not rename it, a manager may
    with pytest.raises(NotAllowed) as rename:
        saved_view_rename(actor=agent2, view=view, name="Mine now")
    assert rename.value.message == "Only the leads of Frontline and managers can change the team's views."
    saved_view_rename(actor=manager, view=view, name="Urgent (Frontline)")
    assert SavedView.objects.get().name == "Urgent (Frontline)"


def test_counts_are_per_viewer_and_take_a_constant_number_of_queries(
    agent, agent2, teams, customer, categories, make_ticket, django_assert_max_num_queries
):
    # given tickets: two urgent billing ones, one of them assigned to agent; one restricted outage ticket of another
    # team; and four views (personal and team) filtering by category, team, assignee and priority
    urgent = [make_ticket(customer, subject=f"Urgent {i}", priority=Priority.URGENT) for i in range(2)]
    services.ticket_assign(ticket=urgent[0], actor=agent, team=teams["frontline"], assignee=agent)
    secret = make_ticket(customer, subject="Secret", category="outage")
    Ticket.objects.filter(pk=secret.pk).update(restricted=True, team=teams["compliance"])
    views = [
        saved_view_create(owner=agent, name="Urgent", query=QueryDict("scope=all&priority=urgent")),
        saved_view_create(owner=agent, name="Outage", query=QueryDict(f"scope=all&category={categories['outage'].pk}")),
        saved_view_create(owner=agent, name="Mine", query=QueryDict(f"scope=all&assignee={agent.pk}")),
        saved_view_create(
            owner=agent,
            name="Frontline",
            query=QueryDict(f"scope=all&team={teams['frontline'].pk}"),
            team=teams["frontline"],
        ),
    ]
    # when agent reads the counts, then agent2 (who sees only the team view)
    with django_assert_max_num_queries(5):
        counts = {row.view.name: row.count for row in saved_view_counts(agent)}
    with django_assert_max_num_queries(5):
        theirs = {row.view.name: row.count for row in saved_view_counts(agent2)}
    # then each number is what that viewer's queue shows (the restricted outage ticket is not counted)
    assert counts == {"Urgent": 2, "Outage": 0, "Mine": 1, "Frontline": 2}
    assert theirs == {"Frontline": 2}
    # and more views cost no more queries
    for i in range(6):
        saved_view_create(owner=agent, name=f"More {i}", query=QueryDict(views[i % 4].query))
    with django_assert_max_num_queries(5):
        assert len(saved_view_counts(agent)) == 10


def test_the_screens_save_rename_delete_and_count(client, login, agent, customer, make_ticket):
    # given an agent on a filtered queue
    make_ticket(customer, subject="Urgent one", priority=Priority.URGENT)
    login(agent)
    new = reverse("saved_view_new") + "?scope=all&priority=urgent&page=2"
    # when they save it, the navigation fragment shows it with its count
    response = client.post(new, {"name": "Urgent", "columns": ["subject", "priority", "status"]})
    view = SavedView.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("ticket_list") + "?" + view.query
    assert QueryDict(view.query)["cols"] == "subject,priority,status"
    nav = client.get(reverse("saved_view_nav")).content.decode()
    assert "Urgent" in nav and '<span class="nav-count" aria-label="1 ticket">1</span>' in nav
    # and the queue opened from it hides the other columns
    queue = client.get(response["Location"]).content.decode()
    assert 'class="queue hide-customer hide-sla hide-age hide-assignee hide-activity"' in queue
    assert '<input type="hidden" name="cols" value="subject,priority,status">' in queue  # kept when filtering on
    # when they rename and delete it
    client.post(reverse("saved_view_rename", kwargs={"pk": view.pk}), {"name": "Urgent now"})
    assert SavedView.objects.get().name == "Urgent now"
    client.post(reverse("saved_view_delete", kwargs={"pk": view.pk}))
    assert not SavedView.objects.exists()


def test_a_customer_has_no_saved_views(client, login, customer):
    login(customer)
    assert client.get(reverse("saved_view_new")).status_code == 403
    assert client.get(reverse("saved_view_nav")).content.decode().strip() == ""
