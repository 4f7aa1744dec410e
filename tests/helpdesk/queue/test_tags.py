"""Ticket tags: the batch-first service (normalisation, refusals, idempotency, one event per change, constant
queries), the queue's "Add a tag" bulk action, the queue filter ``tag=<slug>``, the workspace's add/remove, and who
may tag what."""

from __future__ import annotations

import copy
import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from helpdesk.bulk_actions import NOT_FOUND, bulk_action_get, bulk_action_run, bulk_selection_resolve
from helpdesk.errors import Invalid
from helpdesk.models import BulkActionRun, EventKind, Tag, Ticket, TicketEvent, TicketTag
from helpdesk.queue_state import queue_query_canonical
from helpdesk.tags import TagOutcome, tickets_tag_add, tickets_tag_remove

QUEUE = reverse("ticket_list")
BULK = reverse("bulk_action")


def _copies(ticket: Ticket, n: int) -> list[Ticket]:
    """``n`` tickets like ``ticket`` in one INSERT (tagging reads nothing ``ticket_create`` adds besides the row)."""
    rows = []
    for i in range(n):
        row = copy.copy(ticket)
        row.pk = None
        row.reference = f"HD-TAG-{i:05d}"
        rows.append(row)
    return [ticket, *Ticket.objects.bulk_create(rows)]


def _hide(ticket: Ticket, teams) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(restricted=True, team=teams["compliance"])


def _events(kind=EventKind.TAGGED) -> int:
    return TicketEvent.objects.filter(kind=kind).count()


def test_a_name_is_trimmed_to_one_line_and_matched_whatever_its_case(agent, many_tickets):
    # given two tickets
    first, second = many_tickets(2)
    # when one is tagged "  Outage\n EU " and the other "OUTAGE eu"
    tickets_tag_add(tickets=[first], name="  Outage\n EU ", actor=agent)
    tickets_tag_add(tickets=[second], name="OUTAGE eu", actor=agent)
    # then there is one tag, named as first written, on both
    tag = Tag.objects.get()
    assert (tag.name, tag.slug) == ("Outage EU", "outage-eu")
    assert set(tag.tickets.values_list("pk", flat=True)) == {first.pk, second.pk}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("  \n\t ", "Give the tag a name."),
        ("x" * 41, "A tag name is at most 40 characters (this one has 41)."),
    ],
)
def test_an_empty_or_too_long_name_is_refused(agent, many_tickets, name, message):
    # given a ticket
    (ticket,) = many_tickets(1)
    # when it is tagged with an empty or too long name, then it is refused in words and nothing is written
    with pytest.raises(Invalid) as refused:
        tickets_tag_add(tickets=[ticket], name=name, actor=agent)
    assert str(refused.value) == message
    assert not Tag.objects.exists()
    assert _events() == 0


def test_two_names_with_the_same_slug_get_distinct_slugs(agent, many_tickets):
    # given a ticket tagged "C"
    (ticket,) = many_tickets(1)
    tickets_tag_add(tickets=[ticket], name="C", actor=agent)
    # when it is tagged "C++" (which slugifies to "c" too)
    tickets_tag_add(tickets=[ticket], name="C++", actor=agent)
    # then both exist with their own slug
    assert dict(Tag.objects.values_list("name", "slug")) == {"C": "c", "C++": "c-2"}


def test_adding_twice_changes_nothing_and_writes_one_event_per_ticket(agent, many_tickets):
    # given three tickets, one already tagged "vip"
    tickets = many_tickets(3)
    tickets_tag_add(tickets=[tickets[0]], name="vip", actor=agent)
    # when all three are tagged "VIP" (the first listed twice)
    results = tickets_tag_add(tickets=[tickets[0], *tickets], name="VIP", actor=agent)
    # then the first was already tagged, the two others are tagged, each ticket once
    assert [(r.ticket.pk, r.outcome) for r in results] == [
        (tickets[0].pk, TagOutcome.ALREADY_TAGGED),
        (tickets[1].pk, TagOutcome.TAGGED),
        (tickets[2].pk, TagOutcome.TAGGED),
    ]
    assert TicketTag.objects.count() == 3
    # and each ticket has exactly one internal "Tag added" event, with who did it
    events = TicketEvent.objects.filter(kind=EventKind.TAGGED)
    assert sorted(events.values_list("ticket_id", flat=True)) == sorted(t.pk for t in tickets)
    assert {(e.is_public, e.actor_id, e.data["tag"]) for e in events} == {(False, agent.pk, "vip")}
    assert TicketTag.objects.filter(ticket=tickets[1]).get().added_by == agent


