"""The automatic hop of an SLA breach (``breach_hop_specs``) and the dossier every automatic route writes from the
ticket in plain sentences (``automatic_dossiers``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Max, Q

from escalations.hops.opener import Dossier, HopSpec, _fmt
from escalations.hops.router import HopRouter
from escalations.models import (
    ACTIVE_ESCALATION_STATUSES,
    ClockTarget,
    Escalation,
    EscalationMode,
    EscalationStatus,
    EscalationType,
    RiskAssessment,
    SLAClock,
)
from helpdesk.idlist import ids_in
from helpdesk.models import EventKind, Ticket, TicketEvent

TARGET_WANTS = {
    ClockTarget.FIRST_RESPONSE: "A first answer",
    ClockTarget.NEXT_RESPONSE: "An answer to their latest message",
    ClockTarget.RESOLUTION: "A resolution",
}
TARGET_WORDS = {
    ClockTarget.FIRST_RESPONSE: "first response",
    ClockTarget.NEXT_RESPONSE: "next response",
    ClockTarget.RESOLUTION: "resolution",
}


def clock_timezone(clock: SLAClock) -> str:
    policy = clock.policy
    if policy is not None and policy.calendar_id:
        return policy.calendar.timezone
    return settings.TIME_ZONE


def _short_when(moment: datetime, *, tz: str, now: datetime, weekday: bool = False) -> str:
    """``10:30 UTC`` on the same day as ``now`` (unless ``weekday``); ``Tue 10:05 UTC`` within the week; else with
    the date: ``Tue 24 Nov 10:05 GMT``. In the calendar's timezone."""
    local = moment.astimezone(ZoneInfo(tz))
    if not weekday and local.date() == now.astimezone(ZoneInfo(tz)).date():
        return local.strftime("%H:%M %Z")
    if abs(now - moment) < timedelta(days=6):
        return local.strftime("%a %H:%M %Z")
    return f"{local:%a} {local.day} {local:%b %H:%M %Z}"


def _excerpt(text: str, limit: int = 300) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def moods_from_risk(ticket_ids: Sequence[int], *, now: datetime) -> dict[int, str]:
    """The customer's mood as the risk detector read it: angry (legal, social media, cancelling, disputing a
    payment), frustrated (negative tone, repeated contact, asked for a manager), else unknown. One query for many
    tickets. The signals fade as they do on the risk panel (``RiskAssessment.as_of``)."""
    moods = {}
    for assessment in RiskAssessment.objects.filter(ids_in("ticket_id", ticket_ids)).only(
        "ticket_id", "signals", "score", "updated_at", "likelihood"
    ):
        ticket_id = assessment.ticket_id
        codes = {signal["code"] for signal in assessment.as_of(now).signals}
        if codes & {"legal", "social_media", "cancel", "payment_dispute"}:
            moods[ticket_id] = "angry"
        elif codes & {"negative_tone", "repeated_contact", "manager_request"}:
            moods[ticket_id] = "frustrated"
    return moods


def automatic_dossiers(
    *, tickets: Sequence[Ticket], clocks: dict[int, SLAClock] | None = None, now: datetime
) -> dict[int, Dossier]:
    """The dossier of an automatic hop, in plain sentences a specialist can use: the problem (subject and the
    customer's opening words), what was tried (agent replies so far and when the last was), what the customer is
    waiting for (the missed target, when it was due and the promise it belongs to), and the mood from the risk
    assessment. One home for every automatic route; a constant number of queries for many tickets."""
    ids = [ticket.pk for ticket in tickets]
    # Grouped on the events alone (a ticket with neither kind has no row: no replies, no messages), not on tickets
    # joined to their events, which groups by every ticket column.
    reply, message = EventKind.AGENT_REPLY, EventKind.CUSTOMER_MESSAGE
    facts = {
        row["ticket_id"]: row
        for row in TicketEvent.objects.filter(ids_in("ticket_id", ids), kind__in=(reply, message))
        .order_by()
        .values("ticket_id")
        .annotate(
            replies=Count("pk", filter=Q(kind=reply)),
            last_reply=Max("created_at", filter=Q(kind=reply)),
            messages=Count("pk", filter=Q(kind=message)),
        )
    }
    moods = moods_from_risk(ids, now=now)
    # A priority's words, looked up once per batch (Django's ``get_FIELD_display`` hashes every choice per call).
    priorities: dict[str, str] = {}
    dossiers = {}
    for ticket in tickets:
        clock = (clocks or {}).get(ticket.pk)
        tz = clock_timezone(clock) if clock else settings.TIME_ZONE
        fact: dict = dict(facts.get(ticket.pk) or {})
        dossiers[ticket.pk] = Dossier(
            problem=_problem_words(ticket),
            tried=_tried_words(fact, tz=tz, now=now),
            desired=_desired_words(ticket, clock, tz=tz, now=now, priorities=priorities),
            mood=moods.get(ticket.pk, "unknown"),
        )
    return dossiers


