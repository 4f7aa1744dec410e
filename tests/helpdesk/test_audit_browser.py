"""The audit export page in a real browser: an admin finds it in the navigation, downloads a period as JSON Lines,
and the file verifies; screenshots at laptop, wide and phone widths."""

from __future__ import annotations

import io
from datetime import UTC

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.browser import sign_in


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_downloads_a_verifiable_export(browser, live_server, screenshot_dir, admin_user, agent, tmp_path):
    # given an agent signed in and out today (so the trail has rows of today)
    page = sign_in(browser, live_server.url, "agent")
    page.context.close()
    # when the admin opens "Audit export" from the navigation
    page = sign_in(browser, live_server.url, "admin")
    page.get_by_role("link", name="Audit export").click()
    page.wait_for_url(f"{live_server.url}/audit/export/")
    for width in (1280, 1920, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=screenshot_dir / f"audit-export-{width}.png", full_page=True)
    today = timezone.now().astimezone(UTC).strftime("%d/%m/%Y")
    page.get_by_label("From (UTC)").fill(today)
    page.get_by_label("To (UTC)").fill(today)
    page.get_by_label("JSON Lines").check()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download").click()
    download = download_info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    # then the file holds the agent's sign-in and verifies
    assert download.suggested_filename.endswith(".jsonl")
    text = path.read_text()
    assert '"action": "sign_in"' in text and '"actor": "agent"' in text
    out = io.StringIO()
    call_command("audit_verify", str(path), stdout=out)
    assert out.getvalue().startswith("OK: ")
