"""Bulk actions: the selection is resolved server-side through tickets_visible_to and the queue's own filter; each
ticket goes through the existing service in its own savepoint; the report lists per ticket what was done and what
was refused and why; a bulk reply reaches each customer once, through the outbox."""

from __future__ import annotations

import copy
import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpdesk import guards, services
from helpdesk.bulk_actions import (
    NOT_FOUND,
    BulkAction,
    BulkParamsForm,
    bulk_action_get,
    bulk_action_register,
    bulk_action_run,
    bulk_selection_resolve,
    parse_selected,
)
from helpdesk.errors import Invalid
from helpdesk.models import (
    BulkActionRun,
    EventKind,
    Notification,
    NotificationChannel,
    NotificationKind,
    Priority,
    Status,
    Ticket,
    TicketEvent,
)

BULK = reverse("bulk_action")
# A bulk assign's queries, whatever the number of tickets: the selection (2), the run's record (3), 8 savepoint
# statements, then the service: the membership check, one row lock, who changed the conflicted tickets, one UPDATE,
# one INSERT of the events, the notified assignee's visibility (2) and one INSERT into the outbox.
BULK_ASSIGN_QUERIES = 21


def _run(actor, name, tickets, params, *, versions=None, extra_ids=()):
    selected = {t.pk: (versions or {}).get(t.pk, t.version) for t in tickets} | dict.fromkeys(extra_ids)
    selection = bulk_selection_resolve(actor=actor, selected=selected)
    action = bulk_action_get(user=actor, name=name)
    return bulk_action_run(actor=actor, action=action, selection=selection, params=params, token=uuid.uuid4())


def _copies(ticket: Ticket, n: int, *, prefix: str = "HD-BULK") -> list[Ticket]:
    """``n`` tickets like ``ticket`` (built by the service) in one INSERT: 500 service-built tickets would cost the
    suite a minute, and assigning reads nothing that ``ticket_create`` adds besides the row."""
    rows = []
    for i in range(n):
        row = copy.copy(ticket)
        row.pk = None
        row.reference = f"{prefix}-{i:05d}"
        row.subject = f"Outage report {i}"
        rows.append(row)
    return [ticket, *Ticket.objects.bulk_create(rows)]


def _refused(run) -> dict[str, str]:
    return {row["reference"]: row["text"] for row in run.report["refused"]}


def test_500_tickets_assigned_in_one_action_with_the_refused_ones_listed(
    agent, agent2, teams, customer, many_tickets, make_ticket, django_assert_max_num_queries
):
    # given 500 tickets the agent sees, two of which a colleague changed after the agent loaded the queue,
    # and two forged ids of restricted tickets of a team the agent is not in
    tickets = _copies(many_tickets(1)[0], 499)
    seen = {t.pk: t.version for t in tickets}
    for changed in tickets[10:12]:
        services.ticket_change_priority(ticket=changed, actor=agent2, priority=Priority.HIGH)
    hidden = [make_ticket(customer, subject="Data request", category="data-privacy") for _ in range(2)]
    Ticket.objects.filter(pk__in=[t.pk for t in hidden]).update(restricted=True, team=teams["compliance"])
    # when the agent assigns them all to agent2 in one action: set-based, a constant number of queries whatever
    # the number of tickets (see the next test)
    with django_assert_max_num_queries(BULK_ASSIGN_QUERIES):
        run = _run(
            agent,
            "assign",
            tickets,
            {"team": teams["frontline"], "assignee": agent2},
            versions=seen,
            extra_ids=[t.pk for t in hidden],
        )
    # then 498 are assigned, and the four others are listed with the reason
    assert (run.done_count, run.refused_count) == (498, 4)
    assert Ticket.objects.filter(assignee=agent2).count() == 498
    refused = _refused(run)
    conflict = (
        "This ticket was changed by Jordan Lee while you were editing it. "
        "Nothing of yours was saved: review the current state and try again."
    )
    assert refused == {
        tickets[10].reference: conflict,
        tickets[11].reference: conflict,
        f"Ticket id {hidden[0].pk}": NOT_FOUND,
        f"Ticket id {hidden[1].pk}": NOT_FOUND,
    }
    assert run.report["done"][0]["text"] == "Assigned to Frontline · Jordan Lee."
    # and the refused and the hidden tickets are untouched
    assert not Ticket.objects.filter(pk__in=[tickets[10].pk, tickets[11].pk, *(t.pk for t in hidden)], assignee=agent2)
    assert TicketEvent.objects.filter(kind=EventKind.ASSIGNED, ticket_id__in=[t.pk for t in hidden]).count() == 0


