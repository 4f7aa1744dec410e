"""End to end in Chromium: an agent on a call opens the call panel, escalates with the caller waiting, and a
specialist accepts in time; a second warm transfer times out (the sweep, with an explicit ``now``) and becomes a
callback in the agent's queue. Screenshots go to test-results/<test name>/."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from escalations.calls.services import warm_transfers_expire
from escalations.models import Callback, Escalation, EscalationStatus
from escalations.services import escalation_create
from tests.browser import sign_in


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_warm_transfer_accepted_then_one_timing_out_into_a_callback(
    live_server, browser, screenshot_dir, customer, agent, specialist, make_ticket, dossier
):
    from escalations.defaults import escalation_config_ensure

    escalation_config_ensure()
    base = live_server.url
    ticket = make_ticket(
        customer, subject="Internet keeps dropping", description="Every ten minutes.", category="outage"
    )

    # 1. the agent, on the phone, opens the call panel and takes notes; the playbook follows the chosen type
    agent_page = sign_in(browser, base, "agent")
    agent_page.goto(f"{base}/tickets/{ticket.reference}/")
    agent_page.get_by_role("button", name="Start a call").click()
    expect(agent_page.locator("#call-timer")).to_have_text("0:02", timeout=5000)
    agent_page.get_by_label("Number").fill("+44 20 7946 0000")
    agent_page.get_by_label("Quick notes").fill(
        "Internet drops every ten minutes since the update.\nTried: rebooted the router\n"
        "Wants: a stable line today\nMood: frustrated\nWhy: needs a firmware rollback"
    )
    agent_page.get_by_label("Escalation type (playbook)").select_option("technical")
    playbook = agent_page.locator(".call-playbook[data-type=technical]")
    expect(playbook).to_be_visible()
    expect(agent_page.locator(".call-playbook[data-type=financial]")).to_be_hidden()
    agent_page.locator("#call-panel").screenshot(path=screenshot_dir / "1-call-panel.png")
    agent_page.get_by_role("button", name="Escalate with caller waiting").click()

    # 2. the escalate form is pre-filled from the notes, with the caller waiting
    expect(agent_page.get_by_label("The problem")).to_have_value("Internet drops every ten minutes since the update.")
    expect(agent_page.get_by_label("Steps already tried")).to_have_value("rebooted the router")
    expect(agent_page.get_by_label("The customer is waiting on the line")).to_be_checked()
    agent_page.screenshot(path=screenshot_dir / "2-escalate-prefilled.png", full_page=True)
    agent_page.get_by_role("button", name="Escalate", exact=True).click()
    expect(agent_page.get_by_text("Escalated to Technical. The team and the customer have been told.")).to_be_visible()
    escalation = Escalation.objects.get(ticket=ticket)
    assert escalation.caller_waiting is True
    assert escalation.ack_due_at == escalation.created_at + timedelta(minutes=2)

    # 3. the specialist sees it on top of the inbox with a live timer, and accepts within the two minutes
    other = make_ticket(customer, subject="Older escalation", category="outage")
    older = escalation_create(
        ticket=other,
        actor=agent,
        escalation_type="technical",
        mode="functional",
        now=timezone.now() - timedelta(hours=1),
        **dossier,
    )
    spec_page = sign_in(browser, base, "specialist")
    spec_page.goto(f"{base}/escalations/inbox/")
    first = spec_page.locator("tbody.esc-item").first
    expect(first).to_contain_text(ticket.reference)
    expect(first.locator(".caller-waiting")).to_contain_text("Caller waiting")
    expect(first.locator("[data-countdown]")).to_contain_text(re.compile(r"^1m \d\ds left$|^\d+s left$"))
    spec_page.screenshot(path=screenshot_dir / "3-inbox-caller-waiting-on-top.png", full_page=True)
    first.locator("td.esc-subject").click()
    first.get_by_text("Accept", exact=True).click()
    first.get_by_role("button", name="Confirm: accept").click()
    expect(spec_page.get_by_text("It is yours now.")).to_be_visible()
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.ACCEPTED
    assert escalation.accepted_at < escalation.ack_due_at
    assert older.pk != escalation.pk

    # 4. a second warm transfer nobody accepts: the sweep (explicit now) makes it a callback
    second_ticket = make_ticket(customer, subject="Cannot log in to the portal", category="outage")
    second = escalation_create(
        ticket=second_ticket,
        actor=agent,
        escalation_type="technical",
        mode="functional",
        caller_waiting=True,
        **dossier,
    )
    assert warm_transfers_expire(now=second.ack_due_at - timedelta(seconds=1)) == []
    [callback] = warm_transfers_expire(now=second.ack_due_at + timedelta(seconds=1))
    assert warm_transfers_expire(now=second.ack_due_at + timedelta(minutes=1)) == []
    assert Callback.objects.get().escalation == second

    # 5. the agent's queue shows the callback due; the notification says why
    agent_page.goto(f"{base}/tickets/")
    banner = agent_page.locator("section.callbacks-due")
    expect(banner).to_contain_text(second_ticket.reference)
    expect(banner).to_contain_text("From a warm transfer")
    agent_page.screenshot(path=screenshot_dir / "4-queue-callback-due.png", full_page=True)
    agent_page.goto(f"{base}/notifications/")
    expect(
        agent_page.get_by_text(f"Nobody took your transfer of {second_ticket.reference}: promise a callback now")
    ).to_be_visible()
    agent_page.goto(f"{base}/calls/callbacks/")
    expect(agent_page.locator("article.callback-card")).to_contain_text(callback.reason)
    agent_page.screenshot(path=screenshot_dir / "5-my-callbacks.png", full_page=True)
