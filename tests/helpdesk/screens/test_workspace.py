"""The agent workspace: reply templates (with and without JavaScript), internal notes, properties, the customer's
other tickets, attachments, presence, and collision detection through the views with two agents."""

from __future__ import annotations

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from helpdesk import services
from helpdesk.models import EventKind, Status, TicketEvent, TicketPresence


def _url(ticket, name="ticket_detail"):
    return reverse(name, args=[ticket.reference])


def test_template_query_parameter_prefills_the_reply(client, login, agent, customer, make_ticket, reply_template):
    # given a billing ticket and a billing template that uses variables
    ticket = make_ticket(customer, subject="Charged twice", category="billing")
    template = reply_template(body="Hello {{customer_first_name}}, about {{ticket_reference}}: {{agent_name}} here.")
    login(agent)
    # when the agent picks it (a plain GET, so it works with JavaScript off)
    response = client.get(_url(ticket), {"template": template.pk})
    # then the reply box holds the rendered text and the template id
    form = response.context["reply_form"]
    assert form.initial["body"] == f"Hello Dana, about {ticket.reference}: Alex Morgan here."
    assert form.initial["template_id"] == template.pk
    assert f"Hello Dana, about {ticket.reference}: Alex Morgan here.</textarea>" in response.content.decode()


def test_templates_are_offered_per_category(client, login, agent, customer, make_ticket, reply_template):
    # given templates for billing, for outage and a general one
    ticket = make_ticket(customer, category="billing")
    billing = reply_template(name="Refund", category="billing")
    outage = reply_template(name="Outage update", category="outage")
    general = reply_template(name="Thanks", category=None)
    login(agent)
    # when the agent opens a billing ticket, or asks for the outage template by id
    response = client.get(_url(ticket), {"template": outage.pk})
    # then only billing and general templates are offered, and another category's id is ignored
    assert {t.pk for t in response.context["reply_templates"]} == {billing.pk, general.pk}
    assert response.context["chosen_template"] is None
    assert response.context["reply_form"].initial.get("body") is None


def test_reply_with_template_records_it_and_the_customer_sees_it(
    client, login, agent, customer, make_ticket, reply_template, other_client
):
    # given a ticket and a template
    ticket = make_ticket(customer)
    template = reply_template()
    login(agent)
    # when the agent sends the reply pre-filled from the template
    response = client.post(
        _url(ticket, "ticket_reply"),
        {"body": "Hello Dana, your refund is on its way.", "version": ticket.version, "template_id": template.pk},
    )
    # then the public reply is recorded with the template, the ticket opens, and the customer sees it
    assert response.status_code == 302
    event = TicketEvent.objects.get(ticket=ticket, kind=EventKind.AGENT_REPLY)
    assert event.data == {"template_id": template.pk}
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    login(customer, other_client)
    assert "your refund is on its way" in other_client.get(_url(ticket)).content.decode()


def test_internal_note_is_shown_to_staff_and_hidden_from_the_customer(
    client, login, agent, customer, make_ticket, other_client
):
    # given a ticket
    ticket = make_ticket(customer)
    login(agent)
    # when the agent adds an internal note
    response = client.post(_url(ticket, "ticket_note"), {"body": "Customer sounds upset; check invoice 42."})
    # then staff see it marked internal and the customer never does
    assert response.status_code == 302
    staff_page = client.get(_url(ticket)).content.decode()
    assert "Customer sounds upset; check invoice 42." in staff_page
    assert "event-internal" in staff_page
    login(customer, other_client)
    assert "check invoice 42" not in other_client.get(_url(ticket)).content.decode()


def test_property_controls_change_status_priority_and_assignee(
    client, login, agent, agent2, customer, teams, make_ticket
):
    # given a new ticket
    ticket = make_ticket(customer)
    login(agent)
    # when the agent saves the property form
    response = client.post(
        _url(ticket, "ticket_update"),
        {
            "version": ticket.version,
            "status": Status.OPEN,
            "priority": "high",
            "category": ticket.category_id,
            "team": teams["frontline"].pk,
            "assignee": agent2.pk,
        },
        follow=True,
    )
    # then each change is saved and said
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == (Status.OPEN, "high", agent2)
    assert "Saved: priority, assignment, status." in response.content.decode()


