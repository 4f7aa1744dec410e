"""Push on the escalation screens in Chromium, against the ASGI server (tests/browser.py ``AsgiLiveServer``): a new
escalation appears on the manager's review queue and an accepted one changes there without reload (not while the
manager is writing in one of its confirmations); the escalation's
detail page shows a colleague's accept (status, owner, chain) with the collision warning, and keeps a confirmation
its reader is filling in.

Screenshots at 1280, 1920 and 390 px go to test-results/<test name>/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from escalations.services import escalation_accept
from helpdesk.services import ticket_add_internal_note
from tests.browser import AsgiLiveServer, open_live, screenshots, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_live")]


def test_the_review_queue_shows_a_new_escalation_and_its_accept_without_reload(
    browser, screenshot_dir, customer, agent, specialist, manager, make_ticket, config, escalate
):
    with AsgiLiveServer() as server:
        # given the manager's review queue open, with push up, and nothing escalated
        page = sign_in(browser, server.url, "manager")
        open_live(page, f"{server.url}/escalations/review/")
        expect(page.get_by_text("No escalation matches these filters.")).to_be_visible()

        # when an agent escalates a ticket
        ticket = make_ticket(customer, subject="Internet drops every ten minutes", category="outage")
        escalation = escalate(ticket, agent)

        # then its row appears without a reload
        row = page.locator("#esc-live tbody.esc-item", has_text=ticket.reference)
        expect(row).to_be_visible()
        expect(row).not_to_contain_text("Priya Shah")

        # given the manager writing guidance in the row's "Return with guidance" confirmation
        row.locator("details.row-toggle > summary").click()
        row.locator("details.confirm[data-action=return] > summary").click()
        row.get_by_label("Guidance for the sender").fill("Check the line first.")

        # when the specialist accepts it, the pushed refresh comes back but is not swapped in: the draft is kept
        page.evaluate(
            "document.addEventListener('htmx:beforeSwap', (e) => { if (e.detail.target.id === 'esc-live') "
            "document.body.dataset.refreshed = e.detail.shouldSwap ? 'swapped' : 'held'; })"
        )
        escalation_accept(escalation=escalation, actor=specialist)
        expect(page.locator("body")).to_have_attribute("data-refreshed", "held")
        assert row.get_by_label("Guidance for the sender").input_value() == "Check the line first."
        expect(row.locator("tr.esc-line")).not_to_contain_text("Priya Shah")

        # when the manager closes the confirmation, the next change brings the row up to date: it names her
        row.locator("details.confirm[data-action=return] > summary").click()
        ticket_add_internal_note(ticket=ticket, author=specialist, body="Line test booked for 14:00.")
        expect(row.locator("tr.esc-line")).to_contain_text("Priya Shah")
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # never reloaded
        row.locator("details.row-toggle > summary").click()
        screenshots(page, screenshot_dir, "review-queue-pushed")


def test_the_escalation_page_shows_a_colleagues_accept_with_a_warning_and_keeps_a_draft(
    browser, screenshot_dir, customer, agent, specialist, manager, make_ticket, config, escalate
):
    ticket = make_ticket(customer, subject="Internet drops every ten minutes", category="outage")
    escalation = escalate(ticket, agent)
    with AsgiLiveServer() as server:
        # given the manager on the escalation's page, writing guidance to return it
        page = sign_in(browser, server.url, "manager")
        open_live(page, f"{server.url}/escalations/{escalation.pk}/")
        card = page.locator("#esc-detail-card")
        expect(card.locator(".esc-status-open")).to_be_visible()
        warning = page.locator("#collision-warning")
        expect(warning).to_be_hidden()
        page.locator("#esc-detail-card summary", has_text="Return with guidance").click()
        page.get_by_label("Guidance for the sender").fill("Check the line first.")

        # when the specialist accepts it
        escalation_accept(escalation=escalation, actor=specialist)

        # then the manager is warned who did what, the chain says it, and the draft is kept in its card
        expect(warning).to_be_visible()
        expect(warning).to_contain_text("Priya Shah accepted it at")
        expect(page.locator("#esc-detail-aside .chain")).to_contain_text("accepted by Priya Shah")
        assert page.get_by_label("Guidance for the sender").input_value() == "Check the line first."

        # when the manager closes the confirmation, the next change refreshes the card too
        page.locator("#esc-detail-card summary", has_text="Return with guidance").click()
        page.locator("body").click(position={"x": 5, "y": 5})
        ticket_add_internal_note(ticket=ticket, author=specialist, body="Line test booked for 14:00.")
        expect(card.locator(".esc-status-accepted")).to_be_visible()
        expect(card).to_contain_text("Owner: Priya Shah")
        expect(warning).to_contain_text("Priya Shah added an internal note at")
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # never reloaded
        screenshots(page, screenshot_dir, "escalation-detail-pushed")