def test_removing_writes_one_event_and_removing_again_none(agent, many_tickets):
    # given two tickets, one tagged "vip"
    tagged, plain = many_tickets(2)
    tickets_tag_add(tickets=[tagged], name="vip", actor=agent)
    # when "VIP" is removed from both, twice
    first = tickets_tag_remove(tickets=[tagged, plain], name="VIP", actor=agent)
    second = tickets_tag_remove(tickets=[tagged, plain], name="vip", actor=agent)
    # then it came off the tagged one once, and one "Tag removed" event was written
    assert [r.outcome for r in first] == [TagOutcome.UNTAGGED, TagOutcome.NOT_TAGGED]
    assert [r.outcome for r in second] == [TagOutcome.NOT_TAGGED, TagOutcome.NOT_TAGGED]
    assert not TicketTag.objects.exists()
    assert list(TicketEvent.objects.filter(kind=EventKind.UNTAGGED).values_list("ticket_id", flat=True)) == [tagged.pk]


def test_tagging_200_tickets_costs_constant_queries(agent, many_tickets, django_assert_max_num_queries):
    # given 200 tickets, 50 of them already tagged
    tickets = _copies(many_tickets(1)[0], 199)
    tickets_tag_add(tickets=tickets[:50], name="outage", actor=agent)
    # when all 200 are tagged: the tag (locked), the visible ids, the tagged ids, one insert of the links, one of
    # the events, and the savepoint and its release — whatever the batch size
    with django_assert_max_num_queries(7):
        results = tickets_tag_add(tickets=tickets, name="outage", actor=agent)
    # then 150 were tagged, with 150 new events
    assert sum(r.outcome == TagOutcome.TAGGED for r in results) == 150
    assert _events() == 200
    # and removing them all is as cheap
    with django_assert_max_num_queries(7):
        tickets_tag_remove(tickets=tickets, name="outage", actor=agent)
    assert _events(EventKind.UNTAGGED) == 200


def test_a_customer_cannot_tag_and_a_hidden_ticket_is_not_found(customer, agent, teams, many_tickets):
    # given a ticket the agent sees and one restricted to another team
    seen, hidden = many_tickets(2)
    _hide(hidden, teams)
    # when the customer tags their own ticket, then it is refused
    with pytest.raises(PermissionDenied) as refused:
        tickets_tag_add(tickets=[seen], name="vip", actor=customer)
    assert str(refused.value) == "Only staff can tag tickets."
    # when the agent tags both, then the hidden one is not found and untouched
    results = tickets_tag_add(tickets=[seen, hidden], name="vip", actor=agent)
    assert [r.outcome for r in results] == [TagOutcome.TAGGED, TagOutcome.NOT_FOUND]
    assert list(TicketTag.objects.values_list("ticket_id", flat=True)) == [seen.pk]
    assert not TicketEvent.objects.filter(ticket=hidden, kind=EventKind.TAGGED).exists()


def test_the_bulk_action_tags_the_batch_and_reports_per_ticket(agent, many_tickets):
    # given three tickets, one already tagged "vip"
    tickets = many_tickets(3)
    tickets_tag_add(tickets=[tickets[0]], name="vip", actor=agent)
    # when "Add a tag" runs on them
    selection = bulk_selection_resolve(actor=agent, selected={t.pk: t.version for t in tickets})
    action = bulk_action_get(user=agent, name="tag")
    run = bulk_action_run(actor=agent, action=action, selection=selection, params={"name": "vip"}, token=uuid.uuid4())
    # then each is reported, none refused, and all three carry the tag
    assert run.label == "Add the tag “vip”"
    assert (run.done_count, run.refused_count) == (3, 0)
    assert {row["reference"]: row["text"] for row in run.report["done"]} == {
        tickets[0].reference: "Already tagged “vip”.",
        tickets[1].reference: "Tagged “vip”.",
        tickets[2].reference: "Tagged “vip”.",
    }
    assert TicketTag.objects.count() == 3


def test_forged_ids_in_the_bulk_tag_post_are_refused(client, login, agent, customer, teams, many_tickets):
    # given a restricted ticket of the compliance team, invisible to the frontline agent, and one it sees
    seen, secret = many_tickets(2)
    _hide(secret, teams)
    login(agent)
    token = str(uuid.uuid4())
    # when the agent posts both ids to "Add a tag", confirmed
    response = client.post(
        BULK,
        {
            "action": "tag",
            "ticket": [f"{seen.pk}:{seen.version}", f"{secret.pk}:1"],
            "tag-name": " vip ",
            "confirm": "1",
            "token": token,
        },
    )
    # then the visible one is tagged and the secret one is listed as not found, untouched
    assert response.status_code == 302
    run = BulkActionRun.objects.get(token=token)
    assert run.report["refused"] == [{"reference": f"Ticket id {secret.pk}", "text": NOT_FOUND}]
    assert run.report["done"] == [{"reference": seen.reference, "text": "Tagged “vip”."}]
    assert list(TicketTag.objects.values_list("ticket_id", flat=True)) == [seen.pk]


