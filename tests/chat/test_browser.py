"""Live chat in Chromium with two contexts, against the ASGI server (pages and the push stream): a customer starts a
chat, it appears on the agent's console without a reload, the agent accepts and answers, the customer sees the answer
(their page refreshes on their chat's push frames), the customer's reply reaches the agent by push, and the agent ends the chat into a
ticket holding the transcript. Screenshots at 1280, 1920 and 390 px go to test-results/<test name>/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chat.models import ChatSession, ChatStatus
from tests.browser import AsgiLiveServer, screenshots, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_live")]


def test_a_customer_chats_with_an_agent_and_the_chat_becomes_a_ticket(
    browser, screenshot_dir, customer, agent, categories
):
    with AsgiLiveServer() as server:
        # given the agent's console open with push up, and the customer on the chat page
        console = sign_in(browser, server.url, "agent")
        console.goto(f"{server.url}/chat/console/")
        expect(console.locator("html")).to_have_attribute("data-live", "up")
        expect(console.get_by_text("No chat is waiting.")).to_be_visible()
        widget = sign_in(browser, server.url, "customer")
        widget.goto(f"{server.url}/chat/")
        screenshots(widget, screenshot_dir, "customer-start")

        # when the customer starts a chat
        widget.get_by_label("Topic").select_option(label="Billing")
        widget.get_by_label("How can we help?").fill("I was charged twice for invoice 42.")
        widget.get_by_role("button", name="Start chat").click()

        # then they see their place in the queue, and the chat appears on the console without a reload
        expect(widget.get_by_text("You are number 1 in the queue.")).to_be_visible()
        expect(widget.get_by_text("Expected wait: a few minutes.")).to_be_visible()
        waiting = console.locator("#chat-waiting li", has_text="Dana Reyes")
        expect(waiting).to_be_visible(timeout=3000)
        assert console.evaluate("performance.getEntriesByType('navigation').length") == 1

        # when the agent accepts and answers
        waiting.get_by_role("button", name="Accept").click()
        pane = console.locator("section.chat-pane", has_text="Dana Reyes")
        expect(pane.get_by_text("I was charged twice for invoice 42.")).to_be_visible()
        pane.get_by_label("Your message").fill("I see the duplicate; refunding it now.")
        pane.get_by_role("button", name="Send").click()
        expect(pane.get_by_text("I see the duplicate; refunding it now.")).to_be_visible()
        expect(pane.get_by_label("Your message")).to_have_value("")

        # then the customer sees the answer without reloading, and their reply reaches the agent by push
        expect(widget.get_by_text("I see the duplicate; refunding it now.")).to_be_visible(timeout=5000)
        expect(widget.get_by_text("You are chatting with Alex Morgan.")).to_be_visible()
        widget.get_by_label("Your message").fill("Thank you!")
        widget.get_by_role("button", name="Send").click()
        expect(pane.get_by_text("Thank you!")).to_be_visible(timeout=3000)
        screenshots(widget, screenshot_dir, "customer-chatting")
        screenshots(console, screenshot_dir, "console-chatting")

        # when the agent ends the chat
        pane.get_by_role("button", name="End chat").click()

        # then the console names the ticket, the customer's chat says it ended, and the ticket holds the transcript
        session = ChatSession.objects.select_related("ticket").get()
        assert session.status == ChatStatus.ENDED
        expect(
            console.get_by_text(f"Chat ended: ticket {session.ticket.reference} holds the transcript.")
        ).to_be_visible()
        expect(widget.get_by_text("This chat has ended.")).to_be_visible(timeout=5000)
        expect(widget.get_by_role("link", name=session.ticket.reference)).to_be_visible()
        expect(widget.get_by_role("button", name="End chat")).to_have_count(0)
        transcript = session.ticket.description
        for words in ("I was charged twice for invoice 42.", "I see the duplicate; refunding it now.", "Thank you!"):
            assert words in transcript
        screenshots(console, screenshot_dir, "console-ended")
        screenshots(widget, screenshot_dir, "customer-ended")


# --- the embed snippet on another site ------------------------------------------------------------------------------


class ForeignSite:
    """A customer's own site: a tiny ``http.server`` on another loopback port serving one page, ``html``."""

    def __init__(self, html: str):
        self.html = html

    def __enter__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        body = self.html.encode()

        class Page(BaseHTTPRequestHandler):
            def do_GET(self):  # http.server's name
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="foreign-site", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _shop_page(helpdesk: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Northwind shop</title></head>"
        "<body style='font-family:sans-serif;margin:2rem'><h1>Northwind shop</h1><p>Our products, our prices.</p>"
        f'<script src="{helpdesk}/chat/embed.js" data-label="Chat with us" async></script></body></html>'
    )


