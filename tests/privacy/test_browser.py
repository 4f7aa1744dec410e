"""In Chromium: the compliance officer asks, from the compliance escalation's screen, for the customer's data to be
exported; a manager approves it there; the officer downloads the archive once from the requests page, and a second
download is refused in words. Screenshots at 1280, 1920 and 390 px go to test-results/<test name>/."""

from __future__ import annotations

import zipfile

import pytest
from playwright.sync_api import expect

from escalations.services import escalation_accept
from privacy.models import DataRequest, RequestStatus
from tests.browser import sign_in

WIDTHS = (1280, 1920, 390)


def shoot(page, screenshot_dir, name):
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=screenshot_dir / f"{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_compliance_escalation_exports_the_customers_data_once(
    live_server, browser, screenshot_dir, config, customer, agent, compliance_officer, manager, make_ticket, escalate
):
    base = live_server.url
    ticket = make_ticket(
        customer, subject="Send me all my data", description="Art. 15 request.", category="data-privacy"
    )
    escalation = escalate(ticket, agent, escalation_type="compliance")
    escalation_accept(escalation=escalation, actor=compliance_officer)

    officer = sign_in(browser, base, "compliance")
    officer.goto(f"{base}/escalations/{escalation.pk}/")
    box = officer.locator("section[aria-labelledby=dp-h]")
    expect(box).to_contain_text("For Dana Reyes.")
    box.get_by_label("Reason or reference").fill("DSR-2026-17")
    box.get_by_role("button", name="Ask to export their data").click()
    expect(officer.locator("ul.messages")).to_contain_text(
        "a second person (a manager or an administrator) must approve it"
    )
    expect(box).not_to_contain_text("Approve")
    shoot(officer, screenshot_dir, "1-escalation-asked")

    boss = sign_in(browser, base, "manager")
    boss.goto(f"{base}/escalations/{escalation.pk}/")
    boss.locator("section[aria-labelledby=dp-h]").get_by_role("button", name="Approve", exact=True).click()
    expect(boss.locator("ul.messages")).to_contain_text("Archive ready to download (once)")
    shoot(boss, screenshot_dir, "2-escalation-approved")
    boss.goto(f"{base}/privacy/customers/{customer.pk}/")
    shoot(boss, screenshot_dir, "3-customer-page")

    officer.goto(f"{base}/privacy/requests/")
    shoot(officer, screenshot_dir, "4-requests")
    with officer.expect_download() as download_info:
        officer.get_by_role("link", name="Download (once)").click()
    path = download_info.value.path()
    assert "profile.json" in zipfile.ZipFile(path).namelist()
    assert DataRequest.objects.get().status == RequestStatus.DOWNLOADED

    officer.goto(f"{base}/privacy/requests/{DataRequest.objects.get().pk}/download/")
    expect(officer.get_by_role("alert")).to_contain_text("This archive was already downloaded")
    shoot(officer, screenshot_dir, "5-second-download-refused")
