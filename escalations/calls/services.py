"""Writes for phone calls, warm transfers and promised callbacks.

A call is logged on a ticket (or opens one, channel ``phone``) and is a timeline event. A warm transfer is an
escalation with ``caller_waiting``: if nobody in the receiving team accepts by ``ack_due_at`` the agent is told at
once and the escalation becomes a promised callback. Callbacks remind their owner once before the window; a missed
window escalates to the owner's team lead exactly once (``breached_at`` is what analytics count). Every sweep here
is a conditional UPDATE on the state it saw, so reruns and racing beats change nothing twice.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from escalations import conf
from escalations.models import (
    Call,
    Callback,
    CallbackStatus,
    CallDirection,
    CallOutcome,
    Escalation,
    EscalationStatus,
    EscalationType,
)
from helpdesk import services as core
from helpdesk.customer_time import customer_timezone as customer_zone
from helpdesk.customer_time import customer_window, customer_window_bounds
from helpdesk.events import event_record
from helpdesk.locale import in_language_of
from helpdesk.models import Channel, EventKind, NotificationKind, TeamMembership, Ticket, User
from helpdesk.notifications import customer_message_render, notification_enqueue
from helpdesk.services import require_staff

__all__ = [
    "CallsSweepResult",
    "call_log",
    "callback_complete",
    "callback_create",
    "callback_window",
    "callbacks_breach_missed",
    "callbacks_remind_due",
    "calls_sweep",
    "customer_timezone",
    "warm_transfers_expire",
    "window_bounds",
    "window_words",
]


def _minutes(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def callback_window() -> timedelta:
    """How long a promised callback's window lasts (``CALLBACK_WINDOW_MINUTES``, default 60)."""
    return timedelta(minutes=_minutes("CALLBACK_WINDOW_MINUTES", 60))


def customer_timezone(subject: Ticket | User) -> str:
    """The name of the zone the customer reads dates in (the one rule: ``helpdesk.customer_time``)."""
    return customer_zone(subject).key


def window_bounds(callback: Callback) -> tuple[str, str]:
    """The window's start and end in the zone it was promised in: ("Monday 23 November, 14:00", "15:00")."""
    return customer_window_bounds(
        callback.window_start, callback.window_end, tz=zoneinfo.ZoneInfo(callback.customer_timezone)
    )


def window_words(callback: Callback) -> str:
    """The promised window in the customer's timezone, e.g. "Monday 23 November, 14:00–15:00 (Europe/Paris)"."""
    return customer_window(callback.window_start, callback.window_end, tz=zoneinfo.ZoneInfo(callback.customer_timezone))


# --- calls ----------------------------------------------------------------------------------------------------


@transaction.atomic
def call_log(
    *,
    actor: User,
    direction: str,
    number: str,
    summary: str,
    outcome: str,
    duration_seconds: int = 0,
    started_at: datetime | None = None,
    ticket: Ticket | None = None,
    customer: User | None = None,
    subject: str = "",
    callback: Callback | None = None,
    external_id: str = "",
) -> Call:
    """Log a call on a ticket, or open a new ticket (channel phone) for ``customer``; the call is a timeline event.
    Atomic."""
    require_staff(actor, to="log calls and callbacks")
    errors = {}
    if direction not in CallDirection.values:
        errors["direction"] = gettext("Choose inbound or outbound.")
    if outcome not in CallOutcome.values:
        errors["outcome"] = gettext("Choose how the call ended.")
    if not (number or "").strip():
        errors["number"] = gettext("Give the phone number.")
    if not (summary or "").strip():
        errors["summary"] = gettext("Summarise the call in a sentence or two.")
    if duration_seconds is None or duration_seconds < 0:
        errors["duration_seconds"] = gettext("The duration cannot be negative.")
    if ticket is None and customer is None:
        errors["customer"] = gettext("Choose the ticket, or the customer to open a new phone ticket for.")
    if errors:
        raise ValidationError(errors)
    started_at = started_at or timezone.now()
    if ticket is None:
        # The description is the customer's to read (portal, API): the agent's call notes stay in the internal
        # call event below.
        assert customer is not None  # refused above with a clear error
        ticket = core.ticket_create(
            customer=customer,
            subject=(subject or "").strip() or f"Phone call from {number.strip()}",
            description=f"Opened from a phone call with {number.strip()}.",
            channel=Channel.PHONE,
            actor=actor,
        )
    call = Call.objects.create(
        ticket=ticket,
        agent=actor,
        direction=direction,
        number=number.strip(),
        started_at=started_at,
        duration_seconds=duration_seconds,
        summary=summary.strip(),
        outcome=outcome,
        callback=callback,
        external_id=external_id,
    )
    minutes, seconds = divmod(duration_seconds, 60)
    with translation.override(settings.LANGUAGE_CODE):  # the audit trail's language, whatever the agent reads
        words = f"{call.get_direction_display()} call with {call.number} ({minutes}:{seconds:02d}), "
        words += f"{call.get_outcome_display().lower()}: {call.summary}"
    event_record(
        ticket=ticket,
        kind=EventKind.CALL,
        actor=actor,
        is_public=False,
        body=words,
        data={"call_id": call.pk, "direction": direction, "outcome": outcome, "duration_seconds": duration_seconds},
    )
    return call


