"""Goodwill and compensation: a credit offered to de-escalate, auto-approved within the requester's tier limit,
otherwise waiting for a manager whose limit covers it (never the requester). The customer is told the outcome only,
never the approval chain."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from escalations import events
from escalations.approvals import approval_require_second_person
from escalations.errors import EscalationConflict
from escalations.models import CompensationRequest, CompensationStatus, Currency, Escalation
from escalations.selectors import approval_limit_for
from helpdesk import audit
from helpdesk import services as core
from helpdesk.locale import in_language_of
from helpdesk.models import AuditAction, NotificationKind, Ticket, User
from helpdesk.notifications import customer_message_render, notification_enqueue
from helpdesk.services import require_staff

CURRENCY_SYMBOL: dict[str, str] = {Currency.GBP: "£", Currency.EUR: "€", Currency.USD: "$"}


def money(amount: Decimal, currency: str) -> str:
    symbol = CURRENCY_SYMBOL.get(currency)
    return f"{symbol}{amount:,.2f}" if symbol else f"{amount:,.2f} {currency}"


def amount_parse(value) -> Decimal | None:
    """A compensation amount as typed: positive, at most two decimals; ``None`` when left empty."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValidationError({"compensation_amount": gettext("Enter an amount such as 120.00.")}) from exc
    exponent = amount.as_tuple().exponent  # "n"/"N"/"F" for NaN and Infinity: refused by is_finite() first
    if not amount.is_finite() or amount <= 0 or (isinstance(exponent, int) and exponent < -2):
        raise ValidationError({"compensation_amount": gettext("Enter a positive amount with at most two decimals.")})
    return amount


# --- compensation ----------------------------------------------------------------------------------------------


@transaction.atomic
def compensation_request_create(
    *,
    ticket: Ticket,
    actor: User,
    amount: Decimal | str,
    currency: str,
    reason: str,
    escalation: Escalation | None = None,
    now: datetime | None = None,
) -> CompensationRequest:
    """A goodwill credit or refund. Within the requester's tier limit it is auto-approved and recorded; above it,
    it waits in the approvals queue of managers whose limit covers it. The customer hears only of a granted credit
    (never of a pending request). Atomic."""
    require_staff(actor)
    now = now or timezone.now()
    value = amount_parse(amount)
    errors = {}
    if value is None:
        errors["compensation_amount"] = gettext("Enter the amount.")
    if currency not in Currency.values:
        errors["compensation_currency"] = gettext("Choose a currency.")
    if not (reason or "").strip():
        errors["compensation_reason"] = gettext("Say why the customer should be compensated.")
    if errors:
        raise ValidationError(errors)
    assert value is not None  # refused above when missing
    limit = approval_limit_for(user=actor, currency=currency)
    within = value <= limit
    request = CompensationRequest.objects.create(
        ticket=ticket,
        escalation=escalation,
        amount=value,
        currency=currency,
        reason=reason.strip(),
        status=CompensationStatus.AUTO_APPROVED if within else CompensationStatus.PENDING,
        requested_by=actor,
        requester_limit=limit,
        decided_by=actor if within else None,
        decided_at=now if within else None,
        created_at=now,
    )
    shown = money(value, currency)
    if within:
        _approval_audit(request=request, actor=actor, decision="auto_approved", limit=limit)
        internal = f"{shown} goodwill approved automatically (within {actor.display_name}'s limit of {money(limit, currency)}). {request.reason}"
    else:
        internal = f"{shown} goodwill requested by {actor.display_name}: above their limit of {money(limit, currency)}, waiting for a manager's approval. {request.reason}"
        approvers = [
            user
            for user in User.objects.filter(User.tier3_q()).exclude(pk=actor.pk)
            if approval_limit_for(user=user, currency=currency) >= value
        ]
        notification_enqueue(
            kind=NotificationKind.COMPENSATION_PENDING,
            subject=f"Approval needed: {shown} for {ticket.reference}",
            body=f"{actor.display_name} asks for {shown}: {request.reason}",
            recipients=approvers,
            ticket=ticket,
            url=core.ticket_url(ticket),
            data={"compensation_id": request.pk},
        )
    events.compensation_event(ticket=ticket, actor=actor, request=request, is_public=False, body=internal)
    if within:
        _tell_customer_compensation_granted(request=request, actor=actor)
    return request


