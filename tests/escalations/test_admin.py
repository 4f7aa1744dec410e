"""Escalation admin: stateful records are read-only; accept and the compensation decisions are admin actions over
the same services as the inbox and the approvals queue, reporting per row what was done and what was refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from escalations.compensation import compensation_request_create
from escalations.models import CompensationStatus, Escalation, EscalationStatus
from escalations.services import escalation_accept
from helpdesk.models import EventKind


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_escalation_change_form_does_not_accept_state_fields(
    client, login, config, admin_user, customer, agent, manager, make_ticket, escalate
):
    # given
    escalation = escalate(make_ticket(customer, category="outage"), agent)
    login(admin_user)
    url = reverse("admin:escalations_escalation_change", args=[escalation.pk])
    assert client.get(url).status_code == 200

    # when
    client.post(url, {"status": EscalationStatus.RESOLVED, "level": 3, "accepted_by": manager.pk})

    # then
    escalation.refresh_from_db()
    assert (escalation.status, escalation.level, escalation.accepted_by) == (EscalationStatus.OPEN, 1, None)
    assert client.get(reverse("admin:escalations_escalation_add")).status_code == 403


def test_accept_action_goes_through_escalation_accept_and_reports_refusals(
    client, login, config, admin_user, customer, agent, manager, make_ticket, escalate
):
    # given: one open escalation and one a manager already accepted
    open_one = escalate(make_ticket(customer, category="outage", subject="Outage A"), agent)
    taken = escalate(make_ticket(customer, category="outage", subject="Outage B"), agent)
    escalation_accept(escalation=taken, actor=manager)
    taken.refresh_from_db()
    login(admin_user)

    # when
    response = client.post(
        reverse("admin:escalations_escalation_changelist"),
        {"action": "accept", "_selected_action": [open_one.pk, taken.pk]},
        follow=True,
    )

    # then
    shown = _messages(response)
    assert f"Done (1): {open_one.ticket.reference} (Technical): accepted; {open_one.ticket.reference} is now yours" in (
        shown
    )
    local = timezone.localtime(taken.accepted_at)
    assert (
        f"Refused — {taken.ticket.reference} (Technical): Morgan Blake accepted this escalation at "
        f"{local:%H:%M}; it is theirs now. Nothing of yours was changed."
    ) in shown
    open_one.refresh_from_db()
    assert (open_one.status, open_one.accepted_by) == (EscalationStatus.ACCEPTED, admin_user)
    assert open_one.ticket.events.filter(kind=EventKind.ESCALATION_ACCEPTED, actor=admin_user).exists()
    assert Escalation.objects.get(pk=taken.pk).accepted_by == manager


@pytest.fixture
def pending_request(config, customer, specialist, make_ticket):
    ticket = make_ticket(customer, category="billing")
    request = compensation_request_create(ticket=ticket, actor=specialist, amount="400", currency="GBP", reason="Lost")
    assert request.status == CompensationStatus.PENDING
    return request


def test_compensation_approve_action_goes_through_compensation_decide(client, login, admin_user, pending_request):
    # given
    login(admin_user)

    # when
    response = client.post(
        reverse("admin:escalations_compensationrequest_changelist"),
        {"action": "approve", "_selected_action": [pending_request.pk]},
        follow=True,
    )

    # then
    assert f"Done (1): {pending_request.ticket.reference} £400.00: approved" in _messages(response)
    pending_request.refresh_from_db()
    assert (pending_request.status, pending_request.decided_by) == (CompensationStatus.APPROVED, admin_user)
    assert pending_request.ticket.events.filter(
        is_public=True, body="We have credited £400.00 to your account."
    ).exists()


def test_compensation_reject_without_a_note_is_refused_with_the_service_message(
    client, login, admin_user, pending_request
):
    # given
    login(admin_user)
    changelist = reverse("admin:escalations_compensationrequest_changelist")

    # when
    response = client.post(
        changelist,
        {"action": "reject", "_selected_action": [pending_request.pk], "note": "", "apply": "x"},
        follow=True,
    )

    # then
    assert (
        f"Refused — {pending_request.ticket.reference} £400.00: Say why you are rejecting it; the requester will read "
        "this."
    ) in _messages(response)
    pending_request.refresh_from_db()
    assert pending_request.status == CompensationStatus.PENDING
    assert pending_request.amount == Decimal("400")


def test_compensation_change_form_cannot_change_amount_or_status(client, login, admin_user, pending_request):
    # given
    login(admin_user)

    # when
    client.post(
        reverse("admin:escalations_compensationrequest_change", args=[pending_request.pk]),
        {
            "ticket": pending_request.ticket_id,
            "escalation": "",
            "amount": "9999",
            "currency": "GBP",
            "reason": "Lost",
            "status": CompensationStatus.APPROVED,
            "decision_note": "approved by editing the row",
        },
    )

    # then
    pending_request.refresh_from_db()
    assert (pending_request.status, pending_request.amount) == (CompensationStatus.PENDING, Decimal("400"))