def _assign_queries(agent, agent2, teams, customer, make_ticket, n: int) -> int:
    tickets = _copies(make_ticket(customer, subject="Outage"), n - 1, prefix=f"HD-Q{n}")
    seen = {t.pk: t.version for t in tickets}
    services.ticket_change_priority(ticket=tickets[1], actor=agent2, priority=Priority.HIGH)  # a conflict
    hidden = make_ticket(customer, subject="Data request", category="data-privacy")
    Ticket.objects.filter(pk=hidden.pk).update(restricted=True, team=teams["compliance"])
    with CaptureQueriesContext(connection) as ctx:
        run = _run(
            agent,
            "assign",
            tickets,
            {"team": teams["frontline"], "assignee": agent2},
            versions=seen,
            extra_ids=[hidden.pk],
        )
    assert (run.done_count, run.refused_count) == (n - 1, 2)
    return len(ctx.captured_queries)


def test_a_bulk_assign_costs_the_same_queries_for_10_tickets_as_for_100(agent, agent2, teams, customer, make_ticket):
    # given 10, then 100 tickets, each batch with one conflict and one forged id
    # when each batch is assigned in one action
    small = _assign_queries(agent, agent2, teams, customer, make_ticket, 10)
    large = _assign_queries(agent, agent2, teams, customer, make_ticket, 100)
    # then both cost the same (and the bound the 500-ticket test uses)
    assert small == large
    assert large <= BULK_ASSIGN_QUERIES


def _assignment_trace(ticket: Ticket) -> tuple:
    """What an assignment leaves behind, with the ticket's own reference taken out so two tickets compare."""
    ticket.refresh_from_db()
    events = [
        (e.kind, e.actor_id, e.is_public, e.data)
        for e in TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ASSIGNED).order_by("id")
    ]
    notifications = sorted(
        (
            n.kind,
            n.channel,
            n.recipient_id,
            n.status,
            n.subject.replace(ticket.reference, "REF"),
            n.body,
            n.url.replace(ticket.reference, "REF"),
            n.to_address,
        )
        for n in Notification.objects.filter(ticket=ticket, kind=NotificationKind.TICKET_ASSIGNED)
    )
    return (ticket.team_id, ticket.assignee_id, ticket.tier, ticket.version, events, notifications)


def test_single_assign_and_bulk_assign_leave_the_same_events_and_notifications(agent, agent2, teams, many_tickets):
    # given two tickets in the same state
    one, other = many_tickets(2)
    Ticket.objects.filter(pk=other.pk).update(subject=one.subject)
    other.refresh_from_db()
    # when one is assigned from the workspace's service and the other by the bulk action
    services.ticket_assign(
        ticket=one, actor=agent, team=teams["technical"], assignee=None, expected_version=one.version
    )
    services.ticket_assign(ticket=one, actor=agent, team=teams["frontline"], assignee=agent2)
    _run(agent, "assign", [other], {"team": teams["technical"], "assignee": None})
    other.refresh_from_db()
    _run(agent, "assign", [other], {"team": teams["frontline"], "assignee": agent2})
    # then they carry the same assignment, version, events and outbox rows (the assignee told in-app only)
    trace = _assignment_trace(one)
    assert trace == _assignment_trace(other)
    assert [e[3]["to"] for e in trace[4]] == [None, "Jordan Lee"]
    assert [(n[0], n[1], n[2]) for n in trace[5]] == [
        (NotificationKind.TICKET_ASSIGNED, NotificationChannel.IN_APP, agent2.pk)
    ]