# --- callbacks ------------------------------------------------------------------------------------------------


def _tell_customer_window(callback: Callback, *, template: str) -> None:
    """Email the customer the promised window from a customer-safe template. The callback's reason is the agent's
    own note (often the call's quick notes) and is never part of it."""
    ticket = callback.ticket
    with in_language_of(callback.customer):  # the window's day and month names too
        start, end = window_bounds(callback)
        body = customer_message_render(
            template,
            {
                "customer_name": callback.customer.display_name,
                "number": callback.number,
                "start": start,
                "end": end,
                "zone": callback.customer_timezone,
                "reference": ticket.reference,
            },
        )
        subject = f"[{ticket.reference}] " + gettext("We will call you back")
    notification_enqueue(
        kind=NotificationKind.CUSTOMER_CALLBACK_PROMISED,
        subject=subject,
        body=body,
        recipients=[callback.customer],
        ticket=ticket,
        url=core.ticket_url(ticket),
        in_app=False,
        data={"callback_id": callback.pk},
    )


def _number_on_record(ticket: Ticket) -> str:
    """The number of the latest call on the ticket, else the customer's or their organisation's phone."""
    last_call = Call.objects.filter(ticket=ticket).order_by("-started_at").values_list("number", flat=True).first()
    customer = ticket.customer
    return last_call or customer.phone or (customer.organization.phone if customer.organization else "")


def _callback_insert(
    *,
    ticket: Ticket,
    owner: User,
    window_start: datetime,
    window_end: datetime,
    reason: str,
    number: str,
    escalation: Escalation | None,
    now: datetime,
    customer_template: str = "callback_promised.txt",
) -> Callback:
    customer = ticket.customer
    callback = Callback.objects.create(
        ticket=ticket,
        customer=customer,
        number=number or _number_on_record(ticket),
        window_start=window_start,
        window_end=window_end,
        customer_timezone=customer_timezone(ticket),
        owner=owner,
        reason=reason,
        escalation=escalation,
        created_at=now,
    )
    event_record(
        ticket=ticket,
        kind=EventKind.CALL,
        actor=owner,
        is_public=False,
        body=f"Callback promised to {callback.number or 'the customer'}, {window_words(callback)}: {reason}",
        data={"callback_id": callback.pk, "window_start": window_start.isoformat()},
    )
    _tell_customer_window(callback, template=customer_template)
    return callback


@transaction.atomic
def callback_create(
    *,
    ticket: Ticket,
    actor: User,
    window_start: datetime,
    window_end: datetime,
    reason: str,
    number: str = "",
    owner: User | None = None,
    escalation: Escalation | None = None,
    now: datetime | None = None,
) -> Callback:
    """Promise the customer a call back inside a window; the customer is emailed the window in their timezone.
    Atomic."""
    require_staff(actor, to="log calls and callbacks")
    now = now or timezone.now()
    errors = {}
    if window_end <= window_start:
        errors["window_end"] = gettext("The window must end after it starts.")
    elif window_end <= now:
        errors["window_end"] = gettext("The window must end in the future.")
    if not (reason or "").strip():
        errors["reason"] = gettext("Say why the customer is to be called back.")
    if errors:
        raise ValidationError(errors)
    return _callback_insert(
        ticket=ticket,
        owner=owner or actor,
        window_start=window_start,
        window_end=window_end,
        reason=reason.strip(),
        number=(number or "").strip(),
        escalation=escalation,
        now=now,
    )


