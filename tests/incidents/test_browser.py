"""In Chromium: a manager declares a major incident, links the suggested tickets, posts an update, and a customer
reads it on their portal ticket. Screenshots of the declare form, the incident page and the dashboard panel at 1280,
1920 and 390 px go to test-results/<test name>/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import sign_in

WIDTHS = (1280, 1920, 390)


def shoot(page, screenshot_dir, name, locator=None):
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        target = locator if locator is not None else page
        kwargs = {} if locator is not None else {"full_page": True}
        target.screenshot(path=screenshot_dir / f"{name}-{width}.png", **kwargs)
    page.set_viewport_size({"width": 1366, "height": 900})


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_declare_link_suggested_tickets_and_the_update_reaches_the_portal(
    live_server, browser, screenshot_dir, manager, agent, customer, customer2, make_ticket
):
    base = live_server.url
    first = make_ticket(customer, subject="Dashboard stuck on a spinner", category="outage")
    second = make_ticket(customer2, subject="Dashboard not loading", category="outage")

    boss = sign_in(browser, base, "manager")
    boss.goto(f"{base}/incidents/new/")
    boss.get_by_label("Title").fill("Dashboard down for EU customers")
    boss.get_by_label("What customers are told").fill("Our dashboard is not loading for some customers.")
    boss.get_by_label("Internal description").fill("LB health checks failing after deploy 4411.")
    boss.get_by_label("Category").select_option(label="Outage")
    boss.get_by_label("Subject words").fill("dashboard")
    shoot(boss, screenshot_dir, "1-declare-form")
    boss.get_by_role("button", name="Declare incident").click()
    expect(boss.locator("ul.messages")).to_contain_text("declared. Link the affected tickets below.")

    suggestions = boss.locator("form[aria-labelledby=inc-suggest-h]")
    suggestions.get_by_label(f"Link {first.reference}").check()
    suggestions.get_by_label(f"Link {second.reference}").check()
    suggestions.get_by_role("button", name="Link selected tickets").click()
    expect(boss.locator("ul.messages")).to_contain_text("Linked 2 tickets")

    update = boss.locator("form[aria-labelledby=inc-update-h]")
    update.get_by_label("Status").select_option(label="Identified")
    update.get_by_label("Update for customers").fill("We found the cause and are rolling back the release.")
    update.get_by_role("button", name="Send to 2 customers").click()
    expect(boss.locator("ul.messages")).to_contain_text("Update sent on 2 tickets.")
    expect(boss.locator("section[aria-labelledby=inc-updates-h]")).to_contain_text("sent on 2 tickets")
    shoot(boss, screenshot_dir, "2-incident-page")

    boss.goto(f"{base}/reports/")
    panel = boss.locator("section[aria-labelledby=incidents-panel-h]")
    expect(panel).to_contain_text("2 linked tickets")
    shoot(boss, screenshot_dir, "3-dashboard-panel", locator=panel)

    dana = sign_in(browser, base, "customer")
    dana.goto(f"{base}/tickets/{first.reference}/")
    expect(dana.get_by_text("We found the cause and are rolling back the release.")).to_be_visible()
    expect(dana.locator("body")).not_to_contain_text("LB health checks")
    shoot(dana, screenshot_dir, "4-portal-ticket")