def test_the_single_assign_is_the_batch_of_one(agent, agent2, teams, many_tickets, monkeypatch):
    # given the batch service watched
    calls = []
    batch = services.ticket_assign_many
    monkeypatch.setattr(services, "ticket_assign_many", lambda **kw: calls.append(kw) or batch(**kw))
    (ticket,) = many_tickets(1)
    # when the single service assigns a ticket, then a stale version is refused in the batch's words
    services.ticket_assign(ticket=ticket, actor=agent, team=teams["frontline"], assignee=agent2)
    with pytest.raises(services.TicketConflict, match="changed by Alex Morgan"):
        services.ticket_assign(
            ticket=ticket, actor=agent2, team=teams["frontline"], assignee=None, expected_version=ticket.version - 1
        )
    # then both went through the batch service with that one ticket
    assert [[t.pk for t in call["tickets"]] for call in calls] == [[ticket.pk], [ticket.pk]]


def test_a_status_change_reports_the_guards_and_the_state_machine_per_ticket(
    agent, customer, config, escalate, many_tickets
):
    # given three tickets: one plain, one escalated (its resolution checklist is not complete), one closed
    plain, escalated, closed = many_tickets(3)
    escalate(escalated, agent)
    services.ticket_change_status(ticket=closed, actor=agent, status=Status.RESOLVED)
    services.ticket_change_status(ticket=closed, actor=agent, status=Status.CLOSED)
    for t in (plain, escalated, closed):
        t.refresh_from_db()
    # when the agent resolves all three in bulk
    run = _run(agent, "status", [plain, escalated, closed], {"status": Status.RESOLVED})
    # then the plain one is resolved and the two others are refused with the services' words
    plain.refresh_from_db()
    assert plain.status == Status.RESOLVED
    refused = _refused(run)
    assert refused[closed.reference] == "A ticket cannot go from “Closed” to “Resolved”."
    assert refused[escalated.reference].startswith(
        "No resolution summary yet: record what was done to fix the problem. "
        "The customer has not been sent the resolution"
    )
    escalated.refresh_from_db()
    assert escalated.status != Status.RESOLVED


def test_a_permission_refusal_from_a_guard_is_reported_and_undoes_nothing_else(agent, many_tickets):
    # given a status guard that refuses a pending status on urgent tickets to anyone but tier 3
    first, urgent = many_tickets(2)
    services.ticket_change_priority(ticket=urgent, actor=agent, priority=Priority.URGENT)
    urgent.refresh_from_db()

    def tier3_only_for_urgent(*, ticket, status, actor):
        if ticket.priority == Priority.URGENT and status == Status.PENDING_CUSTOMER and not actor.is_tier3:
            raise PermissionDenied("Only a manager may park an urgent ticket.")

    guards.status_guard_register(name="test-urgent", guard=tier3_only_for_urgent)
    try:
        # when the agent parks both
        run = _run(agent, "status", [first, urgent], {"status": Status.PENDING_CUSTOMER})
    finally:
        guards._GUARDS.pop("test-urgent")
    # then the first is parked and the urgent one refused, unchanged
    assert _refused(run) == {urgent.reference: "Only a manager may park an urgent ticket."}
    assert run.report["done"] == [{"reference": first.reference, "text": "Status set to “Waiting on customer”."}]
    urgent.refresh_from_db()
    assert (urgent.status, urgent.version) == (Status.NEW, 2)


def test_priority_and_category_changes_write_one_event_each(agent, categories, many_tickets):
    # given two tickets, one already high priority
    a, b = many_tickets(2)
    services.ticket_change_priority(ticket=b, actor=agent, priority=Priority.HIGH)
    b.refresh_from_db()
    # when the priority of both is set to high, then their category to Outage
    run = _run(agent, "priority", [a, b], {"priority": Priority.HIGH})
    a.refresh_from_db()
    b.refresh_from_db()
    moved = _run(agent, "category", [a, b], {"category": categories["outage"]})
    # then each says what it did, and only real changes were recorded
    assert [row["text"] for row in run.report["done"]] == ["Priority set to High.", "Already High."]
    assert [row["text"] for row in moved.report["done"]] == ["Category set to Outage."] * 2
    assert TicketEvent.objects.filter(kind=EventKind.PRIORITY_CHANGED).count() == 2
    assert TicketEvent.objects.filter(kind=EventKind.CATEGORY_CHANGED).count() == 2
    assert set(Ticket.objects.values_list("category__slug", flat=True)) == {"outage"}


