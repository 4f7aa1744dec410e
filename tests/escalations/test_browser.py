"""End to end in Chromium: an agent escalates with a dossier, the specialist accepts it in the inbox and escalates it
further with a compensation above their limit, the manager approves it, and the customer's ticket page shows each
step in plain words. Screenshots go to test-results/<test name>/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from escalations.models import CompensationStatus, Escalation, EscalationStatus
from tests.browser import sign_in


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_escalation_from_dossier_to_approved_compensation(
    live_server, browser, screenshot_dir, config, customer, agent, specialist, manager, make_ticket
):
    base = live_server.url
    ticket = make_ticket(
        customer, subject="Dashboard down for the whole office", description="Spinner forever.", category="outage"
    )

    # 1. the agent escalates with a dossier
    agent_page = sign_in(browser, base, "agent")
    agent_page.goto(f"{base}/tickets/{ticket.reference}/")
    agent_page.get_by_role("link", name="Escalate…").click()
    agent_page.locator("label[for=type-technical]").click()
    preview = agent_page.locator(".type-detail-technical .pv-functional")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("Goes to Technical (tier 2). If nobody accepts within 30 minutes")
    expect(agent_page.locator(".type-detail-financial")).to_be_hidden()
    expect(agent_page.locator(".type-detail-technical").get_by_text("Reproduce the problem")).to_be_visible()
    agent_page.get_by_label("The problem").fill("Dashboard shows a spinner for everyone since 09:00.")
    agent_page.get_by_label("Steps already tried").fill("Cleared cache, two browsers, status page is green.")
    agent_page.get_by_label("What the customer wants to happen next").fill("Dashboard working before 14:00.")
    agent_page.get_by_label("Why escalate?").fill("Needs server logs tier 1 cannot read.")
    agent_page.get_by_label("The customer's mood").select_option("frustrated")
    agent_page.screenshot(path=screenshot_dir / "1-escalate-form.png", full_page=True)
    agent_page.get_by_role("button", name="Escalate", exact=True).click()
    expect(agent_page.get_by_text("Escalated to Technical. The team and the customer have been told.")).to_be_visible()
    agent_page.screenshot(path=screenshot_dir / "2-workspace-after-escalate.png", full_page=True)

    # 2. the specialist accepts it in the inbox, then escalates further with £400 (above their £250 limit)
    spec_page = sign_in(browser, base, "specialist")
    spec_page.goto(f"{base}/escalations/inbox/")
    card = spec_page.locator("tbody.esc-item", has_text=ticket.reference)
    card.locator("td.esc-subject").click()
    expect(card.get_by_text("Dashboard shows a spinner for everyone since 09:00.")).to_be_visible()
    spec_page.screenshot(path=screenshot_dir / "3-inbox.png", full_page=True)
    card.get_by_text("Accept", exact=True).click()
    expect(card.get_by_text("You become the owner and")).to_be_visible()
    card.get_by_role("button", name="Confirm: accept").click()
    expect(spec_page.get_by_text("It is yours now.")).to_be_visible()
    spec_page.goto(f"{base}/escalations/inbox/")
    mine = spec_page.locator("tbody.esc-item", has_text=ticket.reference)
    mine.locator("td.esc-subject").click()
    mine.get_by_text("Escalate further", exact=True).click()
    mine.get_by_label("Why does this need tier 3?").fill("The customer lost a day of sales; goodwill above my limit.")
    mine.get_by_label("Compensation to propose (optional)").fill("400")
    mine.get_by_label("Why compensate?").fill("One month's subscription for the lost day.")
    spec_page.screenshot(path=screenshot_dir / "4-escalate-further.png", full_page=True)
    mine.get_by_role("button", name="Confirm: escalate further").click()
    expect(spec_page.get_by_text("Escalated further to Managers.")).to_be_visible()

    # 3. the manager approves it
    mgr_page = sign_in(browser, base, "manager")
    mgr_page.goto(f"{base}/escalations/review/")
    expect(mgr_page.get_by_text("Compensation waiting for your approval")).to_be_visible()
    mgr_page.screenshot(path=screenshot_dir / "5-review-queue.png", full_page=True)
    mgr_page.goto(f"{base}/escalations/approvals/")
    mgr_page.get_by_role("button", name="Approve £400.00").click()
    expect(mgr_page.get_by_text(f"You approved £400.00 for {ticket.reference}.")).to_be_visible()
    mgr_page.screenshot(path=screenshot_dir / "6-approved.png", full_page=True)

    top = Escalation.objects.get(ticket=ticket, level=2)
    assert top.previous.status == EscalationStatus.SUPERSEDED
    assert top.compensation_requests.get().status == CompensationStatus.APPROVED

    # 4. the customer's page shows each step in plain words
    cust_page = sign_in(browser, base, "customer")
    cust_page.goto(f"{base}/tickets/{ticket.reference}/")
    for words in (
        "We have passed your request to our Technical team so that the right people handle it.",
        "Priya from our Technical team is now handling your request and will reply here.",
        "We have passed your request to our Managers team so that the right people handle it.",
        "We have credited £400.00 to your account.",
    ):
        expect(cust_page.get_by_text(words)).to_be_visible()
    expect(cust_page.get_by_text("asked a manager to approve")).to_have_count(0)
    expect(cust_page.get_by_text("tier 2")).to_have_count(0)
    expect(cust_page.get_by_text("Internal")).to_have_count(0)
    cust_page.screenshot(path=screenshot_dir / "7-customer-ticket.png", full_page=True)
