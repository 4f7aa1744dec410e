"""The dashboard and the coaching view in a real browser, on the demo data, with screenshots to look at.

The demo seeder escalates through the escalation services (agent Alex Morgan escalates the tickets he keeps), so the
charts and the coaching view have a shape without any rows added here.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_dashboard_and_coaching_view_on_the_demo_data(page, live_server, screenshot_dir):
    # given the demo data
    call_command("seed_demo", "--password", "pw-demo")
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(f"{live_server.url}/login/?next=/reports/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", "pw-demo")
    page.click("button[type=submit]")
    # when the manager opens the dashboard
    page.wait_for_url(f"{live_server.url}/reports/")
    page.screenshot(path=screenshot_dir / "dashboard.png", full_page=True)
    # then the tiles, the four charts with their legends and the attention panel are on screen
    assert page.locator(".tile").count() == 8
    charts = page.locator("svg.chart[role=img]")
    assert charts.count() == 4
    assert charts.first.locator("title").first.text_content() == "Escalations per week by type, last 12 weeks"
    assert "Technical" in charts.first.locator(".legend").text_content()
    assert page.get_by_role("heading", name="Needs attention now").is_visible()
    # and who of the managers is on call this week, the backup and the hand-over in the rota's zone (the demo rota)
    on_call = page.get_by_role("list", name="On call now")
    expect(on_call).to_contain_text("Customer care managers: on call now")
    expect(on_call).to_contain_text("next hand-over Mon")
    expect(on_call).to_contain_text("(Europe/London)")
    # and the charts stay readable without colour (patterns and dash styles): look at dashboard-greyscale.png
    # (set through the CSSOM: an injected <style> would be an inline style, which our CSP refuses)
    page.evaluate("document.documentElement.style.filter = 'grayscale(1)'")
    page.locator("svg.chart").first.screenshot(path=screenshot_dir / "dashboard-greyscale-by-type.png")
    page.locator("svg.chart").nth(1).screenshot(path=screenshot_dir / "dashboard-greyscale-rates.png")
    page.locator("svg.chart").nth(2).screenshot(path=screenshot_dir / "dashboard-greyscale-sla.png")
    page.locator("svg.chart").nth(3).screenshot(path=screenshot_dir / "dashboard-greyscale-csat.png")
    # when the manager opens the coaching view
    page.get_by_role("link", name="Coaching").click()
    page.wait_for_url(f"{live_server.url}/reports/coaching/")
    page.screenshot(path=screenshot_dir / "coaching.png", full_page=True)
    # then Alex Morgan, who escalates every ticket he keeps, is listed with their top categories and past sessions
    card = page.locator(".coach-card").filter(has_text="Alex Morgan")
    assert card.count() >= 1
    assert "Top escalated categories" in card.first.text_content()
    # and the trend explorer draws a split series
    page.goto(f"{live_server.url}/reports/explorer/?metric=escalations&group=type")
    page.screenshot(path=screenshot_dir / "explorer.png", full_page=True)
    assert page.locator("svg.chart .legend text").count() >= 3
    # and the escalation rate per agent over the whole period, as a table under the chart
    page.goto(f"{live_server.url}/reports/explorer/?metric=escalation_rate&group=agent")
    page.screenshot(path=screenshot_dir / "explorer-by-agent.png", full_page=True)
    assert page.get_by_role("heading", name="Escalation rate by agent, whole period").is_visible()
    # and the SLA what-if simulator replays the last 28 days with every first-response target halved
    from django.db.models import Count

    from escalations.models import SLAPolicy

    policy = (
        SLAPolicy.objects.filter(is_active=True, first_response_minutes__isnull=False)
        .annotate(n=Count("clocks"))
        .order_by("-n", "pk")
        .first()
    )
    today = timezone.now().date()
    page.goto(
        f"{live_server.url}/reports/sla-simulator/?policy={policy.pk}"
        f"&first_response_minutes={max(policy.first_response_minutes // 2, 1)}"
        f"&start={today - dt.timedelta(days=28)}&end={today}"
    )
    page.screenshot(path=screenshot_dir / "sla-simulator.png", full_page=True)
    assert page.get_by_role("heading", name="Tickets whose outcome changes").is_visible()