@transaction.atomic
def callback_complete(
    *,
    callback: Callback,
    actor: User,
    outcome: str,
    summary: str,
    duration_seconds: int = 0,
    number: str = "",
    now: datetime | None = None,
) -> Call:
    """Keep a callback: its outcome is logged as an outbound call and the callback is done. Atomic; a callback
    already done is refused."""
    require_staff(actor, to="log calls and callbacks")
    now = now or timezone.now()
    changed = (
        Callback.objects.filter(pk=callback.pk)
        .exclude(status=CallbackStatus.DONE)
        .update(status=CallbackStatus.DONE, completed_at=now, outcome=(summary or "").strip())
    )
    if not changed:
        raise ValidationError(gettext("This callback is already done."))
    callback.refresh_from_db()
    return call_log(
        actor=actor,
        ticket=callback.ticket,
        direction=CallDirection.OUTBOUND,
        number=(number or "").strip() or callback.number,
        summary=summary,
        outcome=outcome,
        duration_seconds=duration_seconds,
        started_at=now - timedelta(seconds=max(duration_seconds or 0, 0)),
        callback=callback,
    )


# --- sweeps: warm transfers, reminders, missed windows ----------------------------------------------------------


def _team_words(escalation: Escalation) -> str:
    return escalation.to_team.name if escalation.to_team else "the receiving team"