def test_illegal_status_move_is_an_error_next_to_the_form(client, login, agent, customer, teams, make_ticket):
    # given a new ticket
    ticket = make_ticket(customer)
    login(agent)
    # when the agent tries to close it straight away
    response = client.post(
        _url(ticket, "ticket_update"),
        {"version": ticket.version, "status": Status.CLOSED, "priority": "normal", "team": teams["frontline"].pk},
    )
    # then the state machine refuses with a clear message
    assert response.status_code == 400
    assert "A ticket cannot go from “New” to “Closed”." in response.content.decode()


def test_workspace_lists_other_tickets_and_attachments(client, login, agent, customer, make_ticket):
    # given a customer with two tickets, one with an attachment
    older = make_ticket(customer, subject="Older issue")
    upload = SimpleUploadedFile("invoice.txt", b"invoice 42", content_type="text/plain")
    ticket = make_ticket(customer, subject="Newer issue", files=[upload])
    login(agent)
    # when the agent opens the newer ticket
    response = client.get(_url(ticket))
    # then the older ticket and the file are listed
    assert [t.reference for t in response.context["other_tickets"]] == [older.reference]
    assert [a.original_name for a in response.context["attachments"]] == ["invoice.txt"]


def test_second_agent_saving_a_stale_form_gets_changed_by_and_the_new_state(
    client, login, agent, agent2, customer, teams, make_ticket, other_client
):
    # given two agents who opened the same ticket at the same version
    ticket = make_ticket(customer)
    login(agent)
    login(agent2, other_client)
    seen = other_client.get(_url(ticket)).context["update_form"].initial["version"]
    base = {"category": ticket.category_id, "team": teams["frontline"].pk}
    # when the first saves a change, then the second saves from the stale form
    first = client.post(
        _url(ticket, "ticket_update"), {**base, "version": seen, "status": Status.OPEN, "priority": "urgent"}
    )
    second = other_client.post(
        _url(ticket, "ticket_update"),
        {**base, "version": seen, "status": Status.PENDING_CUSTOMER, "priority": "low", "assignee": agent2.pk},
    )
    # then the second is told who changed it, sees the current state, and nothing of theirs was written
    assert first.status_code == 302
    assert second.status_code == 409
    content = second.content.decode()
    assert "This ticket was changed by Alex Morgan while you were editing it." in content
    assert "Now: Open · Urgent priority · unassigned (Frontline)." in content
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == (Status.OPEN, "urgent", None)
    assert second.context["update_form"].initial["version"] == ticket.version
    # and saving again from the refreshed form works
    again = other_client.post(
        _url(ticket, "ticket_update"),
        {**base, "version": ticket.version, "status": Status.OPEN, "priority": "urgent", "assignee": agent2.pk},
    )
    assert again.status_code == 302


def test_stale_reply_keeps_the_draft_and_shows_the_conflict(
    client, login, agent, agent2, customer, teams, make_ticket, other_client
):
    # given an agent with an old version of the ticket open
    ticket = make_ticket(customer)
    login(agent)
    login(agent2, other_client)
    stale = ticket.version
    services.ticket_change_priority(ticket=ticket, actor=agent, priority="high")
    # when they send a reply
    response = other_client.post(_url(ticket, "ticket_reply"), {"body": "My careful draft", "version": stale})
    # then it is not sent, the draft is kept and the new version is in the form
    assert response.status_code == 409
    assert "My careful draft</textarea>" in response.content.decode()
    assert not TicketEvent.objects.filter(ticket=ticket, kind=EventKind.AGENT_REPLY).exists()


