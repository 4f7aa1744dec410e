"""Subjects and names are one line (``helpdesk.text.single_line``) at every entry point, and the outbox builds every
email subject through the same rule, so a CR/LF smuggled in by an encoded email subject, a form or the API never
breaks (or forges) an email header, and a row stored before the rule still sends."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from helpdesk import services
from helpdesk.api.services import api_token_create, user_update_profile
from helpdesk.inbound_email import email_ingest
from helpdesk.models import InboundMessage, Notification, NotificationChannel, NotificationStatus, Ticket, User
from helpdesk.notifications import notification_deliver
from helpdesk.text import single_line

HOSTILE = "Hi\r\nBcc: x@evil"
CLEAN = "Hi Bcc: x@evil"


def raw_email(*, sender: str, subject: str, message_id: str = "<crlf@mail.example.test>") -> bytes:
    return (
        f"From: {sender}\r\nTo: support@helpdesk.example\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease help.\r\n"
    ).encode()


def reply_email_row(ticket: Ticket) -> Notification:
    return Notification.objects.get(ticket=ticket, kind="agent_reply", channel=NotificationChannel.EMAIL)


def sent_with_subject(subject: str) -> list:
    return [message for message in mail.outbox if message.subject == subject]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HOSTILE, CLEAN),
        ("  Printer\ton   fire \x0b\x0c\x00now\u2028please\x85 ", "Printer on fire now please"),
        ("Plain subject", "Plain subject"),
        ("", ""),
        (None, ""),
    ],
)
def test_single_line_folds_every_break_and_control_character(text, expected):
    assert single_line(text) == expected


def test_inbound_email_with_an_encoded_crlf_subject_is_stored_on_one_line_and_its_reply_is_delivered(org, teams, agent):
    # given an email from a new contact whose encoded subject and name decode to CR/LF and a forged header
    raw = raw_email(
        sender="=?utf-8?q?Eve=0D=0ABcc=3A_x=40evil?= <eve@northwind.test>",
        subject="=?utf-8?q?Hi=0D=0ABcc=3A_x=40evil?=",
    )
    # when it is ingested and an agent replies on the ticket
    result = email_ingest(raw=raw, mailbox="support")
    ticket = result.ticket
    services.ticket_reply(ticket=ticket, author=agent, body="We are on it.")
    row = reply_email_row(ticket)
    delivered = notification_deliver(notification_id=row.pk)
    # then the subject and the contact's name were stored on one line
    ticket.refresh_from_db()
    assert ticket.subject == CLEAN
    assert InboundMessage.objects.get(ticket=ticket).subject == CLEAN
    contact = User.objects.get(email="eve@northwind.test")
    assert (contact.first_name, contact.last_name) == ("Eve", "Bcc: x@evil")
    # and the reply email went out once, with the one-line subject and no forged recipient
    row.refresh_from_db()
    assert delivered is True
    assert (row.status, row.attempts, row.last_error) == (NotificationStatus.SENT, 1, "")
    (message,) = sent_with_subject(f"[{ticket.reference}] {CLEAN}")
    assert (message.to, message.bcc) == ([contact.email], [])
    assert "\nBcc:" not in message.message().as_string()


def test_a_ticket_whose_stored_subject_has_crlf_still_gets_its_email(customer, agent, make_ticket):
    # given a ticket whose subject was written with CR/LF before the rule existed (straight into the database)
    ticket = make_ticket(customer, subject="Printer on fire")
    Ticket.objects.filter(pk=ticket.pk).update(subject=HOSTILE)
    ticket.refresh_from_db()
    # when an agent replies
    services.ticket_reply(ticket=ticket, author=agent, body="Try turning it off.")
    row = reply_email_row(ticket)
    # then the customer's email is delivered, with the subject on one line
    assert notification_deliver(notification_id=row.pk) is True
    row.refresh_from_db()
    assert row.status == NotificationStatus.SENT
    assert len(sent_with_subject(f"[{ticket.reference}] {CLEAN}")) == 1


def test_an_outbox_row_queued_with_crlf_in_its_subject_is_still_delivered(customer, agent, make_ticket):
    # given an email queued before the rule existed, its subject carrying CR/LF
    ticket = make_ticket(customer, subject="Printer on fire")
    services.ticket_reply(ticket=ticket, author=agent, body="Try turning it off.")
    row = reply_email_row(ticket)
    Notification.objects.filter(pk=row.pk).update(subject=f"[{ticket.reference}] {HOSTILE}")
    # when the outbox delivers it
    delivered = notification_deliver(notification_id=row.pk)
    # then it is sent at the first attempt, with the subject header on one line
    row.refresh_from_db()
    assert delivered is True
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 1)
    assert len(sent_with_subject(f"[{ticket.reference}] {CLEAN}")) == 1


def test_web_create_with_a_crlf_subject_stores_it_on_one_line(customer, teams, client, login):
    # given a signed-in customer
    login(customer)
    # when the new-request form is posted with line breaks and tabs in the subject
    response = client.post("/tickets/new/", {"subject": "Hi\r\n\tBcc:   x@evil", "description": "Please help"})
    # then the ticket's subject is one line
    assert response.status_code == 302
    assert Ticket.objects.get(customer=customer).subject == CLEAN


def test_api_create_with_a_crlf_subject_stores_it_on_one_line(customer, teams):
    # given a customer's API token
    _token, raw = api_token_create(user=customer, name="tests")
    # when a ticket is created with CR/LF in its subject
    response = Client().post(
        "/api/tickets/",
        {"subject": HOSTILE, "description": "Please help"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    # then it is stored, and answered, on one line
    assert response.status_code == 201
    assert response.json()["subject"] == CLEAN
    assert Ticket.objects.get(customer=customer).subject == CLEAN


def test_a_name_changed_with_crlf_is_stored_on_one_line(customer):
    # when a customer sets a name with a line break on their profile
    user_update_profile(user=customer, first_name="Dana\r\nBcc: x@evil", last_name="Reyes\t ")
    # then it is stored on one line
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name, customer.display_name) == (
        "Dana Bcc: x@evil",
        "Reyes",
        "Dana Bcc: x@evil Reyes",
    )
