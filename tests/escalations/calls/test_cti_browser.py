"""The fake PBX rings an agent whose workspace is open, against the ASGI server with push up: the caller's screen
pop (customer, plan, open tickets) appears within 2 s without a reload, and goes away when the call ends."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser import AsgiLiveServer, sign_in
from tests.fake_pbx import FakePbx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_live")]

SECRET = "pbx-browser-secret"


def test_a_ringing_call_pops_the_caller_on_the_agents_workspace(
    browser, settings, screenshot_dir, customer, agent, make_ticket
):
    # given a known caller with an open request, and the agent's workspace open with push up
    settings.TELEPHONY_WEBHOOK_SECRET = SECRET
    customer.phone = "+44 20 7946 0101"
    customer.save(update_fields=["phone"])
    ticket = make_ticket(customer, subject="Router keeps dropping")
    with AsgiLiveServer() as server:
        page = sign_in(browser, server.url, "agent")
        page.goto(f"{server.url}/tickets/{ticket.reference}/")
        expect(page.locator("html")).to_have_attribute("data-live", "up")
        pbx = FakePbx(base_url=server.url, secret=SECRET)
        # when the phone system rings the agent
        status, _ = pbx.send("ringing", call_id="c-b1", at=timezone.now(), number="020 7946 0101", agent="agent")
        assert status == 200
        # then the screen pop shows the caller and their open request within 2 s, without a reload
        pop = page.locator("#screen-pop .screen-pop")
        expect(pop).to_be_visible(timeout=2000)
        expect(pop).to_contain_text("Ringing: 020 7946 0101")
        expect(pop).to_contain_text("Dana Reyes")
        expect(pop.get_by_role("link", name=ticket.reference)).to_be_visible()
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=screenshot_dir / f"screen-pop-{width}.png", full_page=True)
        # when the call is answered and ends
        pbx.send("answered", call_id="c-b1", at=timezone.now(), agent="agent")
        expect(pop).to_contain_text("On the line: 020 7946 0101", timeout=2000)
        pbx.send("ended", call_id="c-b1", at=timezone.now())
        # then the pop goes away
        expect(page.locator("#screen-pop .screen-pop")).to_have_count(0, timeout=2000)