def _problem_words(ticket: Ticket) -> str:
    opening = _excerpt(ticket.description)
    subject = ticket.subject.strip().rstrip(".")
    return f"{subject}. The customer wrote: “{opening}”" if opening else f"{subject}."


def _tried_words(fact: dict, *, tz: str, now: datetime) -> str:
    replies, messages = fact.get("replies", 0), fact.get("messages", 0)
    if not replies:
        text = "No agent has replied yet."
    else:
        text = (
            f"{replies} agent repl{'y' if replies == 1 else 'ies'}; the last on "
            f"{_short_when(fact['last_reply'], tz=tz, now=now, weekday=True)}."
        )
    if messages:
        text += f" The customer has written {messages} more message{'' if messages == 1 else 's'} since opening it."
    return text


def _desired_words(
    ticket: Ticket, clock: SLAClock | None, *, tz: str, now: datetime, priorities: dict[str, str] | None = None
) -> str:
    if clock is None or clock.due_at is None:
        return "A resolution within the time we promised."
    policy = clock.policy
    promise = ""
    if policy is not None and policy.plan_id:
        priorities = {} if priorities is None else priorities
        if ticket.priority not in priorities:
            priorities[ticket.priority] = ticket.get_priority_display().lower()
        promise = f" ({policy.plan.name} plan, {priorities[ticket.priority]} priority)"
    when = _short_when(clock.due_at, tz=tz, now=now)
    on = "at" if when[0].isdigit() else "on"
    return f"{TARGET_WANTS[ClockTarget(clock.target)]} — it was due {on} {when}{promise}."


def breach_hop_specs(*, clocks: Sequence[SLAClock], now: datetime, router: HopRouter | None = None) -> list[HopSpec]:
    """The automatic hop for each breached clock's ticket (its earliest breach): the next level of its
    support-level path above any accepted hop (which it supersedes). A ticket whose hop still waits to be
    accepted gets none: its acknowledgement timer already climbs the ladder. The callers hold the tickets' locks."""
    by_ticket: dict[int, SLAClock] = {}
    for clock in sorted(clocks, key=lambda c: (c.due_at, c.pk)):
        by_ticket.setdefault(clock.ticket_id, clock)
    if not by_ticket:
        return []
    router = router or HopRouter()
    active = defaultdict(list)
    for esc in Escalation.objects.filter(ids_in("ticket_id", by_ticket), status__in=ACTIVE_ESCALATION_STATUSES):
        active[esc.ticket_id].append(esc)
    planned = []
    for ticket_id, clock in by_ticket.items():
        if any(esc.status == EscalationStatus.OPEN for esc in active[ticket_id]):
            continue
        current = max(active[ticket_id], key=lambda e: e.level, default=None)
        ticket = clock.ticket
        path, level, team = router.target(
            ticket=ticket,
            escalation_type=EscalationType.SUPPORT_LEVEL,
            mode=EscalationMode.AUTOMATIC,
            position=current.level + 1 if current else 1,
            above_tier=current.to_tier if current else ticket.tier,
            chain_path_id=current.path_id if current else None,
        )
        if team is not None:
            planned.append((clock, current, path, level, team))
    dossiers = automatic_dossiers(tickets=[c.ticket for c, *_ in planned], clocks=by_ticket, now=now)
    return [
        HopSpec(
            ticket=clock.ticket,
            escalation_type=EscalationType.SUPPORT_LEVEL,
            mode=EscalationMode.AUTOMATIC,
            to_team=team,
            position=current.level + 1 if current else 1,
            path=path,
            level=level,
            previous=current,
            reason=f"SLA breach: the {TARGET_WORDS[ClockTarget(clock.target)]} was due {_fmt(clock.due_at, clock_timezone(clock))}.",
            dossier=dossiers[clock.ticket_id],
            headline="Automatic escalation (SLA breach)",
        )
        for clock, current, path, level, team in planned
    ]
