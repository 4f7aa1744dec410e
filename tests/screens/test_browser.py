"""End to end in Chromium against live_server: a customer opens a ticket with an attachment; an agent finds it in
the queue, replies with a template and adds an internal note; the customer sees the reply but not the note; two
agents edit the same ticket and the second gets the conflict message. Hostile text never runs as script.

Screenshots of each main screen go to test-results/<test name>/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from helpdesk.models import ReplyTemplate, Ticket

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"pw-{username}")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def _watch_dialogs(page: Page, fired: list[str]) -> None:
    def on_dialog(dialog):
        fired.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_customer_and_agents_end_to_end(
    live_server, page, browser, screenshot_dir, customer, agent, agent2, categories
):
    base = live_server.url
    fired: list[str] = []
    customer.last_name = f"Reyes {HOSTILE}"
    customer.save()
    ReplyTemplate.objects.create(
        name="Refund confirmed",
        category=categories["billing"],
        body="Hello {{customer_first_name}},\n\nWe have refunded the duplicate charge on {{ticket_reference}}.\n\n{{agent_name}}",
    )
    page.set_viewport_size({"width": 1360, "height": 900})
    _watch_dialogs(page, fired)

    # given a customer who signs in
    page.goto(f"{base}/login/")
    page.screenshot(path=screenshot_dir / "01-login.png", full_page=True)
    _login(page, base, "customer")
    expect(page.get_by_role("heading", name="My requests")).to_be_visible()
    page.screenshot(path=screenshot_dir / "02-portal-list-empty.png", full_page=True)

    # when they open a ticket with an attachment (hostile subject and file name)
    page.get_by_role("link", name="New request").first.click()
    page.get_by_label("Subject").fill(f"Charged twice {HOSTILE}")
    page.get_by_label("What is it about?").select_option(label="Billing")
    page.get_by_label("Describe the problem").fill(f"My card was charged twice for invoice 42. {HOSTILE}")
    page.get_by_label("Attachments").set_input_files(
        files=[{"name": 'receipt"><img src=x onerror=alert(1)>.txt', "mimeType": "text/plain", "buffer": b"Receipt 42"}]
    )
    page.screenshot(path=screenshot_dir / "03-new-ticket.png", full_page=True)
    page.get_by_role("button", name="Send request").click()

    # then they land on the ticket page, the attachment is listed and the hostile text is plain text
    expect(page.get_by_text("has been received")).to_be_visible()
    ticket = Ticket.objects.get()
    expect(page.get_by_role("heading", name=re.compile("Charged twice"))).to_contain_text("<script>alert(1)</script>")
    expect(page.get_by_role("link", name=re.compile(r"receipt.*\.txt"))).to_be_visible()
    page.screenshot(path=screenshot_dir / "04-portal-ticket.png", full_page=True)

    # when an agent finds it in the queue
    agent_context = browser.new_context(viewport={"width": 1360, "height": 900})
    agent_page = agent_context.new_page()
    _watch_dialogs(agent_page, fired)
    _login(agent_page, base, "agent")
    expect(agent_page.get_by_role("heading", name="My queue")).to_be_visible()
    agent_page.get_by_label("Search", exact=True).fill(ticket.reference)
    agent_page.get_by_role("button", name="Apply").click()
    row_link = agent_page.get_by_role("link", name=ticket.reference)
    expect(row_link).to_be_visible()
    expect(agent_page).to_have_url(re.compile(r"q=HD-"))
    agent_page.screenshot(path=screenshot_dir / "05-queue.png", full_page=True)
    row_link.click()

    # and replies with a template, then adds an internal note
    expect(agent_page.locator("#ticket-subject")).to_contain_text("<script>alert(1)</script>")
    agent_page.get_by_label("Reply template").select_option(label="Refund confirmed (Billing)")
    agent_page.get_by_role("button", name="Insert").click()
    reply_box = agent_page.get_by_label("Message")
    expect(reply_box).to_have_value(re.compile(rf"We have refunded the duplicate charge on {ticket.reference}"))
    expect(reply_box).to_have_value(re.compile(r"^Hello Dana,"))
    agent_page.get_by_role("button", name="Send reply").click()
    expect(agent_page.get_by_text("Your message was sent.")).to_be_visible()
    agent_page.get_by_label("Internal note").fill("Checked the ledger: duplicate capture by the acquirer.")
    agent_page.get_by_role("button", name="Add note").click()
    expect(agent_page.get_by_text("Internal note added.")).to_be_visible()
    agent_page.screenshot(path=screenshot_dir / "06-workspace.png", full_page=True)

    # then the customer sees the reply but not the note
    page.reload()
    expect(page.get_by_text("We have refunded the duplicate charge")).to_be_visible()
    expect(page.get_by_text("duplicate capture by the acquirer")).to_have_count(0)
    page.screenshot(path=screenshot_dir / "07-portal-ticket-replied.png", full_page=True)
    page.goto(f"{base}/tickets/")
    page.screenshot(path=screenshot_dir / "08-portal-list.png", full_page=True)

    # when two agents edit the same ticket
    other_context = browser.new_context(viewport={"width": 1360, "height": 900})
    other_page = other_context.new_page()
    _watch_dialogs(other_page, fired)
    _login(other_page, base, "agent2")
    workspace_url = f"{base}/tickets/{ticket.reference}/"
    agent_page.goto(workspace_url)
    other_page.goto(workspace_url)
    # and both see each other through the presence poll
    agent_page.reload()
    expect(agent_page.locator("#presence")).to_contain_text("Also viewing now: Jordan Lee", timeout=10_000)
    agent_page.get_by_label("Priority").select_option(label="Urgent")
    agent_page.get_by_role("button", name="Save changes").click()
    expect(agent_page.get_by_text("Saved: priority.")).to_be_visible()
    other_page.get_by_label("Status").select_option(label="Waiting on customer")
    other_page.get_by_role("button", name="Save changes").click()

    # then the second gets the conflict message naming the first, and the current state
    banner = other_page.locator("#conflict-banner")
    expect(banner).to_contain_text("This ticket was changed by Alex Morgan while you were editing it.")
    expect(banner).to_contain_text("Urgent priority")
    expect(other_page.get_by_label("Priority")).to_have_value("urgent")
    other_page.screenshot(path=screenshot_dir / "09-conflict.png", full_page=True)
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.status) == ("urgent", "open")

    # and on a phone the workspace and the portal stack into one column
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    phone_page = phone.new_page()
    _watch_dialogs(phone_page, fired)
    _login(phone_page, base, "customer")
    phone_page.goto(workspace_url)
    phone_page.screenshot(path=screenshot_dir / "10-phone-portal-ticket.png", full_page=True)
    agent_page.set_viewport_size({"width": 390, "height": 844})
    agent_page.goto(f"{base}/tickets/?scope=all")
    agent_page.screenshot(path=screenshot_dir / "11-phone-queue.png", full_page=True)

    # and no script ever ran
    assert fired == []
    for context in (agent_context, other_context, phone):
        context.close()
