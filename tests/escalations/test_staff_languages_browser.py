"""The longer French and Spanish words hold the staff screens' layout in Chromium: the escalation inbox, an
escalation's page, the review queue and the manager dashboard at 1280, 1920 and 390 px, with the floor's layout
checks (nothing scrolls sideways, no table cut by its box, no heading clipped, no select cutting its choice).
Screenshots go to test-results/<test>/."""

from __future__ import annotations

import pytest

from tests.helpdesk.screens import test_layout_browser as layout
from tests.helpdesk.screens.test_layout_browser import LAYOUT_PROBLEMS, WIDTHS, _sign_in

busy_floor = layout.busy_floor  # the floor's busy day (50 escalations, rotas), as a fixture of this module too

LANGUAGE_WIDTHS = {name: WIDTHS[name] for name in ("laptop-1280", "wide-1920", "phone-390")}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("language", "heading"), [("fr", "Boîte des escalades"), ("es", "Bandeja de escalados")])
def test_the_staff_screens_hold_in_french_and_spanish(
    live_server, browser, screenshot_dir, busy_floor, specialist, manager, language, heading
):
    # given a specialist and a manager who read the product in French (or Spanish)
    for user in (specialist, manager):
        user.language = language
        user.save(update_fields=["language"])
    base = live_server.url
    screens = {
        "specialist": {"inbox": "/escalations/inbox/", "escalation": f"/escalations/{busy_floor[0].pk}/"},
        "manager": {"review": "/escalations/review/", "dashboard": "/reports/", "teams": "/teams/"},
    }
    problems: list[str] = []
    for username, pages in screens.items():
        for width, context_args in LANGUAGE_WIDTHS.items():
            context, page = _sign_in(browser, base, username, **context_args)
            for name, path in pages.items():
                # when each screen opens at each width
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                assert page.locator("html").get_attribute("lang") == language
                if name == "inbox":
                    assert page.locator("h1").inner_text() == heading
                page.screenshot(path=screenshot_dir / f"{name}-{width}.png", full_page=True)
                # then it holds its layout
                problems += [f"{name} at {width}: {p}" for p in page.evaluate(LAYOUT_PROBLEMS)]
            context.close()
    assert problems == [], "\n".join(problems)
