"""In Chromium against live_server: every HTML page is served under a nonce-based Content-Security-Policy (the
shared ``csp_violations`` fixture fails any browser test that triggers a violation), and the workspace's
"who else is viewing" box, without push, polls once per fallback period instead of re-triggering itself.
"""

from __future__ import annotations

import re
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
def test_workspace_presence_without_push_polls_once_per_fallback_period(
    live_server, browser, customer, agent, agent2, make_ticket
):
    # given a colleague who has the same ticket open, on live_server (WSGI: no push stream, so screens fall back)
    ticket = make_ticket(customer)
    url = f"{live_server.url}/tickets/{ticket.reference}/"
    colleague = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _login(colleague, live_server.url, "agent2")
    colleague.goto(url)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _login(page, live_server.url, "agent")
    presence_posts: list[str] = []
    page.on("request", lambda r: presence_posts.append(r.method) if r.url.endswith("/presence/") else None)
    page.clock.install()
    # when the agent keeps the workspace open for two minutes
    page.goto(url)
    expect(page.locator("#presence")).to_contain_text("Also viewing now: Jordan Lee")
    expect(page.locator("#live-status")).to_be_visible()  # "Live updates are paused …"
    for _ in range(4):
        page.clock.run_for(30_000)
        page.wait_for_timeout(400)  # the poll's answer (htmx drops a trigger while the box's request is in flight)
    # then it posted once on load and once per 30-second fallback period (never faster), updating the box in place
    assert len(presence_posts) == 5, presence_posts
    assert set(presence_posts) == {"POST"}
    assert page.locator("#presence").count() == 1
    assert page.locator("#presence").get_attribute("hx-trigger") == "load, live-poll from:body"


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