def test_presence_poll_shows_who_else_is_viewing(client, login, agent, agent2, customer, make_ticket, other_client):
    # given two agents on the same ticket
    ticket = make_ticket(customer)
    login(agent)
    login(agent2, other_client)
    # when both polls run
    other_client.post(_url(ticket, "ticket_presence"))
    response = client.post(_url(ticket, "ticket_presence"))
    # then each sees the other, not themselves, and the workspace shows it on load too
    assert "Also viewing now: <strong>Jordan Lee</strong>" in response.content.decode()
    assert "Alex Morgan" not in response.content.decode()
    assert TicketPresence.objects.filter(ticket=ticket).count() == 2
    assert [v.user.username for v in client.get(_url(ticket)).context["viewers"]] == ["agent2"]


def test_typing_shows_beside_the_viewer_and_reading_the_box_is_not_being_there(
    client, login, agent, agent2, customer, make_ticket, other_client
):
    # given a colleague typing in the ticket's reply box
    ticket = make_ticket(customer)
    login(agent)
    login(agent2, other_client)
    other_client.post(_url(ticket, "ticket_presence"), {"typing": "1"})
    # when the agent's box is re-read after a push frame (GET)
    response = client.get(_url(ticket, "ticket_presence"))
    # then it names the colleague as typing, and reading it did not make the agent present
    assert (
        '<strong>Jordan Lee</strong> <em class="presence-typing" data-typing>typing…</em>' in response.content.decode()
    )
    assert list(TicketPresence.objects.filter(ticket=ticket).values_list("user__username", flat=True)) == ["agent2"]


def test_presence_expires_after_the_window(client, login, agent, agent2, customer, make_ticket, other_client):
    # given an agent who polled a minute ago and then left
    ticket = make_ticket(customer)
    login(agent)
    login(agent2, other_client)
    with time_machine.travel(timezone.now() - timezone.timedelta(seconds=60)):
        other_client.post(_url(ticket, "ticket_presence"))
    # when the other agent polls now
    response = client.post(_url(ticket, "ticket_presence"))
    # then nobody else is shown
    assert "Also viewing now" not in response.content.decode()


def test_customer_cannot_use_staff_endpoints(client, login, customer, make_ticket):
    # given a customer and their ticket
    ticket = make_ticket(customer)
    login(customer)
    # when they try the staff-only posts, then they are refused
    assert client.post(_url(ticket, "ticket_presence")).status_code == 403
    assert client.post(_url(ticket, "ticket_note"), {"body": "x"}).status_code == 403
    assert client.post(_url(ticket, "ticket_update"), {"version": 1}).status_code == 403


def test_other_organisations_ticket_is_a_404(client, login, customer2, customer, make_ticket):
    ticket = make_ticket(customer)
    login(customer2)
    assert client.get(_url(ticket)).status_code == 404


def test_error_pages_keep_the_navigation(client, login, customer, agent, make_ticket):
    # given a customer
    login(customer)
    # when they open a missing ticket and a staff-only page
    missing = client.get(reverse("ticket_detail", args=["HD-2026-999999"]))
    forbidden = client.post(reverse("availability_toggle"))
    # then both pages explain in words, inside the normal layout
    assert missing.status_code == 404
    assert "We could not find that page" in missing.content.decode()
    assert 'aria-label="Main"' in missing.content.decode()
    assert forbidden.status_code == 403
    assert "You do not have access to this page" in forbidden.content.decode()
    assert "This page is for staff." in forbidden.content.decode()


def test_home_is_the_first_screen_of_the_role(client, login, customer, agent, other_client):
    # given a customer and an agent
    login(customer)
    login(agent, other_client)
    # when they open the site root, then each lands on the first entry of their navigation
    assert client.get("/")["Location"] == reverse("ticket_list")
    assert other_client.get("/")["Location"] == reverse("ticket_list")
    assert "My requests" in client.get("/", follow=True).content.decode()
    assert "My queue" in other_client.get("/", follow=True).content.decode()
