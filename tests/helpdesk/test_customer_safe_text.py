"""Text staff wrote for staff never reaches a customer.

One ticket lives its whole life through the real services, with a unique marker planted in every internal field
(internal note, call notes with a promised callback, a warm transfer that expires, dossiers, return guidance,
escalate-further reason, compensation reasons and decision notes, vendor case notes, RCA fields). Then every email
the outbox delivers, every page the customer can open and every API answer the customer can read is searched for
the markers, at several moments of the ticket's life (pending approvals are only visible while pending).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from helpdesk.models import (
    Notification,
    NotificationChannel,
    NotificationStatus,
    WebhookEndpoint,
    WebhookEventType,
)

MARKER = re.compile(r"ZZINTERNAL-[a-z0-9-]+")
# Staff wording that must not reach a customer either: the warm-transfer reason and the approval chain.
INTERNAL_PHRASES = (
    "Warm transfer",
    "not accepted within",
    "asked a manager to approve",
    "goodwill requested",
    "limit of",
    "not able to offer",
    "£900",
    "Mood:",
)


def _markers(text: str) -> set[str]:
    return set(MARKER.findall(text)) | {phrase for phrase in INTERNAL_PHRASES if phrase in text}


def _deliver_all_emails() -> None:
    """Drive the outbox as the worker does, far enough ahead that nothing is held back."""
    from helpdesk.notifications import notification_deliver

    later = timezone.now() + timedelta(days=30)
    for pk in Notification.objects.filter(
        channel=NotificationChannel.EMAIL, status=NotificationStatus.PENDING
    ).values_list("pk", flat=True):
        notification_deliver(notification_id=pk, now=later)


@pytest.fixture
def customer_views(client, login, customer):
    """Every customer page and API answer about the ticket, as one text per address."""
    login(customer)

    def read(ticket, *extra_paths: str) -> dict[str, str]:
        paths = [
            "/tickets/",
            f"/tickets/{ticket.reference}/",
            "/notifications/",
            "/api/tickets/",
            f"/api/tickets/{ticket.reference}/",
            f"/api/tickets/{ticket.reference}/events/",
            f"/api/tickets/{ticket.reference}/sla/",
            "/api/me/",
            *extra_paths,
        ]
        seen = {}
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            seen[path] = response.content.decode()
        return seen

    return read


def test_no_staff_text_reaches_the_customer(customer, agent, specialist, manager, teams, make_ticket, customer_views):
    from escalations.calls import services as calls
    from escalations.compensation import compensation_decide, compensation_request_create
    from escalations.defaults import escalation_config_ensure
    from escalations.models import CallDirection, CallOutcome, CompensationRequest
    from escalations.services import (
        escalation_accept,
        escalation_create,
        escalation_escalate_further,
        escalation_resolve,
        escalation_return,
    )
    from feedback.models import CauseCategory, Survey
    from feedback.rca import CorrectiveActionInput, rca_create, rca_review
    from feedback.services import (
        resolution_notify_escalating_team,
        resolution_record,
        resolution_send_to_customer,
        survey_path,
        surveys_send_due,
    )
    from helpdesk.services import ticket_add_internal_note, ticket_assign, ticket_change_status, ticket_reply

    # given a ticket with a marker in every field that staff write for staff, through its whole life
    escalation_config_ensure()
    WebhookEndpoint.objects.create(
        name="Customer CRM", url="https://crm.example.test/hook", secret="s", event_types=WebhookEventType.values
    )
    planted: set[str] = set()

    def mark(field: str) -> str:
        planted.add(f"ZZINTERNAL-{field}")
        return f"customer threatened to churn ZZINTERNAL-{field}"

    def dossier(suffix: str) -> dict[str, str]:
        return {
            "reason": mark(f"reason-{suffix}"),
            "dossier_problem": mark(f"problem-{suffix}"),
            "dossier_tried": mark(f"tried-{suffix}"),
            "dossier_desired_outcome": mark(f"desired-{suffix}"),
            "dossier_mood": "frustrated",
        }

    snapshots: list[dict[str, str]] = []
    ticket = make_ticket(customer, subject="Internet keeps dropping", description="It drops.", category="outage")
    ticket_assign(ticket=ticket, actor=agent, team=teams["frontline"], assignee=agent)
    ticket_reply(ticket=ticket, author=agent, body="Sorry about that, we are looking at it.")
    ticket_add_internal_note(ticket=ticket, author=agent, body=mark("note"))

    # a call with a promised callback: the quick notes are the callback's reason and the call's summary
    now = timezone.now()
    notes = mark("callnotes") + "\nMood: frustrated"
    calls.callback_create(
        ticket=ticket,
        actor=agent,
        window_start=now + timedelta(hours=1),
        window_end=now + timedelta(hours=2),
        reason=notes,
        number="+44 20 7946 0000",
        now=now,
    )
    calls.call_log(
        actor=agent,
        ticket=ticket,
        direction=CallDirection.INBOUND,
        number="+44 20 7946 0000",
        summary=notes,
        outcome=CallOutcome.CALLBACK_PROMISED,
        duration_seconds=95,
    )

    # a warm transfer nobody accepts in time, then returned with guidance
    transfer = escalation_create(
        ticket=ticket,
        actor=agent,
        escalation_type="technical",
        mode="functional",
        caller_waiting=True,
        now=now,
        **dossier("transfer"),
    )
    calls.warm_transfers_expire(now=now + timedelta(minutes=3))
    snapshots.append(customer_views(ticket))
    escalation_return(escalation=transfer, actor=specialist, guidance=mark("guidance"))

    # a third-party escalation with a vendor case
    ticket.refresh_from_db()
    vendor = escalation_create(
        ticket=ticket,
        actor=agent,
        escalation_type="third_party",
        mode="functional",
        vendor_name="Openreach",
        vendor_reference=mark("vendorref")[-30:],
        vendor_contact=mark("vendorcontact"),
        vendor_follow_up_at=timezone.now() + timedelta(days=2),
        **dossier("vendor"),
    )
    escalation_accept(escalation=vendor, actor=specialist)
    escalation_resolve(escalation=vendor, actor=specialist, summary="Our partner fixed the line.", resolve_ticket=False)

    # a technical escalation, escalated further with a compensation request above the specialist's limit
    ticket.refresh_from_db()
    technical = escalation_create(
        ticket=ticket, actor=agent, escalation_type="technical", mode="functional", **dossier("technical")
    )
    escalation_accept(escalation=technical, actor=specialist)
    further = escalation_escalate_further(
        escalation=technical,
        actor=specialist,
        reason=mark("further"),
        dossier_tried=mark("tried-further"),
        compensation_amount="520",
        compensation_currency="GBP",
        compensation_reason=mark("compreason"),
    )
    pending = CompensationRequest.objects.get(ticket=ticket, amount=Decimal("520"))
    # and a small one the agent grants within their limit, and one a manager rejects
    compensation_request_create(
        ticket=ticket, actor=agent, amount="20", currency="GBP", reason=mark("compreason-auto"), escalation=further
    )
    rejected = compensation_request_create(
        ticket=ticket, actor=specialist, amount="900", currency="GBP", reason=mark("compreason-rejected")
    )
    snapshots.append(customer_views(ticket))
    compensation_decide(request=pending, actor=manager, approve=True, note=mark("approvalnote"))
    compensation_decide(request=rejected, actor=manager, approve=False, note=mark("rejectnote"))
    escalation_accept(escalation=further, actor=manager)
    escalation_resolve(
        escalation=further, actor=manager, summary="We replaced the faulty router.", resolve_ticket=False
    )

    # resolution, survey, RCA and closing
    ticket.refresh_from_db()
    resolution_record(ticket=ticket, actor=manager, summary="We replaced the faulty router and credited you.")
    resolution_send_to_customer(ticket=ticket, actor=manager)
    resolution_notify_escalating_team(ticket=ticket, actor=manager)
    ticket_change_status(ticket=ticket, actor=manager, status="resolved")
    surveys_send_due(now=timezone.now() + timedelta(days=1))
    survey = Survey.objects.get(ticket=ticket)
    snapshots.append(customer_views(ticket, survey_path(survey=survey)))
    rca = rca_create(
        ticket=ticket,
        actor=manager,
        cause_category=CauseCategory.PRODUCT_DEFECT,
        preventable=True,
        five_whys=mark("fivewhys"),
        actions=[CorrectiveActionInput(description=mark("action"), owner=manager, due_date=timezone.now().date())],
    )
    rca_review(rca=rca, actor=manager, cause_category=CauseCategory.PROCESS_GAP, note=mark("rcareview"))
    ticket.refresh_from_db()
    ticket_change_status(ticket=ticket, actor=manager, status="closed")

    # and a call that opens a new phone ticket from the agent's quick notes
    phone = calls.call_log(
        actor=agent,
        customer=customer,
        direction=CallDirection.INBOUND,
        number="+44 20 7946 0000",
        summary=mark("phonenotes") + "\nMood: angry",
        outcome=CallOutcome.RESOLVED,
    )

    # when every email is delivered and the customer reads everything they can
    _deliver_all_emails()
    snapshots.append(customer_views(ticket, survey_path(survey=survey)))
    snapshots.append(customer_views(phone.ticket))

    # then the markers are really in the staff side (the test plants what it claims) ...
    from helpdesk.models import TicketEvent

    staff_text = " ".join(TicketEvent.objects.filter(ticket=ticket).values_list("body", flat=True))
    assert {"ZZINTERNAL-note", "ZZINTERNAL-callnotes", "ZZINTERNAL-guidance"} <= _markers(staff_text)
    # ... and none of them is in any email sent to the customer, nor any customer page or API answer
    customer_mail = [m for m in mail.outbox if customer.email in m.to]
    assert customer_mail, "the customer was sent no email at all"
    leaks = {
        f"email {number} {m.subject!r}": sorted(_markers(m.subject + "\n" + m.body))
        for number, m in enumerate(customer_mail)
    } | {
        f"{moment}:{path}": sorted(_markers(text))
        for moment, seen in enumerate(snapshots)
        for path, text in seen.items()
    }
    webhooks = Notification.objects.filter(channel=NotificationChannel.WEBHOOK)
    assert {"webhook:ticket.created", "webhook:ticket.escalated", "webhook:escalation.accepted"} <= {
        row.kind for row in webhooks
    }
    leaks |= {f"webhook {row.kind}": sorted(_markers(json.dumps(row.data))) for row in webhooks}
    assert {where: found for where, found in leaks.items() if found} == {}
    assert planted  # sanity: the markers exist
