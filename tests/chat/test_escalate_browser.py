"""A chat's warm transfer in Chromium with three contexts against the ASGI server (pages and the push stream): a
customer starts a chat, the agent accepts and answers, each side sees the other typing, the agent brings in the
technical team, a specialist sees the transfer arrive in their escalation inbox (pushed, with the accept countdown),
accepts it and joins the chat, the customer sees them join, the specialist writes, and the agent ends the chat into
the one ticket, whose record holds the specialist's lines. Screenshots at 1280, 1920 and 390 px go to
test-results/<test name>/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chat.models import ChatSession, ChatStatus
from escalations.models import Escalation, EscalationStatus
from helpdesk.models import EventKind, Ticket
from tests.browser import AsgiLiveServer, screenshots, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_live")]


def test_an_agent_brings_a_specialist_into_the_chat(
    browser, screenshot_dir, customer, agent, specialist, teams, categories
):
    with AsgiLiveServer() as server:
        # given the agent's console and the specialist's inbox open with push up, and the customer in a chat
        console = sign_in(browser, server.url, "agent")
        console.goto(f"{server.url}/chat/console/")
        expect(console.locator("html")).to_have_attribute("data-live", "up")
        inbox = sign_in(browser, server.url, "specialist")
        inbox.goto(f"{server.url}/escalations/inbox/")
        expect(inbox.locator("html")).to_have_attribute("data-live", "up")
        widget = sign_in(browser, server.url, "customer")
        widget.goto(f"{server.url}/chat/")
        widget.get_by_label("Topic").select_option(label="Billing")
        widget.get_by_label("How can we help?").fill("The payment gateway rejects my card.")
        widget.get_by_role("button", name="Start chat").click()

        # when the agent accepts and answers
        waiting = console.locator("#chat-waiting li", has_text="Dana Reyes")
        expect(waiting).to_be_visible(timeout=5000)
        waiting.get_by_role("button", name="Accept").click()
        pane = console.locator("section.chat-pane", has_text="Dana Reyes")
        pane.get_by_label("Your message").fill("Let me check the gateway.")
        pane.get_by_role("button", name="Send").click()
        expect(widget.get_by_text("Let me check the gateway.")).to_be_visible(timeout=5000)

        # then the customer's typing shows on the console (push), and the agent's on the customer's page (poll)
        widget.get_by_label("Your message").press_sequentially("It is a Visa", delay=20)
        expect(pane.get_by_text("Dana Reyes is typing…")).to_be_visible(timeout=5000)
        pane.get_by_label("Your message").press_sequentially("One moment", delay=20)
        expect(widget.get_by_text("Alex is typing…")).to_be_visible(timeout=5000)
        pane.get_by_label("Your message").fill("")

        # when the agent brings in the technical team
        pane.get_by_text("Bring in a specialist").click()
        pane.get_by_label("Specialist team").select_option(label="Technical")
        pane.get_by_label("What the specialist should know").fill("Card declined at the gateway; needs its logs.")
        pane.get_by_role("button", name="Ask to join").click()

        # then the console shows the pending transfer, the customer is asked to stay, and the specialist's inbox
        # has it on top without a reload, with the caller-waiting timer and the accept countdown
        pane = console.locator("section.chat-pane", has_text="Dana Reyes")
        expect(pane.get_by_text("Waiting for Technical to accept")).to_be_visible()
        expect(widget.get_by_text("A specialist is joining this chat. Please stay here.")).to_be_visible(timeout=5000)
        row = inbox.locator("tbody.esc-item", has_text="Dana Reyes")
        expect(row).to_be_visible(timeout=5000)
        expect(row.locator(".caller-waiting")).to_be_visible()
        expect(row.locator("[data-countdown]")).to_be_visible()
        assert inbox.evaluate("performance.getEntriesByType('navigation').length") == 1
        screenshots(console, screenshot_dir, "console-transfer-waiting")
        screenshots(inbox, screenshot_dir, "inbox-chat-transfer")

        # when the specialist accepts it
        row.locator("a.ref").click()
        inbox.get_by_text("Accept", exact=True).click()
        inbox.get_by_role("button", name="Confirm: accept").click()
        expect(inbox.get_by_text("It is yours now.")).to_be_visible()

        # then they are in the chat: the customer sees them join, the agent sees them in the pane
        expect(widget.get_by_text("Priya Shah (specialist) joined the chat.")).to_be_visible(timeout=5000)
        expect(pane.get_by_text("Priya Shah (specialist)").first).to_be_visible(timeout=5000)

        # and the escalation's page links them to the chat; when they follow it, they are on the console, and write
        inbox.reload()
        join = inbox.get_by_role("link", name="Join the live chat")
        expect(join).to_be_visible()
        screenshots(inbox, screenshot_dir, "escalation-join-live-chat")
        join.click()
        expect(inbox).to_have_url(f"{server.url}/chat/console/#chat-log-{ChatSession.objects.get().pk}")
        expect(inbox.locator("html")).to_have_attribute("data-live", "up")
        joined = inbox.locator("section.chat-pane", has_text="Dana Reyes")
        expect(joined.get_by_text("The payment gateway rejects my card.")).to_be_visible()
        expect(joined.get_by_text("Let me check the gateway.")).to_be_visible()
        joined.get_by_label("Your message").fill("I have the gateway logs: the card was blocked by 3-D Secure.")
        joined.get_by_role("button", name="Send").click()

        # then the customer reads it, and the agent gets it by push
        expect(widget.get_by_text("I have the gateway logs: the card was blocked by 3-D Secure.")).to_be_visible(
            timeout=5000
        )
        expect(pane.get_by_text("I have the gateway logs: the card was blocked by 3-D Secure.")).to_be_visible(
            timeout=5000
        )
        widget.get_by_label("Your message").fill("Thanks, that fixed it!")
        widget.get_by_role("button", name="Send").click()
        expect(joined.get_by_text("Thanks, that fixed it!")).to_be_visible(timeout=5000)
        screenshots(widget, screenshot_dir, "customer-specialist-joined")
        screenshots(console, screenshot_dir, "console-specialist-joined")
        screenshots(inbox, screenshot_dir, "specialist-console")

        # when the agent ends the chat
        pane.get_by_role("button", name="End chat").click()

        # then it is the one ticket, opened at the escalation, now with the rest of the transcript
        session = ChatSession.objects.select_related("ticket").get()
        assert session.status == ChatStatus.ENDED
        assert Ticket.objects.count() == 1
        ticket = session.ticket
        expect(console.get_by_text(f"Chat ended: ticket {ticket.reference} holds the transcript.")).to_be_visible()
        record = ticket.description + "\n".join(
            ticket.events.filter(kind=EventKind.AGENT_REPLY).values_list("body", flat=True)
        )
        for words in (
            "The payment gateway rejects my card.",
            "Alex Morgan: Let me check the gateway.",
            "Priya Shah (specialist) joined the chat.",
            "Priya Shah: I have the gateway logs: the card was blocked by 3-D Secure.",
            "Dana Reyes: Thanks, that fixed it!",
        ):
            assert words in record
        escalation = Escalation.objects.get()
        assert (escalation.ticket_id, escalation.status, escalation.accepted_by_id) == (
            ticket.pk,
            EscalationStatus.ACCEPTED,
            specialist.pk,
        )
        expect(widget.get_by_text("This chat has ended.")).to_be_visible(timeout=5000)
