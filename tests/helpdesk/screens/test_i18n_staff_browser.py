"""The agent queue and the ticket workspace for an agent who reads French or Spanish, in Chromium, at a 1280 px laptop,
a 1920 px screen, a 390 px phone and 200 % zoom: the same layout checks as the English floor (nothing scrolls
sideways, no table cut, no heading clipped, selects show their whole choice...), so the longer words wrap and never
clip. Screenshots go to test-results/<test>/ (looked at)."""

from __future__ import annotations

import pytest

from helpdesk.models import ReplyTemplate, Status
from helpdesk.services import ticket_change_status
from helpdesk.tags import tickets_tag_add
from tests.helpdesk.screens.test_layout_browser import LAYOUT_PROBLEMS, WIDTHS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Longer words must not push a control out of its bar or card (the bulk bar's controls, the properties form's save
# button): each control's right edge stays inside its box.
INSIDE_THEIR_BOX = """() => {
  const problems = [];
  for (const [box, controls] of [['.bulk-bar', '.bulk-bar button, .bulk-bar select'], ['.properties', '.properties button']]) {
    const outer = document.querySelector(box);
    if (!outer) continue;
    const edge = outer.getBoundingClientRect().right;
    for (const el of document.querySelectorAll(controls)) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > edge + 1) problems.push(`${el.textContent.trim() || el.tagName} sticks out of ${box}`);
    }
  }
  return problems;
}"""

HEADINGS = {
    "fr": {"queue": "Tous les tickets", "reply": "Répondre au client"},
    "es": {"queue": "Todos los tickets", "reply": "Responder al cliente"},
}


@pytest.mark.parametrize("language", ["fr", "es"])
def test_queue_and_workspace_hold_in_each_language(
    live_server, browser, screenshot_dir, agent, customer, teams, make_ticket, language
):
    # given an agent who reads the language, a long team name, a reply template and tickets with tags
    agent.language = language
    agent.save(update_fields=["language"])
    teams["frontline"].name = "Customer care frontline"
    teams["frontline"].save()
    ReplyTemplate.objects.create(
        name="Acknowledge and set expectations", body="Hello {{customer_first_name}}, we are on it.", category=None
    )
    tickets = [make_ticket(customer, subject=f"Dashboard down for office {n:02d}", category="outage") for n in range(6)]
    waiting = make_ticket(customer, subject="Courier has not collected the return", category="billing")
    ticket_change_status(ticket=waiting, actor=agent, status=Status.OPEN)
    ticket_change_status(ticket=waiting, actor=agent, status=Status.PENDING_THIRD_PARTY)
    tickets_tag_add(tickets=[tickets[0], waiting], name="Refund promised by phone on Monday", actor=agent)
    words = HEADINGS[language]
    screens = {"queue": "/tickets/?scope=all&status=any", "workspace": f"/tickets/{waiting.reference}/"}

    problems: list[str] = []
    for width, context_args in WIDTHS.items():
        # when they sign in from an English browser (their own choice wins)
        context = browser.new_context(locale="en-GB", **context_args)
        page = context.new_page()
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", agent.username)
        page.fill("#id_password", f"pw-{agent.username}")
        page.locator("button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        for name, path in screens.items():
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            # then the screen is in the language
            assert page.locator("html").get_attribute("lang") == language
            if name == "queue":
                assert page.locator("h1").inner_text() == words["queue"]
            else:
                assert words["reply"] in page.locator(".reply-form h3").inner_text()
            page.screenshot(path=screenshot_dir / f"{name}-{language}-{width}.png", full_page=True)
            problems += [f"{name} at {width}: {p}" for p in page.evaluate(LAYOUT_PROBLEMS)]
            problems += [f"{name} at {width}: {p}" for p in page.evaluate(INSIDE_THEIR_BOX)]
        context.close()
    # and nothing is clipped or overflows
    assert problems == [], "\n".join(problems)