def warm_transfers_expire(*, now: datetime) -> list[Callback]:
    """A caller-waiting escalation nobody accepted by ``ack_due_at`` stops waiting and becomes a promised callback
    owned by the transferring agent, who is told in-app at once; the customer is emailed the window. Idempotent:
    one conditional UPDATE per escalation decides, so a rerun or a racing beat creates nothing twice."""
    created: list[Callback] = []
    window = callback_window()
    normal = timedelta(minutes=int(conf.get("ESCALATION_DEFAULT_ACK_MINUTES")))
    due = list(
        Escalation.objects.filter(status=EscalationStatus.OPEN, caller_waiting=True, ack_due_at__lte=now)
        .exclude(escalation_type=EscalationType.EMERGENCY)  # emergencies page managers until accepted
        .select_related("ticket", "ticket__customer", "ticket__customer__organization", "to_team", "requested_by")
        .order_by("ack_due_at", "pk")[:500]
    )
    for escalation in due:
        with transaction.atomic():
            changed = Escalation.objects.filter(
                pk=escalation.pk, status=EscalationStatus.OPEN, caller_waiting=True, ack_due_at=escalation.ack_due_at
            ).update(caller_waiting=False, ack_due_at=now + normal)
            if not changed:
                continue
            ticket = escalation.ticket
            owner = escalation.requested_by or ticket.assignee
            if owner is None:
                continue
            assert escalation.ack_due_at is not None  # selected by ack_due_at__lte
            waited = int((escalation.ack_due_at - escalation.created_at).total_seconds() // 60)
            callback = _callback_insert(
                ticket=ticket,
                owner=owner,
                window_start=now,
                window_end=now + window,
                reason=f"Warm transfer to {_team_words(escalation)} was not accepted within {waited} minutes; "
                "the escalation stays open for them.",
                number="",
                escalation=escalation,
                now=now,
                customer_template="callback_after_transfer.txt",
            )
            notification_enqueue(
                kind=NotificationKind.WARM_TRANSFER_TIMED_OUT,
                subject=f"Nobody took your transfer of {ticket.reference}: promise a callback now",
                body=f"{_team_words(escalation)} did not accept within {waited} minutes. Tell the caller they will "
                f"be called back on {window_words(callback)}.",
                recipients=[owner],
                ticket=ticket,
                url=core.ticket_url(ticket),
                email=False,
                data={"escalation_id": escalation.pk, "callback_id": callback.pk},
            )
            created.append(callback)
    return created


def callbacks_remind_due(*, now: datetime) -> int:
    """Remind each pending callback's owner once, ``CALLBACK_REMIND_MINUTES`` before its window. Idempotent."""
    lead = timedelta(minutes=_minutes("CALLBACK_REMIND_MINUTES", 15))
    reminded = 0
    due = Callback.objects.filter(
        status=CallbackStatus.PENDING, reminded_at__isnull=True, window_start__lte=now + lead, window_end__gt=now
    ).select_related("ticket", "owner", "customer")
    for callback in due[:500]:
        with transaction.atomic():
            if not Callback.objects.filter(pk=callback.pk, reminded_at__isnull=True).update(reminded_at=now):
                continue
            ticket = callback.ticket
            local = timezone.localtime(callback.window_start)
            notification_enqueue(
                kind=NotificationKind.CALLBACK_REMINDER,
                subject=f"Call {callback.customer.display_name} back at {local:%H:%M} ({ticket.reference})",
                body=f"Number: {callback.number}\nPromised window: {window_words(callback)}\nReason: {callback.reason}",
                recipients=[callback.owner],
                ticket=ticket,
                url=core.ticket_url(ticket),
                data={"callback_id": callback.pk},
            )
            reminded += 1
    return reminded


def _leads_for(user: User) -> list[User]:
    teams = TeamMembership.objects.filter(user=user).values("team")
    leads = [
        m.user
        for m in TeamMembership.objects.filter(team__in=teams, is_lead=True, user__is_active=True).select_related(
            "user"
        )
    ]
    return [lead for lead in leads if lead.pk != user.pk] or leads


def callbacks_breach_missed(*, now: datetime) -> int:
    """A pending callback whose window has ended is breached exactly once: it escalates to the owner's team lead
    (notified, and a ``call`` event on the ticket with ``data.callback_missed``) and ``breached_at`` is set for
    analytics. With no lead it is marked missed. Idempotent."""
    breached = 0
    due = Callback.objects.filter(
        status=CallbackStatus.PENDING, breached_at__isnull=True, window_end__lte=now
    ).select_related("ticket", "owner", "customer")
    for callback in due[:500]:
        with transaction.atomic():
            leads = _leads_for(callback.owner)
            status = CallbackStatus.ESCALATED if leads else CallbackStatus.MISSED
            if not Callback.objects.filter(
                pk=callback.pk, status=CallbackStatus.PENDING, breached_at__isnull=True
            ).update(status=status, breached_at=now):
                continue
            ticket = callback.ticket
            event_record(
                ticket=ticket,
                kind=EventKind.CALL,
                actor=None,
                is_public=False,
                body=f"Callback window missed ({window_words(callback)}); owner {callback.owner.display_name}"
                + (f"; escalated to {', '.join(lead.display_name for lead in leads)}." if leads else "."),
                data={"callback_id": callback.pk, "callback_missed": True, "lead_ids": [lead.pk for lead in leads]},
            )
            if leads:
                notification_enqueue(
                    kind=NotificationKind.CALLBACK_MISSED,
                    subject=f"Missed callback: {callback.customer.display_name} on {ticket.reference}",
                    body=f"{callback.owner.display_name} promised to call {callback.number} on "
                    f"{window_words(callback)} and has not logged the call.\nReason: {callback.reason}",
                    recipients=leads,
                    ticket=ticket,
                    url=core.ticket_url(ticket),
                    data={"callback_id": callback.pk},
                )
            breached += 1
    return breached


@dataclass
class CallsSweepResult:
    transfers_expired: int = 0
    callbacks_reminded: int = 0
    callbacks_breached: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def calls_sweep(*, now: datetime) -> CallsSweepResult:
    """Everything time-driven for calls, as of ``now``: expire warm transfers, remind, breach. Safe to rerun."""
    return CallsSweepResult(
        transfers_expired=len(warm_transfers_expire(now=now)),
        callbacks_reminded=callbacks_remind_due(now=now),
        callbacks_breached=callbacks_breach_missed(now=now),
    )
