"""The agent queue: scope, every filter, search, allowlisted sorting, pagination, empty states, query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from helpdesk import services
from helpdesk.models import Channel, Priority, Status, Ticket

QUEUE = reverse("ticket_list")


def _refs(response) -> list[str]:
    return [t.reference for t in response.context["page"].object_list]


@pytest.fixture
def queue_tickets(customer, customer2, agent, agent2, specialist, teams, categories, make_ticket):
    """Six tickets with different properties, built through the services."""
    t = {
        "mine": make_ticket(customer, subject="Charged twice", category="billing"),
        "theirs": make_ticket(customer, subject="Cannot log in", category="outage", priority=Priority.HIGH),
        "unassigned": make_ticket(customer2, subject="Invoice address", category="billing", channel=Channel.EMAIL),
        "other_team": make_ticket(customer2, subject="Server down", category="outage", priority=Priority.URGENT),
        "pending": make_ticket(customer, subject="Export my data", category="data-privacy"),
        "resolved": make_ticket(customer2, subject="Old question", category="billing", priority=Priority.LOW),
    }
    services.ticket_assign(ticket=t["mine"], actor=agent, team=teams["frontline"], assignee=agent)
    services.ticket_assign(ticket=t["theirs"], actor=agent, team=teams["frontline"], assignee=agent2)
    services.ticket_assign(ticket=t["other_team"], actor=agent, team=teams["technical"], assignee=None)
    services.ticket_change_status(ticket=t["pending"], actor=agent, status=Status.PENDING_CUSTOMER)
    services.ticket_change_status(ticket=t["resolved"], actor=agent, status=Status.RESOLVED)
    return t


def test_my_queue_shows_my_tickets_and_my_teams_unassigned_open_tickets(client, login, agent, queue_tickets):
    # given an agent of the frontline team
    login(agent)
    # when they open their queue
    response = client.get(QUEUE)
    # then they see what is assigned to them and the frontline's unassigned open tickets only
    t = queue_tickets
    assert response.status_code == 200
    assert set(_refs(response)) == {t["mine"].reference, t["unassigned"].reference, t["pending"].reference}
    assert b"My queue" in response.content


def test_all_scope_shows_every_open_visible_ticket(client, login, agent, queue_tickets):
    # given an agent
    login(agent)
    # when they choose "all tickets"
    response = client.get(QUEUE, {"scope": "all"})
    # then every open ticket is listed, the resolved one is not
    t = queue_tickets
    assert set(_refs(response)) == {t[k].reference for k in ("mine", "theirs", "unassigned", "other_team", "pending")}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "pending_customer"}, {"pending"}),
        ({"status": "resolved"}, {"resolved"}),
        ({"status": "any"}, {"mine", "theirs", "unassigned", "other_team", "pending", "resolved"}),
        ({"priority": "urgent"}, {"other_team"}),
        ({"priority": "high"}, {"theirs"}),
        ({"channel": "email"}, {"unassigned"}),
        ({"team": "TECHNICAL"}, {"other_team"}),
        ({"assignee": "AGENT2"}, {"theirs"}),
        ({"assignee": "null"}, {"unassigned", "other_team", "pending"}),
        ({"category": "OUTAGE"}, {"theirs", "other_team"}),
    ],
    ids=lambda v: str(v),
)
def test_each_filter_narrows_the_queue(
    client, login, agent, agent2, teams, categories, queue_tickets, params, expected
):
    # given an agent looking at all tickets
    login(agent)
    lookups = {"TECHNICAL": teams["technical"].pk, "AGENT2": agent2.pk, "OUTAGE": categories["outage"].pk}
    query = {"scope": "all", **{k: lookups.get(v, v) for k, v in params.items()}}
    # when they filter
    response = client.get(QUEUE, query)
    # then exactly the matching tickets remain, and the filter state is in the URL of the pagination/sort links
    assert response.status_code == 200
    assert set(_refs(response)) == {queue_tickets[k].reference for k in expected}
    assert response.context["filter"].form.is_valid()


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("charged", {"mine"}),
        ("Sam Patel", {"unassigned", "other_team", "resolved"}),
        ("customer2@example", {"unassigned", "other_team", "resolved"}),
    ],
)
def test_search_by_subject_name_and_email(client, login, agent, queue_tickets, q, expected):
    # given an agent
    login(agent)
    # when they search across all statuses (as the top bar's search box does)
    response = client.get(QUEUE, {"q": q, "scope": "all", "status": "any"})
    # then tickets matching every word are listed
    assert set(_refs(response)) == {queue_tickets[k].reference for k in expected}


def test_search_by_reference_finds_that_ticket(client, login, agent, queue_tickets):
    # given an agent and a ticket's reference
    login(agent)
    reference = queue_tickets["theirs"].reference
    # when they search for it
    response = client.get(QUEUE, {"q": reference.lower(), "scope": "all", "status": "any"})
    # then only that ticket is found
    assert _refs(response) == [reference]


def test_default_order_is_emergencies_then_sla_then_age(client, login, agent, queue_tickets):
    # given SLA deadlines (maintained by the SLA engine) and one emergency
    now = timezone.now()
    t = queue_tickets
    Ticket.objects.filter(pk=t["theirs"].pk).update(sla_due_at=now + timedelta(hours=1))
    Ticket.objects.filter(pk=t["unassigned"].pk).update(sla_due_at=now + timedelta(minutes=10))
    Ticket.objects.filter(pk=t["other_team"].pk).update(sla_due_at=now + timedelta(hours=5), is_emergency=True)
    login(agent)
    # when the agent opens all tickets
    response = client.get(QUEUE, {"scope": "all"})
    # then the emergency is first, then the soonest deadlines, then tickets without a clock oldest first
    assert _refs(response) == [
        t["other_team"].reference,
        t["unassigned"].reference,
        t["theirs"].reference,
        t["mine"].reference,
        t["pending"].reference,
    ]
    assert b"row-emergency" in response.content


def test_sort_by_priority_keeps_emergencies_pinned(client, login, agent, queue_tickets):
    # given an emergency on a normal-priority ticket
    t = queue_tickets
    Ticket.objects.filter(pk=t["mine"].pk).update(is_emergency=True)
    login(agent)
    # when the agent sorts by priority
    response = client.get(QUEUE, {"scope": "all", "sort": "priority"})
    # then the emergency stays on top and the rest go highest priority first
    refs = _refs(response)
    assert refs[:3] == [t["mine"].reference, t["other_team"].reference, t["theirs"].reference]


def test_unknown_sort_is_refused_and_the_default_order_applies(client, login, agent, queue_tickets):
    # given an agent
    login(agent)
    # when the URL asks to sort by a column that is not allowlisted
    response = client.get(QUEUE, {"scope": "all", "sort": "customer__password"})
    # then it is an error on the sort field, and the list is still in the default order
    assert response.status_code == 200
    assert response.context["filter"].form.errors["sort"] == [
        "Select a valid choice. customer__password is not one of the available choices."
    ]
    assert len(_refs(response)) == 5


def test_queue_is_paginated_and_keeps_the_filters_in_the_links(client, login, agent, customer, make_ticket):
    # given 30 unassigned high-priority tickets in the agent's team
    for i in range(30):
        make_ticket(customer, subject=f"Ticket {i}", priority=Priority.HIGH)
    login(agent)
    # when the agent filters and follows the next-page link (a keyset cursor: the last row's id)
    first = client.get(QUEUE, {"priority": "high"})
    last_id = Ticket.objects.get(reference=_refs(first)[-1]).pk
    second = client.get(QUEUE, {"priority": "high", "after": last_id})
    # then 25 + 5 rows, the next-page link keeps the filter, and page 2 links back to page 1's rows
    assert len(_refs(first)) == 25
    assert len(_refs(second)) == 5
    assert f"?priority=high&amp;after={last_id}" in first.content.decode()
    assert not set(_refs(first)) & set(_refs(second))
    first_id_of_second = Ticket.objects.get(reference=_refs(second)[0]).pk
    back = client.get(QUEUE, {"priority": "high", "before": first_id_of_second})
    assert _refs(back) == _refs(first)
    assert not back.context["page"].has_previous


@pytest.mark.parametrize("sort", ["sla", "priority", "oldest", "newest", "activity", "reference", "risk"])
def test_keyset_pages_walk_every_sort_in_order_with_the_emergency_pinned(
    client, login, agent, customer, make_ticket, sort, monkeypatch
):
    # given 12 open tickets with mixed priorities and deadlines (some without a clock), one of them an emergency
    now = timezone.now()
    priorities = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]
    for i in range(12):
        ticket = make_ticket(customer, subject=f"Ticket {i}", priority=priorities[i % 4])
        due = None if i % 5 == 0 else now + timedelta(minutes=(i * 37) % 11)  # ties and NULLs
        Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=due, is_emergency=i == 7)
    login(agent)
    whole = _refs(client.get(QUEUE, {"scope": "all", "sort": sort}))
    monkeypatch.setattr("helpdesk.views.QUEUE_PAGE_SIZE", 5)
    # when the agent pages through five rows at a time, forwards and then back
    forwards, cursor = [], {}
    while True:
        page = client.get(QUEUE, {"scope": "all", "sort": sort, **cursor}).context["page"]
        forwards.append([t.reference for t in page.object_list])
        if page.next_after is None:
            break
        cursor = {"after": page.next_after}
    backwards, cursor = [], {"before": page.previous_before}
    while cursor["before"] is not None:
        page = client.get(QUEUE, {"scope": "all", "sort": sort, **cursor}).context["page"]
        backwards.insert(0, [t.reference for t in page.object_list])
        cursor = {"before": page.previous_before}
    # then the pages are the whole queue in order, without gaps or repeats, the emergency first, both ways
    assert len(whole) == 12
    assert [len(refs) for refs in forwards] == [5, 5, 2]
    assert [ref for refs in forwards for ref in refs] == whole
    assert backwards == forwards[:-1]
    assert Ticket.objects.get(reference=whole[0]).is_emergency


def test_empty_queue_says_so_in_words(client, login, agent):
    # given an agent with nothing to do
    login(agent)
    # when they open their queue
    response = client.get(QUEUE)
    # then the page says so
    assert "Your queue is empty: nothing is assigned to you and your teams have no unassigned tickets." in (
        response.content.decode()
    )


def test_no_match_says_so_in_words(client, login, agent, queue_tickets):
    login(agent)
    response = client.get(QUEUE, {"q": "zzz-nothing"})
    assert "No tickets match these filters." in response.content.decode()


def test_htmx_filter_request_renders_only_the_results(client, login, agent, queue_tickets):
    # given an agent
    login(agent)
    # when the filter bar refreshes the results with htmx
    response = client.get(QUEUE, {"scope": "all"}, headers={"HX-Request": "true", "HX-Target": "queue-results"})
    # then only the results partial comes back
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="queue-results"')
    assert "<html" not in content


def test_customer_sees_their_organisation_requests_not_the_queue(client, login, customer, customer2, queue_tickets):
    # given a customer
    login(customer)
    # when they open the ticket list (even with staff filters in the URL)
    response = client.get(QUEUE, {"scope": "all", "status": "any"})
    # then they see their organisation's requests only
    assert set(_refs(response)) == {queue_tickets[k].reference for k in ("mine", "theirs", "pending")}
    assert "helpdesk/portal_list.html" in [t.name for t in response.templates]


def _tickets(n, customer, make_ticket, agent, teams):
    for i in range(n):
        ticket = make_ticket(customer, subject=f"Load {i}")
        if i % 2:
            services.ticket_assign(ticket=ticket, actor=agent, team=teams["frontline"], assignee=agent)
        services.ticket_reply(ticket=ticket, author=agent, body=f"Reply {i}")


@pytest.mark.parametrize("n", [3, 30])
def test_queue_query_count_does_not_grow_with_tickets(
    client, login, agent, customer, make_ticket, teams, django_assert_max_num_queries, n
):
    # given n tickets
    _tickets(n, customer, make_ticket, agent, teams)
    login(agent)
    client.get(QUEUE)  # warm the session
    # when the queue (plain and filtered) renders, then the number of queries is the same bound for 3 and 30
    # (13: one of them prefetches the page's tag chips, whatever the number of rows)
    with django_assert_max_num_queries(13):
        response = client.get(QUEUE)
    assert len(_refs(response)) == min(n, 25)
    with django_assert_max_num_queries(13):
        client.get(QUEUE, {"scope": "all", "priority": "normal", "sort": "activity"})


@pytest.mark.parametrize("n", [3, 30])
def test_customer_list_and_workspace_query_counts_do_not_grow(
    client, login, agent, customer, make_ticket, teams, django_assert_max_num_queries, n, other_client
):
    # given n tickets with replies
    _tickets(n, customer, make_ticket, agent, teams)
    ticket = Ticket.objects.order_by("pk").first()
    for i in range(n):
        services.ticket_add_internal_note(ticket=ticket, author=agent, body=f"Note {i}")
    login(customer)
    login(agent, other_client)
    # when the customer's list and the agent's workspace render, then the query counts are bounded independently of n
    with django_assert_max_num_queries(8):
        client.get(QUEUE)
    # (the workspace includes every app's panel: SLA clocks and history, escalation chain and risk, KB suggestions,
    # the resolution checklist and the customer's scores; each panel costs a fixed number of queries)
    with django_assert_max_num_queries(28):  # 27 on SQLite, 28 on PostgreSQL (every panel included)
        response = other_client.get(reverse("ticket_detail", args=[ticket.reference]))
    assert response.status_code == 200
