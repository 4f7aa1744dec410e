"""Push to open screens in Chromium, against the ASGI server (tests/browser.py ``AsgiLiveServer``): a warm transfer
appears on the specialist's inbox without reload with its countdown ticking; two agents on one ticket see each other
(and each other typing), a colleague's note lands in the other's timeline with the collision warning, and an open
workspace makes no background request in ten minutes while push is up; the bell counts a new notification; and a
restricted ticket's frames never go over the wire to an agent outside its team.

Screenshots at 1280, 1920 and 390 px go to test-results/<test name>/.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.test import Client
from playwright.sync_api import expect

from helpdesk.models import NotificationKind, Ticket
from helpdesk.notifications import notification_enqueue
from helpdesk.selectors import notification_unread_count
from helpdesk.services import ticket_add_internal_note
from tests.browser import AsgiLiveServer, open_live, screenshots, sign_in, sse_frames

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_live")]


def test_a_warm_transfer_appears_on_the_specialists_inbox_with_its_countdown(
    browser, screenshot_dir, customer, agent, specialist, make_ticket, config, escalate
):
    with AsgiLiveServer() as server:
        # given the specialist's inbox open, with push up
        page = sign_in(browser, server.url, "specialist")
        open_live(page, f"{server.url}/escalations/inbox/")
        expect(page.get_by_text("Nothing is waiting for your teams.")).to_be_visible()

        # when an agent escalates with the caller waiting on the line
        ticket = make_ticket(customer, subject="Internet drops every ten minutes", category="outage")
        escalate(ticket, agent, caller_waiting=True)

        # then it is on the inbox within 2 s, without a reload, and its accept countdown ticks
        row = page.locator("#esc-live tbody.esc-item", has_text=ticket.reference)
        expect(row).to_be_visible(timeout=2000)
        countdown = row.locator("[data-countdown]")
        first = countdown.inner_text()
        expect(countdown).not_to_have_text(first, timeout=3000)
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # never reloaded
        screenshots(page, screenshot_dir, "inbox-warm-transfer")


def test_two_agents_on_one_ticket_see_each_other_and_a_colleagues_note(
    browser, screenshot_dir, customer, agent, agent2, make_ticket
):
    ticket = make_ticket(customer, subject="Charged twice for invoice 42")
    with AsgiLiveServer() as server:
        url = f"{server.url}/tickets/{ticket.reference}/"
        # given Alex's workspace open, on a clock the test can move
        alex = sign_in(browser, server.url, "agent")
        alex.clock.install()
        open_live(alex, url)

        # when Jordan opens the same ticket
        jordan = sign_in(browser, server.url, "agent2")
        open_live(jordan, url)

        # then each sees the other, and Jordan sees Alex typing a reply
        expect(alex.locator("#presence")).to_contain_text("Also viewing now: Jordan Lee")
        expect(jordan.locator("#presence")).to_contain_text("Also viewing now: Alex Morgan")
        alex.locator(".reply-form textarea").press_sequentially("Hello Dana, ")
        expect(jordan.locator("#presence")).to_contain_text("Alex Morgan typing…")

        # and ten minutes of Alex's page make no background request while push is up
        requests: list[str] = []
        alex.on("request", lambda request: requests.append(f"{request.method} {request.url}"))
        alex.clock.run_for(10 * 60 * 1000)
        assert requests == []

        # when Jordan adds an internal note
        jordan.get_by_label("Internal note").fill("Bank confirms the duplicate; refund queued.")
        jordan.get_by_role("button", name="Add note").click()

        # then it appears in Alex's timeline, and Alex is warned before sending his reply
        expect(alex.locator("#timeline-live")).to_contain_text("Bank confirms the duplicate; refund queued.")
        warning = alex.locator("#collision-warning")
        expect(warning).to_be_visible()
        expect(warning).to_contain_text("Jordan Lee added an internal note at")
        assert alex.locator(".reply-form textarea").input_value() == "Hello Dana, "  # the draft is kept
        screenshots(alex, screenshot_dir, "workspace-collision")


def test_the_bell_counts_a_new_notification_and_restricted_frames_stay_off_the_wire(
    browser, screenshot_dir, customer, agent, agent2, compliance_officer, manager, make_ticket
):
    ordinary = make_ticket(customer, subject="Charged twice")
    restricted = make_ticket(customer, subject="Erase my data", category="data-privacy")
    Ticket.objects.filter(pk=restricted.pk).update(restricted=True, team=compliance_officer.teams.first())
    with AsgiLiveServer() as server:
        # given Alex's queue open, with the notifications of the two new tickets unread
        page = sign_in(browser, server.url, "agent")
        open_live(page, f"{server.url}/tickets/")
        unread = notification_unread_count(agent)
        expect(page.locator(".bell .badge-count")).to_have_text(str(unread))

        # when a notification for him arrives
        notification_enqueue(kind=NotificationKind.TICKET_ASSIGNED, subject="Assigned to you", recipients=[agent])

        # then the bell counts it without a reload
        expect(page.locator(".bell .badge-count")).to_have_text(str(unread + 1))
        expect(page.locator(".bell")).to_have_attribute("aria-label", f"Notifications, {unread + 1} unread")
        screenshots(page, screenshot_dir, "queue-bell")

        # given the raw streams of a frontline agent and of the compliance officer
        cookies = {}
        for user in (agent2, compliance_officer):
            client = Client()
            client.force_login(user)
            cookies[user.username] = client.cookies["sessionid"].value
        frames: dict[str, list[dict]] = {}
        readers = [
            threading.Thread(
                target=lambda name=name: frames.__setitem__(name, sse_frames(server.url, cookies[name], seconds=5))
            )
            for name in cookies
        ]
        for reader in readers:
            reader.start()
        time.sleep(1.5)

        # when the manager writes on the restricted ticket and on an ordinary one
        ticket_add_internal_note(ticket=restricted, author=manager, body="Legal hold.")
        ticket_add_internal_note(ticket=ordinary, author=manager, body="Refund approved.")
        for reader in readers:
            reader.join()

        # then the frontline agent's wire carries the ordinary ticket's frame and nothing about the restricted one
        seen = {
            name: {frame.get("ticket") for frame in got if frame["kind"] == "ticket"} for name, got in frames.items()
        }
        assert seen["compliance"] == {restricted.reference, ordinary.reference}
        assert seen["agent2"] == {ordinary.reference}
        assert restricted.reference not in str(frames["agent2"])