def test_the_bulk_form_refuses_an_empty_name(client, login, agent, many_tickets):
    # given a ticket
    (ticket,) = many_tickets(1)
    login(agent)
    # when "Add a tag" is posted without a name
    response = client.post(
        BULK, {"action": "tag", "ticket": [f"{ticket.pk}:{ticket.version}"], "tag-name": "  ", "confirm": "1"}
    )
    # then nothing runs and nothing is tagged
    assert response.status_code == 400
    assert not BulkActionRun.objects.exists()
    assert not TicketTag.objects.exists()


def test_the_queue_filters_by_tag_and_a_saved_view_keeps_it(
    client, login, agent, many_tickets, django_assert_max_num_queries
):
    # given three tickets, two tagged "Outage EU"
    tickets = many_tickets(3)
    tickets_tag_add(tickets=tickets[:2], name="Outage EU", actor=agent)
    login(agent)
    # when the queue is filtered by the tag's slug (or its name)
    page = client.get(QUEUE, {"scope": "all", "tag": "outage-eu"}).content.decode()
    by_name = client.get(QUEUE, {"scope": "all", "tag": "outage eu"}).content.decode()
    # then only the tagged tickets are listed, each with its chip linking to the filter
    for html in (page, by_name):
        assert tickets[0].reference in html and tickets[1].reference in html
        assert tickets[2].reference not in html
    assert 'class="tag-chip" href="?tag=outage-eu"' in page
    # and a saved view (or "all matching") keeps the filter
    assert "tag=outage-eu" in queue_query_canonical(user=agent, data={"scope": "all", "tag": "outage-eu"})


def test_the_workspace_adds_and_removes_a_tag(client, login, agent, many_tickets):
    # given a ticket open in the workspace
    (ticket,) = many_tickets(1)
    login(agent)
    detail = reverse("ticket_detail", kwargs={"reference": ticket.reference})
    # when the agent adds "Billing dispute"
    response = client.post(
        reverse("ticket_tag_add", kwargs={"reference": ticket.reference}), {"name": "Billing dispute"}
    )
    # then it is shown as a chip, with the event in the timeline
    assert response.status_code == 302
    html = client.get(detail).content.decode()
    assert "Billing dispute</a>" in html
    assert 'aria-label="Remove the tag “Billing dispute”"' in html
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.TAGGED).count() == 1
    # when the agent removes it
    response = client.post(
        reverse("ticket_tag_remove", kwargs={"reference": ticket.reference}), {"name": "Billing dispute"}
    )
    # then it is gone
    assert response.status_code == 302
    assert not ticket.tags.exists()
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.UNTAGGED).count() == 1


def test_the_workspace_refuses_a_bad_name_with_a_400(client, login, agent, many_tickets):
    # given a ticket
    (ticket,) = many_tickets(1)
    login(agent)
    # when a too long name is posted, then the workspace says why
    response = client.post(reverse("ticket_tag_add", kwargs={"reference": ticket.reference}), {"name": "y" * 60})
    assert response.status_code == 400
    assert "A tag name is at most 40 characters (this one has 60)." in response.content.decode()
    assert not Tag.objects.exists()


def test_a_customer_cannot_reach_the_workspace_tag_views(client, login, customer, agent, many_tickets):
    # given the customer's own ticket
    (ticket,) = many_tickets(1)
    login(customer)
    # when they post a tag to it, then it is forbidden and nothing is written
    response = client.post(reverse("ticket_tag_add", kwargs={"reference": ticket.reference}), {"name": "vip"})
    assert response.status_code == 403
    assert not Tag.objects.exists()


def test_the_staff_api_lists_tags_and_customers_never_see_them(agent, customer, many_tickets, client):
    # given a tagged ticket
    (ticket,) = many_tickets(1)
    tickets_tag_add(tickets=[ticket], name="Outage EU", actor=agent)
    path = f"/api/tickets/{ticket.reference}/"
    # when staff and the customer read it through the API
    client.force_login(agent)
    staff = client.get(path).json()
    listed = client.get("/api/tickets/").json()
    client.force_login(customer)
    mine = client.get(path).json()
    # then staff see its tags (read-only), the customer does not
    assert staff["tags"] == ["Outage EU"]
    assert [row["tags"] for row in listed["results"]] == [["Outage EU"]]
    assert "tags" not in mine
