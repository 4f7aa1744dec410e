"""A guest chat in Chromium: an anonymous visitor opens the help centre, starts a chat without an account, an agent
in another context sees them marked "unverified email", accepts and answers, and the visitor sees the answer (their
page polls every 3 s). Screenshots at 1280, 1920 and 390 px go to test-results/<test name>/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chat.models import ChatSession, ChatStatus
from tests.browser import AsgiLiveServer, screenshots, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_live")]


def test_an_anonymous_visitor_chats_from_the_help_centre(browser, screenshot_dir, agent, categories, org):
    with AsgiLiveServer() as server:
        console = sign_in(browser, server.url, "agent")
        console.goto(f"{server.url}/chat/console/")
        expect(console.locator("html")).to_have_attribute("data-live", "up")
        visitor = browser.new_context().new_page()

        # given an anonymous visitor on the help centre
        visitor.goto(f"{server.url}/help/")
        visitor.get_by_role("navigation", name="Help centre").get_by_role("link", name="Chat with us").click()
        expect(visitor.get_by_role("heading", name="Chat with us")).to_be_visible()
        screenshots(visitor, screenshot_dir, "guest-start")

        # when they start a chat with their name and email
        visitor.get_by_label("Your name").fill("Vic Visitor")
        visitor.get_by_label("Your email").fill("vic@northwind.test")
        visitor.get_by_label("Topic").select_option(label="Billing")
        visitor.get_by_label("How can we help?").fill("I was charged twice for invoice 42.")
        visitor.get_by_role("button", name="Start chat").click()

        # then they wait in the queue, and the agent sees the guest marked unverified without a reload
        expect(visitor.get_by_text("You are number 1 in the queue.")).to_be_visible()
        expect(visitor.get_by_text("We sent a link to vic@northwind.test.")).to_be_visible()
        waiting = console.locator("#chat-waiting li", has_text="(guest, unverified email)")
        expect(waiting).to_be_visible(timeout=5000)

        # when the agent accepts and answers
        waiting.get_by_role("button", name="Accept").click()
        pane = console.locator("section.chat-pane", has_text="Vic Visitor")
        expect(pane.get_by_text("I was charged twice for invoice 42.")).to_be_visible()
        pane.get_by_label("Your message").fill("I see the duplicate; refunding it now.")
        pane.get_by_role("button", name="Send").click()
        expect(pane.get_by_text("I see the duplicate; refunding it now.")).to_be_visible()

        # then the visitor sees the answer without reloading, and their reply reaches the agent
        expect(visitor.get_by_text("I see the duplicate; refunding it now.")).to_be_visible(timeout=6000)
        expect(visitor.get_by_text("You are chatting with Alex Morgan.")).to_be_visible()
        # and while the visitor types, the agent sees it by push (the guest's typing POST, static/js/chat.js)
        visitor.get_by_label("Your message").press_sequentially("Thank you!")
        expect(pane.get_by_text("Vic Visitor is typing…")).to_be_visible(timeout=5000)
        visitor.get_by_role("button", name="Send").click()
        expect(visitor.get_by_label("Your message")).to_have_value("")
        expect(pane.get_by_text("Thank you!")).to_be_visible(timeout=5000)
        screenshots(visitor, screenshot_dir, "guest-chatting")
        screenshots(console, screenshot_dir, "console-guest")

        # and another browser cannot read the chat
        session = ChatSession.objects.get()
        stranger = browser.new_context().new_page()
        assert stranger.goto(f"{server.url}/chat/guest/{session.pk}/log/").status == 404

        # when the visitor ends the chat, it ends without a ticket (the email is not confirmed)
        visitor.get_by_role("button", name="End chat").click()
        expect(visitor.get_by_text("Confirm your email with the link we sent")).to_be_visible()
        screenshots(visitor, screenshot_dir, "guest-ended")
        session.refresh_from_db()
        assert session.status == ChatStatus.ENDED and session.ticket is None
