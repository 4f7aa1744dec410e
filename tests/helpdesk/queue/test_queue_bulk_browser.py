"""In Chromium: an agent ticks rows in the queue, runs a bulk priority change and reads the per-ticket report (one
ticket refused: a colleague changed it after the queue was loaded); then saves a filtered view and finds it in the
left navigation with its count. Screenshots of the queue with a selection and of the report at 1280, 1920 and 390 px
go to test-results/<test name>/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpdesk import services
from helpdesk.models import Priority, Ticket
from tests.browser import sign_in

WIDTHS = (1280, 1920, 390)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_select_rows_run_a_bulk_action_and_save_a_view(
    live_server, browser, screenshot_dir, customer, agent, agent2, teams, many_tickets
):
    # given four frontline tickets in agent's queue
    tickets = many_tickets(4)
    for ticket in tickets:
        services.ticket_assign(ticket=ticket, actor=agent, team=teams["frontline"], assignee=agent)
    page = sign_in(browser, live_server.url, "agent")
    page.goto(f"{live_server.url}/tickets/?sort=reference")
    # when the agent ticks three rows (a colleague changes one of them meanwhile) and asks for a priority change
    for ticket in tickets[:3]:
        page.get_by_label(f"Select {ticket.reference}").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("3 selected ·")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=screenshot_dir / f"queue-selection-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    services.ticket_change_priority(ticket=Ticket.objects.get(pk=tickets[1].pk), actor=agent2, priority=Priority.LOW)
    page.get_by_label("Action", exact=True).select_option(label="Change priority")
    page.get_by_role("button", name="Continue…").click()
    expect(page.get_by_role("heading", name="Change priority: 3 tickets")).to_be_visible()
    page.get_by_label("New priority").select_option(label="Urgent")
    page.get_by_role("button", name="Change priority: 3 tickets").click()
    # then the report lists two done and the changed one refused, with why
    expect(page.get_by_role("heading", name="Change priority to Urgent")).to_be_visible()
    refused = page.locator(".bulk-refused")
    expect(refused.get_by_role("heading")).to_have_text("Refused (1)")
    expect(refused).to_contain_text(tickets[1].reference)
    expect(refused).to_contain_text("This ticket was changed by Jordan Lee while you were editing it.")
    expect(page.locator(".bulk-done").get_by_role("heading")).to_have_text("Done (2)")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=screenshot_dir / f"report-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    # when the agent filters the queue to urgent tickets and saves the view
    page.goto(f"{live_server.url}/tickets/?priority=urgent")
    page.get_by_role("link", name="Save this view").click()
    page.get_by_label("Name").fill("Urgent now")
    page.get_by_role("button", name="Save view").click()
    # then the navigation lists it with its count, and it opens the filtered queue
    nav_link = page.locator("#saved-views-nav a.nav-view", has_text="Urgent now")
    expect(nav_link.locator(".nav-count")).to_have_text("2")
    page.screenshot(path=screenshot_dir / "saved-view-nav-1280.png", full_page=True)
    nav_link.click()
    expect(page.locator("table.queue tbody tr")).to_have_count(2)
