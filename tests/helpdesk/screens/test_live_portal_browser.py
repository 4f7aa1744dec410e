"""Push to the customer portal in Chromium, against the ASGI server (tests/browser.py ``AsgiLiveServer``): a staff
reply appears on the customer's open ticket page (with its new status) and their list of requests without reload,
the message they are writing is kept; and on the raw wire a customer receives a bare frame for a public reply on
their ticket, none for an internal note and none for another customer's ticket.

Screenshots at 1280, 1920 and 390 px go to test-results/<test name>/.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.test import Client
from playwright.sync_api import expect

from helpdesk.services import ticket_add_internal_note, ticket_change_status, ticket_reply
from tests.browser import AsgiLiveServer, open_live, screenshots, sign_in, sse_frames

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_live")]


def test_a_staff_reply_appears_on_the_customers_open_ticket_page_and_list(
    browser, screenshot_dir, customer, agent, make_ticket
):
    ticket = make_ticket(customer, subject="Charged twice for invoice 42")
    with AsgiLiveServer() as server:
        # given Dana's ticket page open, with push up, and a message half written
        page = sign_in(browser, server.url, "customer")
        open_live(page, f"{server.url}/tickets/{ticket.reference}/")
        expect(page.locator("#portal-status")).to_contain_text("New")
        page.locator(".reply-form textarea").fill("Thanks, I also noticed ")
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))

        # when an agent adds an internal note, then replies
        ticket_add_internal_note(ticket=ticket, author=agent, body="Card ends 4242; bank says fraud flag.")
        ticket_reply(ticket=ticket, author=agent, body="We have refunded the duplicate charge.")

        # then the reply is in her timeline and the status has moved on, without a reload, her draft untouched
        expect(page.locator("#portal-timeline")).to_contain_text("We have refunded the duplicate charge.")
        expect(page.locator("#portal-status")).to_contain_text("Open")
        assert page.locator(".reply-form textarea").input_value() == "Thanks, I also noticed "
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # never reloaded
        expect(page.locator("#portal-timeline")).not_to_contain_text("4242")  # the page re-read its own view
        assert all("/live/" in url or ticket.reference in url for url in requests)
        screenshots(page, screenshot_dir, "portal-ticket-pushed")

        # and her list of requests follows a status change without reload
        open_live(page, f"{server.url}/tickets/")
        row = page.locator("#portal-list-live tr", has_text=ticket.reference)
        expect(row).to_contain_text("Open")
        ticket_reply(ticket=ticket, author=agent, body="Could you confirm the refund reached you?")
        ticket_change_status(ticket=ticket, actor=agent, status="pending_customer")
        expect(row).to_contain_text("Waiting for your reply")
        screenshots(page, screenshot_dir, "portal-list-pushed")


def test_a_customers_wire_carries_their_public_reply_and_nothing_else(customer, customer2, agent, make_ticket):
    mine = make_ticket(customer, subject="Charged twice")
    theirs = make_ticket(customer2, subject="Router offline")
    with AsgiLiveServer() as server:
        # given Dana's raw stream
        client = Client()
        client.force_login(customer)
        cookie = client.cookies["sessionid"].value
        frames: list[dict] = []
        reader = threading.Thread(target=lambda: frames.extend(sse_frames(server.url, cookie, seconds=5)))
        reader.start()
        time.sleep(1.5)  # her stream is open (and she is online) before anything happens

        # when an agent notes on her ticket, replies on Sam's, and replies on hers
        ticket_add_internal_note(ticket=mine, author=agent, body="Card ends 4242; bank says fraud flag.")
        ticket_reply(ticket=theirs, author=agent, body="Please restart the router.")
        ticket_reply(ticket=mine, author=agent, body="We have refunded the duplicate charge.")
        reader.join()

    # then her wire carries her ticket's reply (and the status change it made), bare, and nothing else
    pushed = [frame for frame in frames if frame["kind"] != "ready"]
    assert [(frame["ticket"], frame["event"]) for frame in pushed] == [
        (mine.reference, "agent_reply"),
        (mine.reference, "status_changed"),
    ]
    wire = str(frames)
    for absent in (theirs.reference, "internal_note", "4242", "refunded", "Alex", "actor"):
        assert absent not in wire
