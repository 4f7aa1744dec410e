"""Browser-test helpers shared across apps."""

from __future__ import annotations


def sign_in(browser, base: str, username: str):
    """A new browser context signed in as ``username`` (test users' password is ``pw-<username>``); its page."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"pw-{username}")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page
