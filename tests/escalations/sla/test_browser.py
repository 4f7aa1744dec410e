"""The SLA panels in a real browser (screenshots saved under test-results/)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from escalations.sla.sweep import sla_sweep


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, reset_sequences=True)  # see FOUNDATION_BUG in conftest
def test_sla_panels_in_the_browser(
    live_server, page, screenshot_dir, always, make_policy, ladder, make_ticket, customer, agent, specialist
):
    # given one ticket whose first response breached and one about to
    make_policy(always, first=60, nxt=120, resolution=480)
    now = timezone.now()
    with time_machine.travel(now - timedelta(minutes=90), tick=False):
        late = make_ticket(customer, subject="Dashboard not loading")
    with time_machine.travel(now - timedelta(minutes=50), tick=False):
        make_ticket(customer, subject="Invoices page shows an error")
    sla_sweep(now=now)

    # when the agent opens the late ticket
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "agent")
    page.fill("input[name=password]", "pw-agent")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/tickets/{late.reference}/")
    page.click("text=SLA history")
    page.screenshot(path=str(screenshot_dir / "workspace.png"), full_page=True)
    # then the breached clock is red and the history names the policy
    assert page.locator(".sla-panel .sla-breached").first.inner_text().startswith("Breached · overdue by 30 min")
    assert page.locator(".sla-history").get_by_text("Policy: enterprise normal").first.is_visible()

    # when the customer opens it
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "customer")
    page.fill("input[name=password]", "pw-customer")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/tickets/{late.reference}/")
    page.screenshot(path=str(screenshot_dir / "portal.png"), full_page=True)
    # then the promise is in plain words
    assert page.get_by_text("and we are running late").is_visible()
