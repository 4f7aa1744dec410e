"""Telephony events (CTI): what a phone system tells us about its calls.

A PBX or CCaaS platform POSTs one JSON event per call state change to ``/calls/telephony/events/`` (the payload is
documented in docs/API.md, *Telephony events*), signed with the same scheme as our outgoing webhooks
(``helpdesk.webhooks.webhook_signature``: HMAC-SHA256 of ``timestamp.body`` with the shared secret
``TELEPHONY_WEBHOOK_SECRET``, stale timestamps refused). Each event is stored once per ``event_id``, so a phone system
that retries delivers nothing twice; the call's state is worked out from *all* its stored events every time, so
events that arrive out of order (ended before answered) still end in the right call.

- ``ringing``: the agent's screen pops the caller's customer and open tickets (``calls_on_screen_for``).
- ``answered`` / ``ended``: the ``Call`` is logged through ``call_log`` (the one writer of calls) on the caller's
  most recent open ticket the agent can see, or on a new phone ticket; its duration is the time from answer to end.
  A call that ended unanswered is logged as "No answer". A number that matches no customer logs nothing (the event
  says so); the agent logs that call by hand.
- ``transferred``: a transfer to a team opens the warm-transfer escalation (``escalation_create`` with the caller
  waiting: the receiving team's accept countdown and, when nobody accepts, the promised callback), with a dossier
  written from the call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from escalations.calls.services import call_log
from escalations.errors import EscalationConflict
from escalations.models import (
    Call,
    CallDirection,
    CallOutcome,
    EscalationType,
    TelephonyEvent,
    TelephonyEventKind,
)
from helpdesk.errors import Invalid
from helpdesk.events import event_record
from helpdesk.live import LiveKind, live_publish
from helpdesk.models import EventKind, Role, Team, Ticket, User
from helpdesk.selectors import tickets_visible_to
from helpdesk.webhooks import webhook_signature_verify

__all__ = [
    "TelephonyEventIn",
    "TelephonyResult",
    "calls_on_screen_for",
    "customer_for_number",
    "phone_digits",
    "telephony_event_parse",
    "telephony_event_receive",
    "telephony_signature_valid",
]

FIELDS = {"event_id", "type", "call_id", "occurred_at", "number", "agent", "to_team", "escalation_type", "notes"}
# How long a call stays on the agent's screen after it rang, when no answer or end ever arrives.
SCREEN_POP_FOR = timedelta(minutes=2)
# While answered and not ended, the caller stays on the answering agent's screen (bounded, in case "ended" is lost).
ANSWERED_ON_SCREEN_FOR = timedelta(hours=2)


@dataclass(frozen=True)
class TelephonyEventIn:
    event_id: str
    kind: str
    call_ref: str
    occurred_at: datetime
    number: str
    agent: User | None
    to_team: Team | None
    escalation_type: str
    notes: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class TelephonyResult:
    event: TelephonyEvent
    duplicate: bool

    @property
    def status(self) -> str:
        return "duplicate" if self.duplicate else "processed"


def telephony_signature_valid(*, body: bytes, timestamp: str, signature: str, now: float | None = None) -> bool:
    """The outgoing webhooks' signature rule, checked with the shared secret; False when no secret is set."""
    secret = getattr(settings, "TELEPHONY_WEBHOOK_SECRET", "")
    if not secret:
        return False
    return webhook_signature_verify(secret=secret, timestamp=timestamp, body=body, signature=signature, now=now)


def phone_digits(number: str) -> str:
    """A number reduced to its digits, for matching "+44 20 7946 0001" with "020 7946 0001": compare the last nine
    digits (the subscriber number without country or trunk prefix)."""
    return re.sub(r"\D", "", number or "")[-9:]


def customer_for_number(number: str) -> User | None:
    """The active customer whose phone is this number (digits compared), else None. Several matches: the most
    recently joined, so a shared office line finds someone rather than no one."""
    key = phone_digits(number)
    if len(key) < 6:
        return None
    # A cheap LIKE on the last two digits narrows the scan (stored numbers keep their spaces); the digits rule decides.
    candidates = User.objects.filter(role=Role.CUSTOMER, is_active=True, phone__endswith=key[-2:]).order_by(
        "-date_joined"
    )
    for user in candidates.only("pk", "phone", "date_joined")[:200]:
        if phone_digits(user.phone) == key:
            return User.objects.get(pk=user.pk)
    return None


