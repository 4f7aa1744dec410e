"""Calls, warm-transfer timeouts and callbacks, through the real services with an explicit ``now``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from escalations.calls.services import (
    call_log,
    callback_complete,
    callback_create,
    callbacks_breach_missed,
    callbacks_remind_due,
    warm_transfers_expire,
)
from escalations.models import Callback, CallbackStatus, EscalationStatus
from escalations.services import escalation_accept
from escalations.sla.sweep import sla_sweep
from helpdesk.models import Channel, Notification, TicketEvent

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_call_logged_on_an_existing_ticket_is_a_timeline_event(make_ticket, customer, agent):
    # given
    ticket = make_ticket(customer)
    # when
    call = call_log(
        actor=agent,
        ticket=ticket,
        direction="inbound",
        number="+44 20 7946 0000",
        summary="Customer asked about the refund.",
        outcome="resolved",
        duration_seconds=185,
        started_at=T0,
    )
    # then
    event = TicketEvent.objects.get(ticket=ticket, kind="call")
    assert event.body == "Inbound call with +44 20 7946 0000 (3:05), resolved: Customer asked about the refund."
    assert event.is_public is False
    assert event.data["call_id"] == call.pk
    assert call.started_at == T0


def test_call_without_a_ticket_opens_a_phone_ticket(customer, agent, teams):
    # when
    call = call_log(
        actor=agent,
        customer=customer,
        direction="inbound",
        number="+44 161 496 0000",
        summary="Cannot log in since this morning.",
        outcome="escalated",
    )
    # then
    assert call.ticket.channel == Channel.PHONE
    assert call.ticket.subject == "Phone call from +44 161 496 0000"
    assert call.ticket.description == "Opened from a phone call with +44 161 496 0000."
    # the agent's notes are on the internal call event only, never in what the customer reads
    [event] = call.ticket.events.filter(kind="call")
    assert (event.is_public, event.body.endswith(": Cannot log in since this morning.")) == (False, True)


def test_call_with_missing_fields_is_refused(customer, agent, teams):
    # when
    with pytest.raises(ValidationError) as exc:
        call_log(actor=agent, direction="sideways", number=" ", summary="", outcome="maybe")
    # then
    assert exc.value.message_dict == {
        "direction": ["Choose inbound or outbound."],
        "outcome": ["Choose how the call ended."],
        "number": ["Give the phone number."],
        "summary": ["Summarise the call in a sentence or two."],
        "customer": ["Choose the ticket, or the customer to open a new phone ticket for."],
    }


def test_caller_waiting_defaults_to_two_minutes(make_ticket, customer, agent, specialist, warm_transfer):
    # given
    ticket = make_ticket(customer, category="outage")
    # when
    escalation = warm_transfer(ticket, agent, now=T0)
    # then
    assert escalation.to_team.name == "Technical"
    assert escalation.ack_due_at == T0 + timedelta(minutes=2)


def test_caller_waiting_uses_the_path_levels_caller_waiting_minutes(
    make_ticket, customer, agent, specialist, warm_transfer
):
    # given: the shipped technical path (30 minutes to accept normally)
    from escalations.defaults import escalation_config_ensure
    from escalations.models import EscalationLevel

    escalation_config_ensure()
    EscalationLevel.objects.filter(path__escalation_type="technical", position=1).update(caller_waiting_minutes=3)
    ticket = make_ticket(customer, category="outage")
    # when
    escalation = warm_transfer(ticket, agent, now=T0)
    # then
    assert escalation.ack_due_at == T0 + timedelta(minutes=3)


def test_accepted_in_time_the_transfer_makes_no_callback(make_ticket, customer, agent, specialist, warm_transfer):
    # given
    ticket = make_ticket(customer, category="outage")
    escalation = warm_transfer(ticket, agent, now=T0)
    escalation_accept(escalation=escalation, actor=specialist, now=T0 + timedelta(seconds=90))
    # when
    created = warm_transfers_expire(now=T0 + timedelta(minutes=3))
    # then
    assert created == []
    assert not Callback.objects.exists()


def test_transfer_not_accepted_in_time_becomes_a_callback_once(make_ticket, customer, agent, specialist, warm_transfer):
    # given
    customer.timezone = "Europe/Paris"
    customer.save(update_fields=["timezone"])
    ticket = make_ticket(customer, category="outage")
    escalation = warm_transfer(ticket, agent, now=T0)
    # when: before the deadline nothing happens; after it, once
    assert warm_transfers_expire(now=T0 + timedelta(seconds=119)) == []
    created = warm_transfers_expire(now=T0 + timedelta(minutes=2))
    again = warm_transfers_expire(now=T0 + timedelta(minutes=5))
    # then
    assert again == []
    [callback] = created
    assert callback.owner == agent
    assert callback.escalation == escalation
    assert callback.customer_timezone == "Europe/Paris"
    assert callback.reason == (
        "Warm transfer to Technical was not accepted within 2 minutes; the escalation stays open for them."
    )
    escalation.refresh_from_db()
    assert escalation.caller_waiting is False
    assert escalation.status == EscalationStatus.OPEN
    told = Notification.objects.get(kind="warm_transfer_timed_out")
    assert (told.recipient, told.channel) == (agent, "in_app")
    assert told.subject == f"Nobody took your transfer of {ticket.reference}: promise a callback now"
    email = Notification.objects.get(kind="customer_callback_promised", recipient=customer)
    assert email.body == (
        "Hello Dana Reyes,\n\nThank you for waiting. A specialist will call you back between Monday 23 November, "
        f"10:02 and 11:02 (Europe/Paris).\n\nYour request reference is {ticket.reference}."
    )
    assert "Warm transfer" not in email.body and "not accepted" not in email.body


def test_an_emergency_with_the_caller_waiting_keeps_paging_and_makes_no_callback(
    make_ticket, customer, agent, manager, warm_transfer
):
    # given: the shipped emergency path (10 minutes to accept, every manager paged)
    from escalations.defaults import escalation_config_ensure

    escalation_config_ensure()
    ticket = make_ticket(customer, category="outage")
    escalation = warm_transfer(ticket, agent, now=T0, escalation_type="emergency", mode="hierarchical")
    # when
    created = warm_transfers_expire(now=T0 + timedelta(minutes=11))
    # then
    assert escalation.ack_due_at == T0 + timedelta(minutes=10)
    assert created == []
    escalation.refresh_from_db()
    assert escalation.caller_waiting is True


def test_sla_sweep_does_not_page_a_waiting_caller_onward(make_ticket, customer, agent, specialist, warm_transfer):
    # given: a path with a second level, so the SLA sweep would otherwise page it
    from escalations.defaults import escalation_config_ensure

    escalation_config_ensure()
    ticket = make_ticket(customer, category="outage")
    escalation = warm_transfer(ticket, agent, now=T0)
    # when
    sla_sweep(now=escalation.ack_due_at + timedelta(seconds=1))
    # then
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.OPEN
    assert escalation.caller_waiting is True


def _callback(ticket, owner, *, start, minutes=60):
    return callback_create(
        ticket=ticket,
        actor=owner,
        window_start=start,
        window_end=start + timedelta(minutes=minutes),
        reason="Confirm the refund went through.",
        number="+44 20 7946 0001",
        now=start - timedelta(hours=2),
    )


def test_callback_window_is_emailed_in_the_organisation_timezone(make_ticket, customer, agent, org):
    # given
    org.timezone = "America/New_York"
    org.save(update_fields=["timezone"])
    ticket = make_ticket(customer)
    # when
    callback = _callback(ticket, agent, start=T0 + timedelta(hours=6))
    # then
    email = Notification.objects.get(kind="customer_callback_promised", channel="email")
    assert email.body == (
        "Hello Dana Reyes,\n\nWe will call you back on +44 20 7946 0001 between Monday 23 November, 10:00 and 11:00 "
        f"(America/New_York).\n\nYour request reference is {ticket.reference}."
    )
    assert callback.reason not in email.body
    assert callback.status == CallbackStatus.PENDING


def test_callback_window_must_end_after_it_starts(make_ticket, customer, agent):
    # given
    ticket = make_ticket(customer)
    # when
    with pytest.raises(ValidationError) as exc:
        callback_create(
            ticket=ticket, actor=agent, window_start=T0, window_end=T0, reason="x", now=T0 - timedelta(hours=1)
        )
    # then
    assert exc.value.message_dict == {"window_end": ["The window must end after it starts."]}


def test_owner_is_reminded_once_before_the_window(make_ticket, customer, agent):
    # given
    ticket = make_ticket(customer)
    _callback(ticket, agent, start=T0 + timedelta(hours=1))
    # when
    early = callbacks_remind_due(now=T0 + timedelta(minutes=44))
    first = callbacks_remind_due(now=T0 + timedelta(minutes=45))
    second = callbacks_remind_due(now=T0 + timedelta(minutes=50))
    # then
    assert (early, first, second) == (0, 1, 0)
    reminder = Notification.objects.get(kind="callback_reminder", channel="in_app")
    assert reminder.recipient == agent
    assert reminder.subject == f"Call Dana Reyes back at 10:00 ({ticket.reference})"


def test_missed_window_escalates_to_the_team_lead_exactly_once(make_ticket, customer, agent, agent2):
    # given: agent2 owns it; agent leads Frontline
    ticket = make_ticket(customer)
    callback = _callback(ticket, agent2, start=T0)
    # when
    inside = callbacks_breach_missed(now=T0 + timedelta(minutes=59))
    first = callbacks_breach_missed(now=T0 + timedelta(minutes=60))
    second = callbacks_breach_missed(now=T0 + timedelta(minutes=90))
    # then
    assert (inside, first, second) == (0, 1, 0)
    callback.refresh_from_db()
    assert callback.status == CallbackStatus.ESCALATED
    assert callback.breached_at == T0 + timedelta(minutes=60)
    told = Notification.objects.filter(kind="callback_missed")
    assert {n.recipient for n in told} == {agent}
    event = TicketEvent.objects.get(ticket=ticket, kind="call", data__callback_missed=True)
    assert event.body.endswith("owner Jordan Lee; escalated to Alex Morgan.")
    assert Callback.objects.filter(breached_at__isnull=False).count() == 1


def test_kept_callback_is_logged_as_a_call_and_is_not_breached(make_ticket, customer, agent):
    # given
    ticket = make_ticket(customer)
    callback = _callback(ticket, agent, start=T0)
    # when
    call = callback_complete(
        callback=callback,
        actor=agent,
        outcome="resolved",
        summary="Refund confirmed.",
        duration_seconds=60,
        now=T0 + timedelta(minutes=10),
    )
    breached = callbacks_breach_missed(now=T0 + timedelta(hours=2))
    # then
    callback.refresh_from_db()
    assert (callback.status, callback.outcome, breached) == (CallbackStatus.DONE, "Refund confirmed.", 0)
    assert (call.direction, call.callback, call.number) == ("outbound", callback, "+44 20 7946 0001")
    with pytest.raises(ValidationError) as exc:
        callback_complete(callback=callback, actor=agent, outcome="resolved", summary="Again.")
    assert exc.value.messages == ["This callback is already done."]


def test_calls_sweep_command_is_safe_to_rerun(make_ticket, customer, agent, specialist, warm_transfer, capsys):
    # given
    ticket = make_ticket(customer, category="outage")
    warm_transfer(ticket, agent, now=T0)
    at = (T0 + timedelta(minutes=3)).isoformat()
    # when
    call_command("calls_sweep", "--at", at)
    call_command("calls_sweep", "--at", at)
    # then
    lines = capsys.readouterr().out.strip().splitlines()
    assert '"transfers_expired": 1' in lines[0]
    assert '"transfers_expired": 0' in lines[1]
    assert Callback.objects.count() == 1