def _tell_customer_compensation_granted(*, request: CompensationRequest, actor: User | None) -> None:
    """What a customer sees of compensation: the outcome, once granted (one public event and one email). Pending
    requests, rejections, limits, approvers and reasons are internal: the customer never sees the approval chain."""
    ticket = request.ticket
    with in_language_of(ticket.customer):
        public = gettext("We have credited %(amount)s to your account.") % {
            "amount": money(request.amount, request.currency)
        }
        subject = f"[{ticket.reference}] " + gettext("An update on your request")
        email = customer_message_render(
            "ticket_update.txt", {"customer_name": ticket.customer.display_name, "message": public}, to=ticket.customer
        )
    events.compensation_event(ticket=ticket, actor=actor, request=request, is_public=True, body=public)
    notification_enqueue(
        kind=NotificationKind.CUSTOMER_COMPENSATION_GRANTED,
        subject=subject,
        body=email,
        recipients=[ticket.customer],
        ticket=ticket,
        url=core.ticket_url(ticket),
    )


def _approval_audit(*, request: CompensationRequest, actor: User, decision: str, limit: Decimal) -> None:
    """Who approved (or refused) which credit, on the account-level audit trail as well as the ticket's timeline."""
    audit.record(
        AuditAction.APPROVAL,
        actor=actor,
        target=request,
        target_type="compensation_request",
        detail={
            "decision": decision,
            "ticket": request.ticket.reference,
            "amount": str(request.amount),
            "currency": request.currency,
            "approver_limit": str(limit),
            "requested_by": request.requested_by.get_username(),
        },
    )


@transaction.atomic
def compensation_decide(
    *, request: CompensationRequest, actor: User, approve: bool, note: str = "", now: datetime | None = None
) -> CompensationRequest:
    """Approve or reject a pending compensation request. Nobody decides their own request, and the approver's tier
    limit must cover the amount; a rejection needs a note (for the requester, never the customer, who hears only
    of an approved credit). One conditional UPDATE decides a race. Atomic."""
    require_staff(actor)
    now = now or timezone.now()
    approval_require_second_person(
        requested_by_id=request.requested_by_id,
        actor=actor,
        what=gettext("compensation request"),
        who=gettext("another manager"),
    )
    limit = approval_limit_for(user=actor, currency=request.currency)
    if approve and request.amount > limit:
        raise PermissionDenied(
            gettext(
                "Your approval limit is %(limit)s; this request for %(amount)s needs a manager whose limit covers it."
            )
            % {"limit": money(limit, request.currency), "amount": money(request.amount, request.currency)}
        )
    if not approve and not note.strip():
        raise ValidationError({"note": gettext("Say why you are rejecting it; the requester will read this.")})
    status = CompensationStatus.APPROVED if approve else CompensationStatus.REJECTED
    changed = CompensationRequest.objects.filter(pk=request.pk, status=CompensationStatus.PENDING).update(
        status=status, decided_by=actor, decided_at=now, decision_note=note.strip()
    )
    if not changed:
        current = CompensationRequest.objects.select_related("decided_by").get(pk=request.pk)
        who = current.decided_by.display_name if current.decided_by else gettext("someone else")
        raise EscalationConflict(
            gettext("%(who)s already decided this request (%(status)s).")
            % {"who": who, "status": str(current.get_status_display()).lower()}
        )
    request.refresh_from_db()
    shown = money(request.amount, request.currency)
    ticket = request.ticket
    verdict = "approved" if approve else "rejected"
    _approval_audit(request=request, actor=actor, decision=verdict, limit=limit)
    events.compensation_event(
        ticket=ticket,
        actor=actor,
        request=request,
        is_public=False,
        body=f"{actor.display_name} {verdict} {shown}."
        + (f" Note: {request.decision_note}" if request.decision_note else ""),
    )
    if approve:
        _tell_customer_compensation_granted(request=request, actor=actor)
    notification_enqueue(
        kind=NotificationKind.for_compensation(approved=approve),
        subject=f"{actor.display_name} {verdict} {shown} for {ticket.reference}",
        body=request.decision_note,
        recipients=[request.requested_by],
        ticket=ticket,
        url=core.ticket_url(ticket),
        email=False,
    )
    return request
