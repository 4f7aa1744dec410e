"""In Chromium against live_server: every HTML page is served under a nonce-based Content-Security-Policy (the
shared ``csp_violations`` fixture fails any browser test that triggers a violation), and the workspace's
"who else is viewing" box polls once per interval instead of re-triggering itself after every answer.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"pw-{username}")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_carry_a_nonce_csp_and_the_browser_enforces_it(
    live_server, page, csp_violations, customer, agent, make_ticket
):
    # given an agent signed in and a ticket
    ticket = make_ticket(customer)
    _login(page, live_server.url, "agent")
    # when they open its workspace
    response = page.goto(f"{live_server.url}/tickets/{ticket.reference}/")
    expect(page.get_by_role("heading", name="Printer on fire")).to_be_visible()
    # then the page is served with a CSP whose scripts and styles need our origin or this response's nonce
    policy = response.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "script-src 'self' 'nonce-" in policy and "style-src 'self' 'nonce-" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page.locator("script[src*='htmx']").get_attribute("nonce") is not None  # the browser hides its value
    assert nonce not in page.content()
    assert csp_violations == []
    # when something adds an inline style attribute
    page.evaluate("document.getElementById('ticket-subject').setAttribute('style', 'color: red')")
    page.wait_for_timeout(200)
    # then the browser refuses it and the fixture has seen the violation (cleared here so this test passes)
    assert page.locator("#ticket-subject").evaluate("el => getComputedStyle(el).color") != "rgb(255, 0, 0)"
    assert any("style-src" in line for line in csp_violations), csp_violations
    csp_violations.clear()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_workspace_presence_polls_once_per_interval(
    live_server, browser, settings, customer, agent, agent2, make_ticket
):
    # given a 2-second presence poll and a colleague who has the same ticket open
    settings.PRESENCE_POLL_SECONDS = 2
    ticket = make_ticket(customer)
    url = f"{live_server.url}/tickets/{ticket.reference}/"
    colleague = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _login(colleague, live_server.url, "agent2")
    colleague.goto(url)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _login(page, live_server.url, "agent")
    presence_posts: list[float] = []
    page.on("request", lambda r: presence_posts.append(time.monotonic()) if r.url.endswith("/presence/") else None)
    # when the agent keeps the workspace open for 20 seconds
    page.goto(url)
    watched_seconds = 20
    started = time.monotonic()
    expect(page.locator("#presence")).to_contain_text("Also viewing now: Jordan Lee")
    page.wait_for_timeout((watched_seconds - (time.monotonic() - started)) * 1000)
    # then it sent the initial request and at most one per interval (plus one for timing at the edges), and it
    # kept polling (loosely bounded below: a loaded CI machine may delay a timer)
    interval = settings.PRESENCE_POLL_SECONDS
    assert watched_seconds // interval // 2 <= len(presence_posts) <= 1 + watched_seconds // interval + 1, (
        presence_posts
    )
    # and the box is still the one element, updated in place
    assert page.locator("#presence").count() == 1
    assert page.locator("#presence").get_attribute("hx-trigger") == "load, every 2s"


def test_favicon_is_served_so_no_page_logs_a_404(client):
    from django.contrib.staticfiles import finders
    from django.templatetags.static import static

    # given a browser asking for the conventional icon path
    # when it is requested
    response = client.get("/favicon.ico")
    # then it is sent to our own icon, a static file that exists
    assert response.status_code == 301
    assert response["Location"] == static("favicon.svg")
    assert "<svg" in Path(finders.find("favicon.svg")).read_text()