def _staff(login: str) -> User:
    user = (
        User.objects.filter(Q(username=login) | Q(email__iexact=login), is_active=True).order_by("pk").first()
        if login
        else None
    )
    if user is None or not user.is_staff_member:
        raise Invalid(f"agent: no active staff member has the login or email “{login}”.", extra={"field": "agent"})
    return user


def telephony_event_parse(data: Any) -> TelephonyEventIn:
    """Validate one event document; every refusal is an ``Invalid`` naming the field (the sender's bug, so a 400)."""
    if not isinstance(data, dict):
        raise Invalid("The body must be a JSON object.")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise Invalid(f"Unknown fields: {', '.join(unknown)}.", extra={"fields": unknown})

    def text(name: str, *, required: bool = False, max_length: int = 100) -> str:
        value = data.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise Invalid(f"{name}: must be a string.", extra={"field": name})
        value = value.strip()
        if required and not value:
            raise Invalid(f"{name}: this field is required.", extra={"field": name})
        if len(value) > max_length:
            raise Invalid(f"{name}: at most {max_length} characters.", extra={"field": name})
        return value

    event_id = text("event_id", required=True)
    kind = text("type", required=True)
    if kind not in TelephonyEventKind.values:
        raise Invalid(f"type: must be one of {', '.join(TelephonyEventKind.values)}.", extra={"field": "type"})
    call_ref = text("call_id", required=True)
    raw_at = text("occurred_at", required=True)
    occurred_at = parse_datetime(raw_at)
    if occurred_at is None or occurred_at.tzinfo is None:
        raise Invalid(
            "occurred_at: give an ISO 8601 date and time with its offset, e.g. 2026-11-30T14:05:09Z.",
            extra={"field": "occurred_at"},
        )
    number = text("number", max_length=40)
    agent_login = text("agent", required=kind in (TelephonyEventKind.RINGING, TelephonyEventKind.ANSWERED))
    agent = _staff(agent_login) if agent_login else None
    to_team = None
    escalation_type = ""
    if kind == TelephonyEventKind.TRANSFERRED:
        slug = text("to_team", required=True)
        to_team = Team.objects.filter(slug=slug).first()
        if to_team is None:
            raise Invalid(f"to_team: no team has the slug “{slug}”.", extra={"field": "to_team"})
        escalation_type = text("escalation_type") or EscalationType.TECHNICAL
        if escalation_type not in EscalationType.values or escalation_type == EscalationType.EMERGENCY:
            raise Invalid(
                "escalation_type: must be one of "
                + ", ".join(v for v in EscalationType.values if v != EscalationType.EMERGENCY)
                + ".",
                extra={"field": "escalation_type"},
            )
    return TelephonyEventIn(
        event_id=event_id,
        kind=kind,
        call_ref=call_ref,
        occurred_at=occurred_at.astimezone(UTC),
        number=number,
        agent=agent,
        to_team=to_team,
        escalation_type=escalation_type,
        notes=text("notes", max_length=2000),
        payload=data,
    )