def test_all_matching_is_the_queues_own_list_and_never_reaches_an_invisible_ticket(
    client, login, agent, customer, teams, make_ticket
):
    # given tickets the agent sees and a restricted ticket of another team matching the same words
    seen = [make_ticket(customer, subject=f"Router down {i}") for i in range(3)]
    other = make_ticket(customer, subject="Router down secret", category="data-privacy")
    Ticket.objects.filter(pk=other.pk).update(restricted=True, team=teams["compliance"])
    make_ticket(customer, subject="Something else")
    query = QueryDict("scope=all&q=router&sort=oldest")
    # when the selection "all matching" is resolved for that filter
    selection = bulk_selection_resolve(actor=agent, selected=None, query=query)
    # then it is exactly what the queue page lists for the same URL, in the same order
    login(agent)
    page = client.get(reverse("ticket_list") + "?" + query.urlencode())
    assert [t.reference for t in selection.tickets] == [t.reference for t in page.context["page"].object_list]
    assert [t.pk for t in selection.tickets] == [t.pk for t in seen]


def test_forged_ids_in_a_post_are_refused_as_not_found(client, login, agent, customer, teams, make_ticket):
    # given a restricted ticket of the compliance team, invisible to the frontline agent
    secret = make_ticket(customer, subject="Data request", category="data-privacy")
    Ticket.objects.filter(pk=secret.pk).update(restricted=True, team=teams["compliance"])
    login(agent)
    token = str(uuid.uuid4())
    # when the agent posts its id anyway, confirmed
    response = client.post(
        BULK,
        {
            "action": "priority",
            "ticket": [f"{secret.pk}:1"],
            "priority-priority": Priority.URGENT,
            "confirm": "1",
            "token": token,
        },
    )
    # then the run lists it as not found and it is untouched
    run = BulkActionRun.objects.get(token=token)
    assert response.status_code == 302
    assert response["Location"] == reverse("bulk_action_report", kwargs={"pk": run.pk})
    assert run.report == {"done": [], "refused": [{"reference": f"Ticket id {secret.pk}", "text": NOT_FOUND}]}
    secret.refresh_from_db()
    assert secret.priority == Priority.NORMAL
    # and the report page names nothing of the ticket
    page = client.get(response["Location"])
    assert secret.reference not in page.content.decode()


def test_a_customer_cannot_run_bulk_actions_and_nobody_reads_anothers_report(
    client, login, customer, agent, agent2, many_tickets
):
    # given a run by agent
    tickets = many_tickets(1)
    run = _run(agent, "priority", tickets, {"priority": Priority.LOW})
    # when a customer posts a bulk action, and agent2 opens agent's report
    login(customer)
    refused = client.post(BULK, {"action": "priority", "ticket": [str(tickets[0].pk)]})
    login(agent2)
    other = client.get(reverse("bulk_action_report", kwargs={"pk": run.pk}))
    # then the first is forbidden and the second not found
    assert refused.status_code == 403
    assert other.status_code == 404


def test_the_selection_is_validated(agent, many_tickets, monkeypatch):
    # given / when / then: a tampered checkbox value, an invalid filter, an empty and a too large selection are refused
    with pytest.raises(Invalid) as bad:
        parse_selected(["12:x"])
    assert bad.value.message == "The selection is not valid: reload the queue and select the tickets again."
    with pytest.raises(Invalid) as sort:
        bulk_selection_resolve(actor=agent, selected=None, query=QueryDict("sort=created_at;drop"))
    assert sort.value.message.startswith("The queue filter is not valid (Sort by: Select a valid choice.")
    with pytest.raises(Invalid) as empty:
        bulk_selection_resolve(actor=agent, selected={})
    assert empty.value.message == "No tickets selected."
    monkeypatch.setattr("helpdesk.bulk_actions.BULK_MAX_TICKETS", 1)
    many_tickets(2)
    with pytest.raises(Invalid) as large:
        bulk_selection_resolve(actor=agent, selected=None, query=QueryDict("scope=all"))
    assert large.value.message == "A bulk action takes at most 1 tickets; this selection has more. Narrow the filter."


