"""The profile page in a real browser: create a token (shown once), use it, revoke it."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_profile_page_token_lifecycle_in_the_browser(page, live_server, agent, screenshot_dir):
    # given an agent signed in through the login form
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "agent")
    page.fill("#id_password", "pw-agent")
    page.click("button[type=submit]")
    # when they open their profile from the left navigation and create a token
    page.click("nav.sidenav >> text=Profile & API tokens")
    page.fill("#token-name", "CRM sync")
    page.click("text=Create token")
    raw = page.inner_text("[data-testid=new-token]")
    page.screenshot(path=str(screenshot_dir / "token-created.png"), full_page=True)
    # then the token is shown once and works against the API
    assert raw.startswith("hd_")
    assert Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/me/").status_code == 200
    page.goto(f"{live_server.url}/profile/")
    assert raw not in page.content()
    # when they revoke it
    page.click("button[aria-label='Revoke token CRM sync']")
    page.screenshot(path=str(screenshot_dir / "token-revoked.png"), full_page=True)
    # then the page says so and the token stops working at once
    assert "no longer works" in page.inner_text(".messages")
    assert "Revoked" in page.inner_text("table.queue")
    assert Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/me/").status_code == 401


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_api_docs_page_renders(page, live_server, screenshot_dir, db):
    page.goto(f"{live_server.url}/api/docs/")
    page.screenshot(path=str(screenshot_dir / "api-docs.png"), full_page=False)
    assert page.inner_text("h1") == "REST API"
    assert page.locator("section.card h2 code").count() >= 15