def test_the_widget_embedded_on_an_allowed_site_lets_a_signed_in_customer_chat(
    browser, screenshot_dir, customer, agent, categories, settings
):
    with AsgiLiveServer() as server, ForeignSite(_shop_page(server.url)) as shop:
        # given the shop's origin allowed, and a customer signed in to the portal
        settings.CHAT_EMBED_ALLOWED_ORIGINS = [shop.url]
        page = sign_in(browser, server.url, "customer")

        # when they open the shop and click the launcher the snippet added
        page.goto(shop.url)
        launcher = page.get_by_role("button", name="Chat with us")
        launcher.click()
        frame = page.frame_locator("#hd-chat-frame")

        # then our chat opens in the frame, and a chat started there waits with its estimate
        frame.get_by_label("How can we help?").fill("Can I change the delivery address?")
        frame.get_by_role("button", name="Start chat").click()
        expect(frame.get_by_text("You are number 1 in the queue.")).to_be_visible(timeout=15000)
        expect(frame.get_by_text("Expected wait: a few minutes.")).to_be_visible()
        expect(launcher).to_have_attribute("aria-expanded", "true")
        session = ChatSession.objects.get()
        assert (session.customer, session.status) == (customer, ChatStatus.WAITING)
        screenshots(page, screenshot_dir, "embedded-widget")


def test_the_snippet_does_nothing_on_a_site_not_allowed_and_the_widget_refuses_its_frame(
    browser, customer, settings, csp_violations
):
    with AsgiLiveServer() as server, ForeignSite(_shop_page(server.url)) as other:
        framer_html = f'<!doctype html><iframe id="direct" src="{server.url}/chat/widget/"></iframe>'
        with ForeignSite(framer_html) as framer:
            settings.CHAT_EMBED_ALLOWED_ORIGINS = ["https://shop.example.com"]
            page = sign_in(browser, server.url, "customer")

            # when a signed-in customer opens a page carrying the snippet on a site not allowed
            page.goto(other.url)
            page.wait_for_load_state("networkidle")

            # then no launcher appears (the script says why on the console)
            expect(page.get_by_role("heading", name="Northwind shop")).to_be_visible()
            expect(page.locator("#hd-chat-launcher")).to_have_count(0)
            assert any(
                f"Helpdesk chat: {other.url} is not allowed to embed the chat." in line for line in csp_violations
            )

            # and when that site frames the widget directly, the browser refuses the frame (frame-ancestors)
            page.goto(framer.url)
            page.wait_for_load_state("networkidle")
            expect(page.frame_locator("#direct").get_by_role("heading", name="Chat with us")).to_have_count(0)
            assert not [f for f in page.frames if f.url.startswith(server.url) and "Chat with us" in f.content()]
    refused = [line for line in csp_violations if "frame-ancestors" in line]
    assert refused, csp_violations  # the refusal is the expected violation; nothing else may be one
    csp_violations[:] = [line for line in csp_violations if "frame-ancestors" not in line]