@transaction.atomic
def telephony_event_receive(*, event: TelephonyEventIn, now: datetime | None = None) -> TelephonyResult:
    """Store a phone-system event once per ``event_id`` and bring its call up to date. Atomic and idempotent: a
    redelivered event (even two at once) changes nothing."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            row = TelephonyEvent.objects.create(
                event_id=event.event_id,
                call_ref=event.call_ref,
                kind=event.kind,
                occurred_at=event.occurred_at,
                number=event.number,
                agent=event.agent,
                customer=customer_for_number(event.number) if event.number else None,
                payload=event.payload,
                received_at=now,
            )
    except IntegrityError:
        return TelephonyResult(event=TelephonyEvent.objects.get(event_id=event.event_id), duplicate=True)
    if event.kind == TelephonyEventKind.RINGING:
        row.outcome = f"Screen pop for {event.agent.display_name}" if event.agent else "Ringing (no agent named)"
    elif event.kind == TelephonyEventKind.TRANSFERRED:
        row.outcome = _transfer(row, event=event, now=now)
    else:
        row.outcome = _call_sync(row)
    row.save(update_fields=["outcome", "call", "escalation"])
    _announce(row)
    return TelephonyResult(event=row, duplicate=False)


def _announce(row: TelephonyEvent) -> None:
    """Tell the screens of the agents this call concerns (after commit, through the one push seam) to re-read their
    screen pop: it appears on ringing and goes away once the call is answered elsewhere or ends."""
    agents = set(
        TelephonyEvent.objects.filter(call_ref=row.call_ref, agent__isnull=False).values_list("agent_id", flat=True)
    )
    if agents:
        live_publish(kind=LiveKind.CALL, payload={"call": row.call_ref}, users=sorted(agents))


def _call_events(call_ref: str) -> list[TelephonyEvent]:
    return list(TelephonyEvent.objects.filter(call_ref=call_ref).select_related("agent", "customer"))


def _first(events: list[TelephonyEvent], kind: str) -> TelephonyEvent | None:
    return next((e for e in events if e.kind == kind), None)


def _ticket_for(*, customer: User, agent: User) -> Ticket | None:
    """The caller's most recently updated open ticket that the agent may see."""
    return tickets_visible_to(agent).open().filter(customer=customer).order_by("-updated_at").first()


def _call_sync(row: TelephonyEvent) -> str:
    """Log or correct the call from every event of ``row``'s call; returns what was done, in words."""
    events = _call_events(row.call_ref)
    answered = _first(events, TelephonyEventKind.ANSWERED)
    ended = _first(events, TelephonyEventKind.ENDED)
    ringing = _first(events, TelephonyEventKind.RINGING)
    number = next((e.number for e in events if e.number), "")
    customer = next((e.customer for e in events if e.customer), None)
    agent = next((e.agent for e in (answered, ended, ringing) if e is not None and e.agent is not None), None)
    outcome = CallOutcome.ANSWERED if answered else CallOutcome.NO_ANSWER
    duration = max(int((ended.occurred_at - answered.occurred_at).total_seconds()), 0) if answered and ended else 0
    started_at = (answered or ringing or ended or row).occurred_at
    call = Call.objects.filter(external_id=row.call_ref).first()
    if call is None:
        if not answered and not ended:
            return "Nothing to log yet"
        if customer is None:
            return f"Not logged: no customer has the number {number or '(none given)'}; log the call by hand"
        if agent is None:
            return "Not logged: no agent was named for this call"
        ticket = _ticket_for(customer=customer, agent=agent)
        try:
            with transaction.atomic():
                call = call_log(
                    actor=agent,
                    direction=CallDirection.INBOUND,
                    number=number or customer.phone,
                    summary="Reported by the phone system: answered."
                    if answered
                    else "Reported by the phone system: the call was not answered.",
                    outcome=outcome,
                    duration_seconds=duration,
                    started_at=started_at,
                    ticket=ticket,
                    customer=customer,
                    subject=f"Phone call from {number}" if number else "",
                    external_id=row.call_ref,
                )
        except IntegrityError:
            # The call's other event logged it a moment ago (its row is committed now): correct that one instead.
            call = Call.objects.get(external_id=row.call_ref)
        else:
            row.call = call
            return f"Call logged on {call.ticket.reference}"
    row.call = call
    changes: dict[str, object] = {}
    if call.outcome != outcome:
        changes["outcome"] = outcome
    if call.duration_seconds != duration:
        changes["duration_seconds"] = duration
    if call.started_at != started_at:
        changes["started_at"] = started_at
    if not changes:
        return f"Call on {call.ticket.reference} unchanged"
    Call.objects.filter(pk=call.pk).update(**changes)
    minutes, seconds = divmod(duration, 60)
    event_record(
        ticket=call.ticket,
        kind=EventKind.CALL,
        actor=agent,
        is_public=False,
        body=f"Phone system: the call with {call.number} "
        + (f"was answered and lasted {minutes}:{seconds:02d}." if answered else "was not answered."),
        data={"call_id": call.pk, "outcome": outcome, "duration_seconds": duration},
    )
    return f"Call on {call.ticket.reference} updated"


