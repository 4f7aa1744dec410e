"""Major incidents through the services: declaring, linking (batch-first, per-ticket results), posting updates that
reach each linked ticket's customer exactly once, resolving with each choice, and holding the linked tickets."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from helpdesk.models import EventKind, Notification, NotificationChannel, NotificationKind, Status, Ticket, TicketEvent
from helpdesk.services import ticket_change_status
from incidents.models import IncidentDelivery, IncidentLink, IncidentResolution, IncidentStatus, IncidentUpdate
from incidents.services import (
    IncidentConflict,
    LinkResult,
    incident_declare,
    incident_link_tickets,
    incident_resolve,
    incident_update_deliver,
    incident_update_post,
)

pytestmark = pytest.mark.django_db


def test_an_agent_cannot_declare_an_incident(agent):
    # given / when / then
    with pytest.raises(PermissionDenied, match=r"^Only managers can declare a major incident\.$"):
        incident_declare(actor=agent, title="Down", customer_message="We are on it.")


def test_declaring_needs_a_title_and_the_customers_words(manager):
    # when
    with pytest.raises(ValidationError) as caught:
        incident_declare(actor=manager, title="  ", customer_message="")
    # then
    assert caught.value.message_dict == {
        "title": ["Give the incident a title."],
        "customer_message": ["Write what customers will be told."],
    }


def test_linking_reports_per_ticket_what_was_done_and_what_was_refused(
    declare, manager, agent, customer, make_ticket, teams
):
    # given
    incident = declare()
    other = declare(title="Billing run failed", keywords="invoice")
    fresh = make_ticket(customer, subject="Dashboard blank", category="outage")
    already = make_ticket(customer, subject="Dashboard slow", category="outage")
    elsewhere = make_ticket(customer, subject="Invoice missing")
    closed = make_ticket(customer, subject="Dashboard gone")
    hidden = make_ticket(customer, subject="Dashboard data export", category="data-privacy")
    incident_link_tickets(incident=incident, tickets=[already], actor=manager)
    incident_link_tickets(incident=other, tickets=[elsewhere], actor=manager)
    ticket_change_status(ticket=closed, actor=manager, status=Status.RESOLVED)
    Ticket.objects.filter(pk=hidden.pk).update(restricted=True, team=teams["compliance"])

    # when
    results = incident_link_tickets(incident=incident, tickets=[fresh, already, elsewhere, closed, hidden], actor=agent)

    # then
    assert [(r.ticket.pk, r.outcome, r.reason) for r in results] == [
        (fresh.pk, LinkResult.LINKED, ""),
        (already.pk, LinkResult.ALREADY_LINKED, ""),
        (elsewhere.pk, LinkResult.REFUSED, f"Already linked to another open incident, INC-{other.pk}."),
        (closed.pk, LinkResult.REFUSED, "The ticket is resolved."),
        (hidden.pk, LinkResult.REFUSED, "No such ticket."),
    ]
    assert set(IncidentLink.objects.filter(incident=incident).values_list("ticket_id", flat=True)) == {
        fresh.pk,
        already.pk,
    }
    event = TicketEvent.objects.get(ticket=fresh, kind=EventKind.INCIDENT)
    assert (event.is_public, event.body) == (False, f"Linked to major incident INC-{incident.pk}: Dashboard down")


def test_a_resolved_incident_takes_no_more_tickets(declare, manager, customer, make_ticket):
    # given
    incident = declare()
    incident_resolve(incident=incident, actor=manager, resolution=IncidentResolution.RETURN)
    ticket = make_ticket(customer, subject="Dashboard blank")
    # when / then
    with pytest.raises(IncidentConflict, match=rf"^INC-{incident.pk} is resolved: no ticket can be linked to it\.$"):
        incident_link_tickets(incident=incident, tickets=[ticket], actor=manager)


def test_an_agent_cannot_post_an_update_or_resolve(declare, agent):
    # given
    incident = declare()
    # when / then
    with pytest.raises(PermissionDenied, match=r"^Only managers can post an incident update\.$"):
        incident_update_post(incident=incident, actor=agent, message="Fixed soon.")
    with pytest.raises(PermissionDenied, match=r"^Only managers can resolve a major incident\.$"):
        incident_resolve(incident=incident, actor=agent, resolution=IncidentResolution.RESOLVE)


# What one reply costs through ``ticket_reply`` (lock, version, event, the SLA engine's listener, outbox rows and the
# recipient's visibility check; a new ticket also moves to open) plus the delivery row: measured 21 on PostgreSQL.
PER_TICKET_REPLY_QUERIES = 21


def _customer_replies(ticket):
    return list(TicketEvent.objects.filter(ticket=ticket, kind=EventKind.AGENT_REPLY, is_public=True))


def test_an_update_reaches_each_linked_customer_once_in_customer_words(declare, manager, customer, make_ticket):
    # given
    incident = declare()
    tickets = [make_ticket(customer, subject=f"Dashboard blank {i}", category="outage") for i in range(2)]
    incident_link_tickets(incident=incident, tickets=tickets, actor=manager)
    key = str(uuid.uuid4())

    # when: the form is submitted twice and the delivery runs twice
    first = incident_update_post(incident=incident, actor=manager, message="Rolling back now.", idempotency_key=key)
    second = incident_update_post(incident=incident, actor=manager, message="Rolling back now.", idempotency_key=key)
    report = incident_update_deliver(update=first)
    again = incident_update_deliver(update=first)

    # then
    assert second.pk == first.pk and IncidentUpdate.objects.count() == 1
    assert (report.delivered, report.pending, again.delivered) == (2, 0, 0)
    for ticket in tickets:
        [reply] = _customer_replies(ticket)
        assert reply.body == (
            "An update on the service problem affecting your request. We are investigating the problem.\n\n"
            "Rolling back now.\n\nWe will keep you posted here until it is fixed; there is no need to reply."
        )
        assert "INTERNAL" not in reply.body
    first.refresh_from_db()
    assert first.delivered_at is not None


def test_a_closed_ticket_is_skipped_and_recorded(declare, manager, customer, make_ticket):
    # given
    incident = declare()
    ticket = make_ticket(customer, subject="Dashboard blank", category="outage")
    incident_link_tickets(incident=incident, tickets=[ticket], actor=manager)
    ticket_change_status(ticket=ticket, actor=manager, status=Status.RESOLVED)
    ticket_change_status(ticket=ticket, actor=manager, status=Status.CLOSED)
    update = incident_update_post(incident=incident, actor=manager, message="Fixed.")
    # when
    report = incident_update_deliver(update=update)
    # then
    assert (report.delivered, report.skipped) == (0, 1)
    assert IncidentDelivery.objects.get().skipped == "The ticket is closed: the customer opens a new request."
    assert _customer_replies(ticket) == []


def test_300_linked_tickets_one_update_reaches_300_customers_exactly_once(
    declare, manager, many_customers, outage_tickets, django_assert_max_num_queries
):
    # given: 300 customers, each with a ticket about the outage
    incident = declare()
    customers = many_customers(300)
    tickets = outage_tickets(customers)

    # when: linked in one batch: a constant number of queries plus the timeline event of each ticket
    with django_assert_max_num_queries(10 + 300):
        results = incident_link_tickets(incident=incident, tickets=tickets, actor=manager)
    assert {r.outcome for r in results} == {LinkResult.LINKED}
    update = incident_update_post(
        incident=incident, actor=manager, message="We are rolling back.", idempotency_key=str(uuid.uuid4())
    )
    # the reply service per ticket (lock, version, event, its SLA listener and the outbox): a constant number each,
    # plus a few per batch of 50 (its transaction)
    with django_assert_max_num_queries(10 + 3 * 300 // 50 + PER_TICKET_REPLY_QUERIES * 300):
        report = incident_update_deliver(update=update)
    rerun = incident_update_deliver(update=update)

    # then
    assert (report.delivered, report.skipped, report.pending, rerun.delivered) == (300, 0, 0, 0)
    assert IncidentDelivery.objects.filter(update=update).count() == 300
    emails = Notification.objects.filter(kind=NotificationKind.AGENT_REPLY, channel=NotificationChannel.EMAIL)
    assert sorted(emails.values_list("recipient_id", flat=True)) == sorted(c.pk for c in customers)
    assert TicketEvent.objects.filter(kind=EventKind.AGENT_REPLY, ticket__in=tickets).count() == 300


def test_acknowledging_holds_the_linked_tickets_and_resolving_resolves_them(declare, manager, customer, make_ticket):
    # given
    incident = declare()
    new = make_ticket(customer, subject="Dashboard blank", category="outage")
    incident_link_tickets(incident=incident, tickets=[new], actor=manager)

    # when: acknowledged (identified), then resolved with "resolve"
    incident_update_post(incident=incident, actor=manager, message="Found it.", status=IncidentStatus.IDENTIFIED)
    new.refresh_from_db()
    held = new.status
    results = incident_resolve(
        incident=incident, actor=manager, resolution=IncidentResolution.RESOLVE, message="All fixed."
    )

    # then
    assert held == Status.PENDING_THIRD_PARTY
    assert [r.outcome for r in results] == ["Resolved."]
    new.refresh_from_db()
    incident.refresh_from_db()
    assert (new.status, incident.status, incident.resolution) == (Status.RESOLVED, "resolved", "resolve")
    link = IncidentLink.objects.get()
    assert (link.previous_status, link.released_at is not None) == (Status.NEW, True)
    assert incident.updates.filter(status=IncidentStatus.RESOLVED).count() == 1


def test_resolving_with_return_brings_tickets_back_to_their_previous_status(
    declare, manager, agent, customer, make_ticket
):
    # given: an open ticket and one waiting on the customer, held by an acknowledged incident
    incident = declare(status=IncidentStatus.IDENTIFIED)
    opened = make_ticket(customer, subject="Dashboard blank", category="outage")
    waiting = make_ticket(customer, subject="Dashboard slow", category="outage")
    ticket_change_status(ticket=opened, actor=agent, status=Status.OPEN)
    ticket_change_status(ticket=waiting, actor=agent, status=Status.PENDING_CUSTOMER)
    incident_link_tickets(incident=incident, tickets=[opened, waiting], actor=agent)
    assert set(Ticket.objects.filter(pk__in=[opened.pk, waiting.pk]).values_list("status", flat=True)) == {
        Status.PENDING_THIRD_PARTY
    }

    # when
    results = incident_resolve(incident=incident, actor=manager, resolution=IncidentResolution.RETURN)

    # then
    assert [r.outcome for r in results] == ["Returned to open.", "Returned to waiting on customer."]
    assert dict(Ticket.objects.filter(pk__in=[opened.pk, waiting.pk]).values_list("pk", "status")) == {
        opened.pk: Status.OPEN,
        waiting.pk: Status.PENDING_CUSTOMER,
    }
    assert list(
        TicketEvent.objects.filter(ticket=opened, kind=EventKind.INCIDENT).values_list("data__action", flat=True)
    ) == ["linked", "released"]
