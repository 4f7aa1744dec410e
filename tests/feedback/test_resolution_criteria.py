"""Resolution criteria: an escalated ticket is resolved only with a summary, the customer told after it, and the
escalating team notified; it is closed only with a root-cause analysis."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from escalations.services import escalation_accept, escalation_escalate_further, escalation_resolve
from feedback.selectors import resolution_checklist
from feedback.services import (
    resolution_notify_escalating_team,
    resolution_record,
    resolution_send_to_customer,
)
from helpdesk.models import Notification, Status, TicketEvent
from helpdesk.services import ticket_change_status, ticket_reply

NO_SUMMARY = "No resolution summary yet: record what was done to fix the problem."
NOT_TOLD = (
    "The customer has not been sent the resolution: reply publicly after the summary, "
    "or send the automatic resolution message."
)
NOT_NOTIFIED = "The team that escalated (Frontline) has not been notified of the resolution."


def resolve_error(ticket, actor) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        ticket_change_status(ticket=ticket, actor=actor, status=Status.RESOLVED)
    return caught.value.message_dict["status"]


def test_escalated_ticket_with_nothing_done_lists_every_missing_item(escalated_ticket, specialist):
    # when the specialist tries to resolve straight away
    messages = resolve_error(escalated_ticket, specialist)
    # then all three missing items are named, and nothing changed
    assert messages == [NO_SUMMARY, NOT_TOLD, NOT_NOTIFIED]
    escalated_ticket.refresh_from_db()
    assert escalated_ticket.status == Status.OPEN
    assert not TicketEvent.objects.filter(ticket=escalated_ticket, kind="status_changed", data__to="resolved").exists()


def test_summary_alone_is_not_enough(escalated_ticket, specialist):
    # given a recorded summary
    resolution_record(ticket=escalated_ticket, actor=specialist, summary="Replaced the cache node.")
    # then the customer and the team are still missing
    assert resolve_error(escalated_ticket, specialist) == [NOT_TOLD, NOT_NOTIFIED]


def test_a_public_reply_before_the_summary_does_not_count(escalated_ticket, specialist):
    # given the agent replied (fixture), then a summary is recorded later
    later = timezone.now() + timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        resolution_record(ticket=escalated_ticket, actor=specialist, summary="Replaced the cache node.")
        resolution_notify_escalating_team(ticket=escalated_ticket, actor=specialist)
    # then the earlier reply does not tell the customer the resolution
    with time_machine.travel(later + timedelta(minutes=1), tick=False):
        assert resolve_error(escalated_ticket, specialist) == [NOT_TOLD]
        # when a public reply follows the summary
        ticket_reply(ticket=escalated_ticket, author=specialist, body="We replaced the cache node; all good now.")
        # then the ticket can be resolved
        ticket_change_status(ticket=escalated_ticket, actor=specialist, status=Status.RESOLVED)
    assert escalated_ticket.status == Status.RESOLVED


def test_the_automatic_message_tells_the_customer(escalated_ticket, specialist, customer):
    resolution_record(ticket=escalated_ticket, actor=specialist, summary="Replaced the cache node.")
    # when the automatic resolution message is sent
    resolution_send_to_customer(ticket=escalated_ticket, actor=specialist)
    # then it is a public reply carrying the summary, and the customer is emailed
    reply = TicketEvent.objects.filter(ticket=escalated_ticket, kind="agent_reply").latest("id")
    assert reply.is_public and "Replaced the cache node." in reply.body
    assert Notification.objects.filter(ticket=escalated_ticket, recipient=customer, kind="agent_reply").exists()
    assert resolve_error(escalated_ticket, specialist) == [NOT_NOTIFIED]


def test_automatic_message_and_team_notice_need_a_summary_first(escalated_ticket, specialist):
    with pytest.raises(ValidationError) as caught:
        resolution_send_to_customer(ticket=escalated_ticket, actor=specialist)
    assert caught.value.messages == ["Record the resolution summary first: it is what the customer will be sent."]
    with pytest.raises(ValidationError) as caught:
        resolution_notify_escalating_team(ticket=escalated_ticket, actor=specialist)
    assert caught.value.messages == ["Record the resolution summary first: it is what the team will be told."]


def test_every_escalating_team_of_the_chain_is_notified(escalated_ticket, specialist, manager, agent, agent2, teams):
    # given the ticket went further up: Technical -> Managers
    further = escalation_escalate_further(
        escalation=escalated_ticket.escalations.get(), actor=specialist, reason="Needs a refund decision."
    )
    assert (further.from_team, further.to_team) == (teams["technical"], teams["managers"])
    resolution_record(ticket=escalated_ticket, actor=manager, summary="Refund approved and cache fixed.")
    resolution_send_to_customer(ticket=escalated_ticket, actor=manager)
    # then both escalating teams are listed as missing
    assert resolve_error(escalated_ticket, manager) == [
        "The team that escalated (Frontline, Technical) has not been notified of the resolution."
    ]
    # when they are notified
    teams_notified = resolution_notify_escalating_team(ticket=escalated_ticket, actor=manager)
    # then every member got an in-app notice and the ticket resolves
    assert [t.name for t in teams_notified] == ["Frontline", "Technical"]
    notified = set(
        Notification.objects.filter(kind="resolution_team_notified").values_list("recipient__username", flat=True)
    )
    assert notified == {"agent", "agent2", "specialist"}
    ticket_change_status(ticket=escalated_ticket, actor=manager, status=Status.RESOLVED)


def test_summary_and_notice_from_the_escalation_engine_count(escalated_ticket, specialist):
    # given the escalation engine resolved the escalation with a summary and itself told the customer and the
    # escalating team (leaving the ticket open)
    escalation = escalated_ticket.escalations.get()
    escalation_accept(escalation=escalation, actor=specialist)
    escalation_resolve(
        escalation=escalation, actor=specialist, summary="Cache node replaced by Technical.", resolve_ticket=False
    )
    # then the checklist is complete and the ticket resolves
    checklist = resolution_checklist(ticket=escalated_ticket)
    assert checklist.summary == "Cache node replaced by Technical."
    assert [item.done for item in checklist.items] == [True, True, True]
    ticket_change_status(ticket=escalated_ticket, actor=specialist, status=Status.RESOLVED)


def test_non_escalated_ticket_resolves_without_a_checklist(customer, agent, make_ticket):
    ticket = make_ticket(customer)
    assert resolution_checklist(ticket=ticket).escalated is False
    ticket_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
    assert ticket.status == Status.RESOLVED


def test_escalated_ticket_cannot_close_without_rca(escalated_ticket, specialist, resolve):
    # given the escalated ticket is resolved
    resolve(escalated_ticket)
    # when it is closed without an RCA
    with pytest.raises(ValidationError) as caught:
        ticket_change_status(ticket=escalated_ticket, actor=specialist, status=Status.CLOSED)
    # then it is refused with the reason
    assert caught.value.message_dict["status"] == [
        "An escalated ticket cannot be closed without a root-cause analysis: write the RCA first."
    ]
    escalated_ticket.refresh_from_db()
    assert escalated_ticket.status == Status.RESOLVED


def test_workspace_shows_the_checklist_and_the_missing_items_next_to_status(
    escalated_ticket, specialist, client, login
):
    login(specialist)
    # the panel lists the three items
    page = client.get(f"/tickets/{escalated_ticket.reference}/")
    html = page.content.decode()
    assert "Resolution checklist" in html
    assert html.count('class="is-missing"') == 3
    # when the workspace form asks for "resolved"
    response = client.post(
        f"/tickets/{escalated_ticket.reference}/update/",
        {
            "version": escalated_ticket.version,
            "status": "resolved",
            "priority": escalated_ticket.priority,
            "category": escalated_ticket.category_id,
            "team": escalated_ticket.team_id,
            "assignee": escalated_ticket.assignee_id,
        },
    )
    # then the page answers 400 with each missing item next to the status field
    assert response.status_code == 400
    body = response.content.decode()
    for message in (NO_SUMMARY, NOT_NOTIFIED):
        assert message in body


def test_checklist_buttons_complete_the_checklist(escalated_ticket, specialist, client, login):
    login(specialist)
    ref = escalated_ticket.reference
    client.post(f"/tickets/{ref}/resolution/summary/", {"summary": "Cache node replaced."})
    client.post(f"/tickets/{ref}/resolution/send/")
    client.post(f"/tickets/{ref}/resolution/notify-team/")
    html = client.get(f"/tickets/{ref}/").content.decode()
    assert html.count('class="is-done"') == 3
    assert "Ready:" in html
