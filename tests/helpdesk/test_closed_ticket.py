"""A closed request, as the customer sees it: a reply reopens it within the plan's reopen window (through the real
service and its status guards); after the window the page offers a new request that names the old one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from helpdesk import guards, services
from helpdesk.models import EventKind, Status, Ticket


@pytest.fixture
def closed_ticket(customer, agent, make_ticket):
    """A ticket resolved and closed by the agent (not escalated, so no RCA is needed)."""

    def make(*, resolved_days_ago: int = 0):
        ticket = make_ticket(customer, subject="Invoice missing")
        services.ticket_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
        services.ticket_change_status(ticket=ticket, actor=agent, status=Status.CLOSED)
        if resolved_days_ago:
            Ticket.objects.filter(pk=ticket.pk).update(resolved_at=timezone.now() - timedelta(days=resolved_days_ago))
        ticket.refresh_from_db()
        return ticket

    return make


def test_plans_have_a_fourteen_day_reopen_window_by_default(plans):
    assert {plan.reopen_window_days for plan in plans.values()} == {14}


def test_within_the_window_the_closed_page_has_a_reply_box_that_reopens(client, login, customer, closed_ticket):
    # given a request closed today
    ticket = closed_ticket()
    login(customer)
    # when the customer opens it
    page = client.get(f"/tickets/{ticket.reference}/").content.decode()
    # then it offers a reply box that says it reopens the request, and no new-request link
    assert "Reply to reopen this request" in page
    assert f'action="/tickets/{ticket.reference}/reply/"' in page
    assert "?follow_up=" not in page
    # when the customer replies
    response = client.post(f"/tickets/{ticket.reference}/reply/", {"body": "Still no invoice, sorry."})
    # then the real service reopened it, recording who and from where
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.closed_at, ticket.resolved_at) == (Status.OPEN, None, None)
    change = ticket.events.filter(kind=EventKind.STATUS_CHANGED).latest("id")
    assert (change.actor, change.data["from"], change.data["to"]) == (customer, Status.CLOSED, Status.OPEN)
    assert ticket.events.filter(kind=EventKind.CUSTOMER_MESSAGE, body="Still no invoice, sorry.").exists()


def test_after_the_window_the_closed_page_offers_a_new_request_naming_the_old_one(
    client, login, customer, closed_ticket
):
    # given a request resolved 15 days ago (the window is 14)
    ticket = closed_ticket(resolved_days_ago=15)
    login(customer)
    # when the customer opens it
    page = client.get(f"/tickets/{ticket.reference}/").content.decode()
    # then there is no reply box, but a link to a new request that names this one
    assert f'action="/tickets/{ticket.reference}/reply/"' not in page
    assert "This request is closed." in page
    assert f'href="/tickets/new/?follow_up={ticket.reference}"' in page
    assert "just reply" not in page and "pick it up again" not in page
    new_form = client.get(f"/tickets/new/?follow_up={ticket.reference}").content.decode()
    assert f'value="Follow-up to {ticket.reference}: Invoice missing"' in new_form
    assert f"This follows my earlier request {ticket.reference}." in new_form
    # and a reply posted anyway is refused with a clear message, changing nothing
    response = client.post(f"/tickets/{ticket.reference}/reply/", {"body": "Hello?"})
    assert response.status_code == 400
    assert "This ticket is closed. Please open a new request." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert not ticket.events.filter(kind=EventKind.CUSTOMER_MESSAGE, body="Hello?").exists()


def test_the_window_is_the_plans(customer, org, closed_ticket):
    # given a plan whose window is 3 days and a request resolved 4 days ago
    org.plan.reopen_window_days = 3
    org.plan.save(update_fields=["reopen_window_days"])
    ticket = closed_ticket(resolved_days_ago=4)
    # when the customer replies
    with pytest.raises(ValidationError) as exc:
        services.ticket_reply(ticket=ticket, author=customer, body="One more thing")
    # then it is refused
    assert exc.value.message_dict == {"body": ["This ticket is closed. Please open a new request."]}
    # and inside the window (2 days ago) it reopens
    Ticket.objects.filter(pk=ticket.pk).update(resolved_at=timezone.now() - timedelta(days=2))
    ticket.refresh_from_db()
    services.ticket_reply(ticket=ticket, author=customer, body="One more thing")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_the_reopen_runs_the_status_guards_and_a_refusal_writes_nothing(customer, closed_ticket, monkeypatch):
    # given a guard that refuses every reopening
    def refuse(*, ticket, status, actor):
        if status == Status.OPEN:
            raise ValidationError({"status": ["Reopening is frozen for the audit."]})

    monkeypatch.setitem(guards._GUARDS, "test.refuse_reopen", refuse)
    ticket = closed_ticket()
    before = (ticket.version, ticket.events.count())
    # when the customer replies inside the window
    with pytest.raises(ValidationError) as exc:
        services.ticket_reply(ticket=ticket, author=customer, body="Still broken")
    # then the guard's refusal comes back and nothing was written
    assert exc.value.message_dict == {"status": ["Reopening is frozen for the audit."]}
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version, ticket.events.count()) == (Status.CLOSED, *before)


def test_only_the_customer_reopens_a_closed_ticket(customer, agent, closed_ticket):
    # given a request closed today
    ticket = closed_ticket()
    # when staff reply or move it back to open
    with pytest.raises(ValidationError) as reply:
        services.ticket_reply(ticket=ticket, author=agent, body="Any news?")
    with pytest.raises(services.InvalidTransition) as move:
        services.ticket_change_status(ticket=ticket, actor=agent, status=Status.OPEN)
    # then both are refused: closed stays closed for staff
    assert reply.value.message_dict == {"body": ["This ticket is closed. Please open a new request."]}
    assert move.value.messages == ["A ticket cannot go from “Closed” to “Open”."]


def test_the_customer_api_reply_reopens_within_the_window(client, login, customer, closed_ticket):
    # given a request closed today
    ticket = closed_ticket()
    login(customer)
    # when the customer replies through the API
    response = client.post(
        f"/api/tickets/{ticket.reference}/replies/", {"body": "Reopen please"}, content_type="application/json"
    )
    # then it is reopened by the same service
    assert response.status_code == 201, response.content
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