def test_bulk_reply_reaches_each_customer_once_through_the_outbox(
    client, login, agent, customer, customer2, make_ticket, reply_template
):
    # given three tickets of two customers, one of them closed, and a general template
    first = make_ticket(customer, subject="Outage A")
    second = make_ticket(customer2, subject="Outage B")
    closed = make_ticket(customer, subject="Outage C")
    services.ticket_change_status(ticket=closed, actor=agent, status=Status.RESOLVED)
    services.ticket_change_status(ticket=closed, actor=agent, status=Status.CLOSED)
    template = reply_template()
    login(agent)
    token = str(uuid.uuid4())
    form = {
        "action": "reply",
        "ticket": [str(first.pk), str(second.pk), str(closed.pk)],
        "reply-template": str(template.pk),
        "confirm": "1",
        "token": token,
    }
    # when the agent confirms the bulk reply, and the form is then submitted a second time
    client.post(BULK, form)
    again = client.post(BULK, form)
    # then each open ticket got one public reply, rendered for its customer, and one email to its customer
    run = BulkActionRun.objects.get(token=token)
    assert again["Location"] == reverse("bulk_action_report", kwargs={"pk": run.pk})
    assert (run.done_count, run.refused_count) == (2, 1)
    assert _refused(run) == {closed.reference: "This ticket is closed. Please open a new request."}
    replies = TicketEvent.objects.filter(kind=EventKind.AGENT_REPLY).order_by("ticket_id")
    assert [(e.ticket_id, e.body) for e in replies] == [
        (first.pk, f"Hello Dana, we are on it ({first.reference})."),
        (second.pk, f"Hello Sam, we are on it ({second.reference})."),
    ]
    emails = Notification.objects.filter(kind=NotificationKind.AGENT_REPLY, channel=NotificationChannel.EMAIL)
    assert sorted((n.ticket_id, n.recipient_id) for n in emails) == [(first.pk, customer.pk), (second.pk, customer2.pk)]


def test_a_template_for_another_category_is_refused_per_ticket(agent, many_tickets, reply_template):
    # given a billing ticket and an outage-only template
    tickets = many_tickets(1, category="billing")
    template = reply_template(name="Outage only", category="outage")
    # when the agent replies with it in bulk
    run = _run(agent, "reply", tickets, {"template": template})
    # then it is refused with why
    assert _refused(run) == {tickets[0].reference: "The template “Outage only” is for Outage tickets, not this one."}
    assert not TicketEvent.objects.filter(kind=EventKind.AGENT_REPLY).exists()


def test_another_app_plugs_in_a_batch_action(agent, many_tickets, customer, teams, make_ticket):
    # given an action registered by another app, with a set-based batch run
    seen_by_run: list[int] = []

    def link_all(*, tickets, versions, actor, params):
        from helpdesk.bulk_actions import TicketOutcome

        seen_by_run.extend(t.pk for t in tickets)
        return [TicketOutcome(t.pk, t.reference, True, "Linked.") for t in tickets]

    bulk_action_register(
        BulkAction(
            name="test-link",
            label="Link",
            form_class=BulkParamsForm,
            run=link_all,
            describe=lambda p: "Link",
        )
    )
    tickets = many_tickets(2)
    secret = make_ticket(customer, category="data-privacy")
    Ticket.objects.filter(pk=secret.pk).update(restricted=True, team=teams["compliance"])
    try:
        # when the agent runs it over two visible tickets and a forged id
        run = _run(agent, "test-link", tickets, {}, extra_ids=[secret.pk])
    finally:
        from helpdesk import bulk_actions

        bulk_actions._ACTIONS.pop("test-link")
    # then the batch saw only the visible tickets, and the forged id is reported
    assert seen_by_run == [t.pk for t in tickets]
    assert (run.done_count, run.refused_count) == (2, 1)