def _transfer(row: TelephonyEvent, *, event: TelephonyEventIn, now: datetime) -> str:
    """Open the warm-transfer escalation of a transferred call, to the team the phone system named."""
    from escalations.services import escalation_create

    call = Call.objects.filter(external_id=row.call_ref).select_related("ticket", "agent").first()
    if call is None:
        # A transfer straight from ringing: log the answered part first (the transferring agent took the call).
        _call_sync(row)
        call = Call.objects.filter(external_id=row.call_ref).select_related("ticket", "agent").first()
    if call is None:
        return "Not escalated: the call is not logged on a ticket (unknown caller); escalate it by hand"
    row.call = call
    actor = event.agent or call.agent
    if actor is None:
        return "Not escalated: no agent was named for this transfer"
    assert event.to_team is not None  # required by the parser for a transfer
    notes = event.notes or "No notes were given on the phone system."
    try:
        with transaction.atomic():
            escalation = escalation_create(
                ticket=call.ticket,
                actor=actor,
                escalation_type=event.escalation_type,
                mode="functional",
                reason=f"Warm transfer to {event.to_team.name} from the phone system.",
                dossier_problem=call.ticket.subject,
                dossier_tried=f"{actor.display_name} took the call ({call.number}). {notes}",
                dossier_desired_outcome="Speak to a specialist now: the caller is waiting on the line.",
                dossier_mood="waiting on the line",
                caller_waiting=True,
                to_team=event.to_team,
                now=now,
            )
    except (EscalationConflict, ValidationError) as exc:
        words = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        return f"Not escalated: {words}"
    row.escalation = escalation
    return f"Warm transfer to {event.to_team.name} opened on {call.ticket.reference}"


def calls_on_screen_for(agent: User, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """The calls to pop on ``agent``'s screen: ringing for them (the last two minutes, not yet answered or ended) or
    answered by them and not ended. Each with the caller's customer and their open tickets the agent may see."""
    if not agent.is_authenticated or not agent.is_staff_member:
        return []
    now = now or timezone.now()
    recent = TelephonyEvent.objects.filter(
        agent=agent, occurred_at__gte=now - ANSWERED_ON_SCREEN_FOR, kind__in=["ringing", "answered"]
    ).select_related("customer", "customer__organization", "customer__organization__plan")
    refs = {e.call_ref for e in recent}
    if not refs:
        return []
    finished = set(
        TelephonyEvent.objects.filter(call_ref__in=refs, kind=TelephonyEventKind.ENDED).values_list(
            "call_ref", flat=True
        )
    )
    answered_by = dict(
        TelephonyEvent.objects.filter(call_ref__in=refs, kind=TelephonyEventKind.ANSWERED).values_list(
            "call_ref", "agent_id"
        )
    )
    calls: dict[str, dict[str, Any]] = {}
    for event in sorted(recent, key=lambda e: e.occurred_at, reverse=True):
        ref = event.call_ref
        if ref in calls or ref in finished:
            continue
        if ref in answered_by:
            if answered_by[ref] != agent.pk:
                continue  # a colleague took it
        elif event.occurred_at < now - SCREEN_POP_FOR:
            continue  # rang out long ago without news
        customer = event.customer or next((e.customer for e in recent if e.call_ref == ref and e.customer), None)
        tickets: QuerySet[Ticket] | list[Ticket] = (
            _open_tickets(agent=agent, customer=customer) if customer is not None else []
        )
        calls[ref] = {
            "call_ref": ref,
            "number": event.number or next((e.number for e in recent if e.call_ref == ref and e.number), ""),
            "answered": ref in answered_by,
            "since": event.occurred_at,
            "customer": customer,
            "tickets": tickets,
        }
    return list(calls.values())


def _open_tickets(*, agent: User, customer: User) -> list[Ticket]:
    return list(tickets_visible_to(agent).open().filter(customer=customer).order_by("-updated_at")[:5])