def test_a_waiting_customer_sees_their_place_and_the_expected_wait(
    browser, screenshot_dir, customer, customer2, agent, categories
):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from chat.services import chat_accept, chat_end, chat_start

    # given one earlier chat of the Frontline queue taken after 4 minutes
    started = timezone.now() - timedelta(hours=1)
    with time_machine.travel(started, tick=False):
        earlier = chat_start(customer=customer2, category=categories["outage"], first_message="Is the API down?")
    with time_machine.travel(started + timedelta(minutes=4), tick=False):
        chat_accept(session=earlier, agent=agent)
        chat_end(session=earlier, actor=agent)

    with AsgiLiveServer() as server:
        # when the customer starts a chat
        page = sign_in(browser, server.url, "customer")
        page.goto(f"{server.url}/chat/")
        page.get_by_label("Topic").select_option(label="Outage")
        page.get_by_label("How can we help?").fill("Our dashboard does not load since this morning.")
        page.get_by_role("button", name="Start chat").click()

        # then they read their place and the estimate from that history, labelled as an estimate
        expect(page.get_by_text("You are number 1 in the queue.")).to_be_visible()
        expect(
            page.get_by_text("Expected wait: about 4 minutes. This is an estimate from recent chats and can change.")
        ).to_be_visible()
        screenshots(page, screenshot_dir, "customer-waiting")


def test_the_customers_open_chat_makes_no_polling_request_while_push_is_up(
    browser, screenshot_dir, customer, agent, categories
):
    from chat.services import chat_accept, chat_post, chat_start

    # given the customer's chat taken by the agent, and the customer's page open with push up, on a movable clock
    session = chat_start(customer=customer, category=categories["billing"], first_message="Charged twice.")
    chat_accept(session=session, agent=agent)
    with AsgiLiveServer() as server:
        page = sign_in(browser, server.url, "customer")
        page.clock.install()
        page.goto(f"{server.url}/chat/")
        expect(page.locator("html")).to_have_attribute("data-live", "up")
        expect(page.get_by_text("You are chatting with Alex Morgan.")).to_be_visible()

        # when ten minutes pass with nothing said, then the page asks the server nothing (no 3 s poll)
        requests: list[str] = []
        page.on("request", lambda request: requests.append(f"{request.method} {request.url}"))
        page.clock.run_for(10 * 60 * 1000)
        assert requests == []

        # when the agent writes, then it arrives by push: the page re-reads its chat's log, and nothing else
        chat_post(session=session, author=agent, body="Refunding the duplicate now.")
        expect(page.get_by_text("Refunding the duplicate now.")).to_be_visible(timeout=5000)
        assert set(requests) == {f"GET {server.url}/chat/{session.pk}/log/"}


def test_a_customer_attaches_a_file_in_the_chat_and_the_agent_gets_it_by_push(
    browser, screenshot_dir, customer, agent, categories
):
    from chat.services import chat_accept, chat_start

    session = chat_start(customer=customer, category=categories["billing"], first_message="Charged twice.")
    chat_accept(session=session, agent=agent)
    with AsgiLiveServer() as server:
        # given the agent's console and the customer's chat open, push up on both
        console = sign_in(browser, server.url, "agent")
        console.goto(f"{server.url}/chat/console/")
        expect(console.locator("html")).to_have_attribute("data-live", "up")
        page = sign_in(browser, server.url, "customer")
        page.goto(f"{server.url}/chat/")
        expect(page.locator("html")).to_have_attribute("data-live", "up")

        # when the customer sends a screenshot of the invoice with a word
        page.get_by_label("Your message").fill("Here is the invoice.")
        page.get_by_label("Attach a file").set_input_files(
            files=[{"name": "invoice-42.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + b"\0" * 64}]
        )
        page.get_by_role("button", name="Send").click()

        # then it is in their chat, and on the agent's console without a reload, as a link that downloads it
        link = page.get_by_role("link", name="invoice-42.png")
        expect(link).to_be_visible()
        expect(page.get_by_label("Your message")).to_have_value("")
        pane = console.locator("section.chat-pane", has_text="Dana Reyes")
        expect(pane.get_by_role("link", name="invoice-42.png")).to_be_visible(timeout=5000)
        with console.expect_download() as download:
            pane.get_by_role("link", name="invoice-42.png").click()
        assert download.value.suggested_filename == "invoice-42.png"

        # and a forbidden type is refused on the composer, in words
        page.get_by_label("Attach a file").set_input_files(
            files=[{"name": "setup.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00"}]
        )
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_text("“setup.exe” is not an allowed file type.", exact=False)).to_be_visible()
        screenshots(page, screenshot_dir, "customer-attachment")
