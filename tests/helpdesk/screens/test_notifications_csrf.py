"""The bell and the customer's emails (links on SITE_URL); CSRF on the reply, assign/status and note forms."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from helpdesk import services
from helpdesk.models import Notification, NotificationChannel, NotificationStatus, Status, TicketEvent
from helpdesk.notifications import notification_deliver


def _deliver_pending():
    for pk in Notification.objects.pending().values_list("pk", flat=True):
        notification_deliver(notification_id=pk)


def test_bell_counts_unread_and_the_list_marks_them_read(client, login, agent, customer, teams, make_ticket):
    # given a ticket assigned to the agent, and a customer message on it
    ticket = make_ticket(customer, subject="Charged twice")
    services.ticket_assign(ticket=ticket, actor=None, team=teams["frontline"], assignee=agent)
    services.ticket_reply(ticket=ticket, author=customer, body="Any news?")
    login(agent)
    # when the agent looks at any page
    page = client.get(reverse("ticket_list")).content.decode()
    # then the bell counts three unread (new ticket in my team, assigned to me, the message), the list shows
    # them, and they can be marked read
    assert 'aria-label="Notifications, 3 unread"' in page
    listing = client.get(reverse("notification_list")).content.decode()
    assert f"[{ticket.reference}] New message from Dana Reyes" in listing
    assert f"{ticket.reference} was assigned to you" in listing
    client.post(reverse("notification_list"))
    assert 'aria-label="Notifications, 0 unread"' in client.get(reverse("ticket_list")).content.decode()


def test_customer_emails_link_to_site_url(settings, customer, agent, make_ticket):
    # given the public base URL
    settings.SITE_URL = "https://support.example.test"
    # when a ticket is opened and an agent replies, and the outbox is delivered
    ticket = make_ticket(customer, subject="Charged twice")
    services.ticket_reply(ticket=ticket, author=agent, body="We are refunding you.")
    _deliver_pending()
    # then the customer got two emails whose links use SITE_URL, never the request host
    to_customer = sorted(
        (m for m in mail.outbox if m.to == ["customer@example.test"]), key=lambda m: "Charged" in m.subject
    )
    assert [m.subject for m in to_customer] == [
        f"[{ticket.reference}] We have received your request",
        f"[{ticket.reference}] Charged twice",
    ]
    link = f"https://support.example.test/tickets/{ticket.reference}/"
    assert all(m.body.endswith(link) for m in to_customer)
    assert "Alex Morgan replied to your request:\n\nWe are refunding you." in to_customer[1].body
    assert Notification.objects.filter(channel=NotificationChannel.EMAIL, status=NotificationStatus.SENT).count() == 2


def test_internal_note_sends_the_customer_nothing(customer, agent, make_ticket):
    ticket = make_ticket(customer)
    _deliver_pending()
    mail.outbox.clear()
    services.ticket_add_internal_note(ticket=ticket, author=agent, body="secret")
    _deliver_pending()
    assert mail.outbox == []


# --- CSRF ------------------------------------------------------------------------------------------------------


def _token(client, ticket) -> str:
    client.get(reverse("ticket_detail", args=[ticket.reference]))
    return client.cookies["csrftoken"].value


@pytest.fixture
def forms(teams, agent2):
    def build(ticket):
        return {
            "ticket_reply": {"body": "Hello", "version": ticket.version},
            "ticket_update": {  # the assign form
                "version": ticket.version,
                "status": ticket.status,
                "priority": ticket.priority,
                "team": teams["frontline"].pk,
                "assignee": agent2.pk,
            },
            "ticket_update#status": {
                "version": ticket.version,
                "status": Status.PENDING_CUSTOMER,
                "priority": ticket.priority,
                "team": teams["frontline"].pk,
            },
            "ticket_note": {"body": "Note"},
        }

    return build


@pytest.mark.parametrize("form_name", ["ticket_reply", "ticket_update", "ticket_update#status", "ticket_note"])
def test_state_changes_need_the_csrf_token(csrf_client, login, agent, customer, make_ticket, forms, form_name):
    # given an agent whose client enforces CSRF like a browser
    ticket = make_ticket(customer)
    login(agent, csrf_client)
    url = reverse(form_name.split("#")[0], args=[ticket.reference])
    data = forms(ticket)[form_name]
    events_before = TicketEvent.objects.filter(ticket=ticket).count()
    # when the form is posted without the token, then it is refused and nothing is written
    assert csrf_client.post(url, data).status_code == 403
    assert TicketEvent.objects.filter(ticket=ticket).count() == events_before
    # when it is posted with the token, then it works
    response = csrf_client.post(url, {**data, "csrfmiddlewaretoken": _token(csrf_client, ticket)})
    assert response.status_code == 302
    assert TicketEvent.objects.filter(ticket=ticket).count() > events_before


def test_customer_reply_needs_the_csrf_token(csrf_client, login, customer, make_ticket):
    ticket = make_ticket(customer)
    login(customer, csrf_client)
    url = reverse("ticket_reply", args=[ticket.reference])
    assert csrf_client.post(url, {"body": "Hi"}).status_code == 403
    assert csrf_client.post(url, {"body": "Hi", "csrfmiddlewaretoken": _token(csrf_client, ticket)}).status_code == 302


def test_htmx_presence_poll_sends_the_token_in_a_header(csrf_client, login, agent, customer, make_ticket):
    # given the workspace page, whose <body> carries hx-headers with the CSRF token
    ticket = make_ticket(customer)
    login(agent, csrf_client)
    token = _token(csrf_client, ticket)
    url = reverse("ticket_presence", args=[ticket.reference])
    # when htmx polls with and without the header, then only the former is accepted
    assert csrf_client.post(url).status_code == 403
    assert csrf_client.post(url, headers={"X-CSRFToken": token}).status_code == 200
