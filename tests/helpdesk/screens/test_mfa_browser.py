"""Two-step sign-in in Chromium against live_server: a manager enrols an authenticator app (the test computes the
codes from the key shown, as the app would), signs out and in with a code; a wrong code is refused without saying
which factor failed; a recovery code works once; an admin without two-step sign-in is sent to set it up first."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from helpdesk.signin import INVALID_LOGIN_MESSAGE
from tests.helpdesk.totp import totp_code


def _sign_in(page: Page, base: str, username: str, *, password: str | None = None, code: str = "") -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password or f"pw-{username}")
    page.get_by_label("Authentication code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()


def _refusal(page: Page) -> str:
    return page.get_by_role("alert").inner_text().strip()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_manager_enrols_totp_signs_in_with_a_code_and_a_recovery_code_once(
    live_server, browser, settings, manager, screenshot_dir
):
    # given two-step sign-in required for managers, and a manager who has not set it up
    settings.MFA_REQUIRED_ROLES = ["manager", "admin"]
    settings.LOGIN_LOCKOUT_FAILURES = 10
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    # when they sign in with their password
    _sign_in(page, base, "manager")
    # then they are sent to set it up before anything else, and the navigation does not get them out of it
    expect(page).to_have_url(f"{base}/profile/two-step/")
    expect(page.get_by_text("Your role requires two-step sign-in")).to_be_visible()
    page.goto(f"{base}/tickets/")
    expect(page).to_have_url(f"{base}/profile/two-step/")
    qr = page.locator("svg.mfa-qr")
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] >= 150
    for width, height in ((1280, 900), (1920, 1080), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(screenshot_dir / f"enrol-{width}.png"), full_page=True)
    # at phone width the QR code and the code field stay inside the screen
    box = qr.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    page.set_viewport_size({"width": 1280, "height": 900})

    # when they add the key to their app and enter the code it shows
    secret = page.get_by_test_id("mfa-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(totp_code(secret))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    # then they see their recovery codes once
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = [text.strip() for text in page.get_by_test_id("recovery-codes").locator("code").all_inner_texts()]
    assert len(codes) == 10
    page.screenshot(path=str(screenshot_dir / "recovery-codes-1280.png"), full_page=True)
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_text("10 unused recovery codes left.")).to_be_visible()
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.locator("#two-step").screenshot(path=str(screenshot_dir / f"profile-two-step-{width}.png"))
    page.set_viewport_size({"width": 1280, "height": 900})

    # when they sign out, and sign in with a wrong code, then with a wrong password
    _sign_out(page)
    _sign_in(page, base, "manager", code="000000" if totp_code(secret) != "000000" else "111111")
    wrong_code = _refusal(page)
    page.screenshot(path=str(screenshot_dir / "wrong-code-1280.png"), full_page=True)
    _sign_in(page, base, "manager", password="not-my-password", code=totp_code(secret))
    wrong_password = _refusal(page)
    # then both are refused with the same words, which do not say which factor was wrong
    assert wrong_code == wrong_password == INVALID_LOGIN_MESSAGE
    expect(page).to_have_url(f"{base}/login/")

    # when they sign in with the password and the code their app shows now
    last_step = TOTPDevice.objects.get(user=manager).last_t
    _sign_in(page, base, "manager", code=totp_code(secret, after_step=last_step))
    # then they are in, straight to their screens
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.goto(f"{base}/tickets/")
    expect(page).to_have_url(f"{base}/tickets/")
    _sign_out(page)

    # when they sign in with a recovery code instead of a code
    _sign_in(page, base, "manager", code=codes[0])
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.goto(f"{base}/profile/")
    expect(page.get_by_text("9 unused recovery codes left.")).to_be_visible()
    _sign_out(page)
    # then the same recovery code does not work a second time
    _sign_in(page, base, "manager", code=codes[0])
    assert _refusal(page) == INVALID_LOGIN_MESSAGE
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_without_two_step_sign_in_is_sent_to_enrol_from_django_admin(
    live_server, browser, settings, admin_user, screenshot_dir
):
    # given two-step sign-in required for admins, and an admin who has not set it up
    settings.MFA_REQUIRED_ROLES = ["manager", "admin"]
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    # when they sign in on Django admin's own login page (which has the code field, left empty)
    page.goto(f"{base}/admin/login/?next=/admin/")
    expect(page.get_by_label("Authentication code")).to_be_visible()
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("pw-admin")
    page.get_by_role("button", name="Log in").click()
    # then Django admin sends them to set up two-step sign-in first
    expect(page).to_have_url(f"{base}/profile/two-step/")
    page.goto(f"{base}/admin/helpdesk/user/")
    expect(page).to_have_url(f"{base}/profile/two-step/")
    # when they set it up, then Django admin opens
    secret = page.get_by_test_id("mfa-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(totp_code(secret))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    page.goto(f"{base}/admin/")
    expect(page).to_have_url(f"{base}/admin/")
    expect(page.get_by_role("link", name="Users")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "admin-after-enrolment.png"))
    context.close()
