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


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_busy_queue_and_phone_workspace_screens(
    live_server, page, browser, screenshot_dir, customer, customer2, agent, agent2, teams, make_ticket
):
    # given a busy queue: priorities, SLA states, an emergency, assigned and unassigned tickets
    from datetime import timedelta

    from django.utils import timezone

    from helpdesk import services

    now = timezone.now()
    subjects = [
        ("Card charged twice for the March invoice", "billing", "high", timedelta(minutes=-40)),
        ("Checkout page times out for all users", "outage", "urgent", timedelta(minutes=25)),
        ("Please delete my personal data", "data-privacy", "normal", timedelta(hours=6)),
        ("VAT number missing on invoices", "billing", "low", timedelta(days=2)),
        ("Cannot download the usage report", "outage", "normal", timedelta(hours=1, minutes=10)),
        ("Refund not received after 10 days", "billing", "high", None),
        ("Two-factor codes arrive late", "outage", "normal", timedelta(hours=20)),
    ]
    tickets = []
    for i, (subject, category, priority, due) in enumerate(subjects):
        ticket = make_ticket(customer if i % 2 else customer2, subject=subject, category=category, priority=priority)
        if i % 3 == 0:
            services.ticket_assign(ticket=ticket, actor=agent, team=teams["frontline"], assignee=agent)
        services.ticket_reply(ticket=ticket, author=agent, body="Thanks, we are looking into it.")
        Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=now + due if due else None, is_emergency=i == 1)
        tickets.append(ticket)
    services.ticket_add_internal_note(ticket=tickets[0], author=agent2, body="Acquirer confirmed a double capture.")
    fired: list[str] = []
    _watch_dialogs(page, fired)
    page.set_viewport_size({"width": 1440, "height": 900})
    _login(page, live_server.url, "agent")

    # when the agent opens all open tickets, sorted by SLA
    page.goto(f"{live_server.url}/tickets/?scope=all")
    # then the emergency is pinned first, breached and near deadlines are marked
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(7)
    expect(rows.first).to_contain_text("Emergency")
    expect(page.locator(".sla-breached")).to_have_count(1)
    page.screenshot(path=screenshot_dir / "01-queue-busy.png", full_page=True)

    # and filtering by priority through the bar (htmx) keeps the state in the URL
    page.get_by_label("Priority", exact=True).select_option(label="High")
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"priority=high"))
    page.screenshot(path=screenshot_dir / "02-queue-filtered.png", full_page=True)

    # and the workspace of a busy ticket reads well on a laptop and on a phone
    page.goto(f"{live_server.url}/tickets/{tickets[0].reference}/")
    expect(page.locator(".event-internal.event-message")).to_contain_text("double capture")
    page.screenshot(path=screenshot_dir / "03-workspace.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=screenshot_dir / "04-phone-workspace.png", full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.get_by_role("link", name=re.compile("Notifications, 7 unread")).click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    page.screenshot(path=screenshot_dir / "05-notifications.png", full_page=True)
    assert fired == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_reply_template_and_reply_work_with_javascript_off(
    live_server, browser, screenshot_dir, customer, agent, categories, make_ticket
):
    # given a billing ticket, a billing template, and a browser with JavaScript disabled
    ticket = make_ticket(customer, subject="Charged twice")
    ReplyTemplate.objects.create(
        name="Refund confirmed", category=categories["billing"], body="Hello {{customer_first_name}}, refunded."
    )
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _login(page, live_server.url, "agent")
    page.goto(f"{live_server.url}/tickets/{ticket.reference}/")
    # when the agent inserts the template (a plain GET) and sends the reply
    page.get_by_label("Reply template").select_option(label="Refund confirmed (Billing)")
    page.get_by_role("button", name="Insert").click()
    expect(page).to_have_url(re.compile(r"\?template=\d+"))
    expect(page.get_by_label("Message")).to_have_value("Hello Dana, refunded.")
    page.screenshot(path=screenshot_dir / "01-template-inserted-no-js.png", full_page=True)
    page.get_by_role("button", name="Send reply").click()
    # then the reply is recorded with its template
    expect(page.get_by_text("Your message was sent.")).to_be_visible()
    reply = ticket.events.get(kind="agent_reply")
    assert (reply.body, reply.data["template_id"]) == ("Hello Dana, refunded.", ReplyTemplate.objects.get().pk)
    context.close()
