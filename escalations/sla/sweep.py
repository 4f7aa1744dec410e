"""The SLA sweep: warns, breaches and escalates the clocks that are due, then pages the next level for
escalations left unaccepted. It reads each clock through the same rules as the live engine
(``escalations.sla.clock``, with the policies and history rows of ``escalations.sla.engine``).

``sla_sweep(now=...)`` first asks, in one query, whether anything is due (an idle sweep is that query and takes no
lock). It takes clocks with ``next_check_at <= now`` in batches, locked with ``select_for_update(skip_locked=True)``
(clocks and their tickets, so a ticket being changed right now is left for the next sweep). Each batch is a constant
number of queries, and every table it writes gets one set-based INSERT per batch (``escalations.bulk``; on SQLite
as few as its variable limit allows): the history
rows are inserted with ``ignore_conflicts`` under the unique (clock, kind) constraint, stamped with the batch id, and
only the rows the INSERT actually wrote come back (``RETURNING``), so only the sweep that actually wrote a warning or
breach notifies or escalates: two sweeps, a rerun or a redelivered task all produce each exactly once. A breach is
recorded at the true deadline, not at the moment the sweep noticed it.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.db import connections, transaction
from django.db.models import F

from escalations.bulk import (
    _events_record_bulk,
    _insert_many,
    _Notice,
    _notify_bulk,
    _quiet_until,
    _team_people,
    _unsaved,
)
from escalations.hops import (
    TARGET_WORDS,
    HopRouter,
    breach_hop_specs,
    escalation_hops_open,
    escalation_hops_page,
    escalation_oncall_pages_advance,
)
from escalations.models import (
    ClockTarget,
    EscalationStatus,
    OnCallPage,
    SLAClock,
    SLAEvent,
    SLAEventKind,
    SLAPolicy,
)
from escalations.risk_model.scoring import risk_rescore_on_commit
from escalations.selectors import escalations_unacknowledged_due
from escalations.sla import clock as sla_clock
from escalations.sla.calendar import CalendarSpec
from escalations.sla.engine import _fmt, _history, _Policies, _tz
from escalations.sla.selectors import team_next_working_moments
from helpdesk.idlist import ids_in
from helpdesk.models import OPEN_STATUSES, EventKind, NotificationKind, Ticket, TicketEvent, User, WebhookEventType
from helpdesk.webhooks import webhook_emit_many

logger = logging.getLogger(__name__)


@dataclass
class SweepResult:
    warned: int = 0
    breached: int = 0
    escalated: int = 0
    paged: int = 0
    oncall_paged: int = 0
    batches: int = 0
    clocks: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def sla_sweep(*, now: datetime, batch_size: int = 1000) -> SweepResult:
    """Warn, breach and escalate every clock due at ``now``, then page the next level for escalations left
    unaccepted and the next on-call stage (backup, then everyone) of pages nobody answered. Each batch is one transaction with a bounded number of queries. Idempotent: rerunning finds
    nothing to do; exactly-once is enforced by unique constraints."""
    result = SweepResult()
    due, unacknowledged, oncall = _due_now(now=now)
    while due:
        with transaction.atomic():
            clocks = list(
                SLAClock.objects.select_for_update(skip_locked=True, of=("self", "ticket"))
                .select_related("ticket")
                .filter(next_check_at__lte=now)
                .order_by("next_check_at", "pk")[:batch_size]
            )
            if clocks:
                _attach_policies(clocks)
                _sweep_batch(clocks, now=now, result=result)
        if not clocks:
            break
        result.batches += 1
        result.clocks += len(clocks)
        if len(clocks) < batch_size:
            break
    # Escalating can make hops due at once (a level with no time to accept): after any clock work the paging parts
    # probe again themselves.
    if unacknowledged or result.clocks:
        result.paged = sla_page_unacknowledged(now=now, batch_size=batch_size)
    if oncall or result.clocks:
        result.oncall_paged = escalation_oncall_pages_advance(now=now, batch_size=batch_size)
    if result.clocks or result.paged or result.oncall_paged:
        logger.info("sla sweep at %s: %s", now.isoformat(), result.as_dict())
    return result


def _due_now(*, now: datetime) -> tuple[bool, bool, bool]:
    """Whether any clock, unacknowledged hop or on-call stage is due, in one round trip of plain indexed probes
    (``SELECT EXISTS(…), EXISTS(…), EXISTS(…)``): an idle sweep is this one query and takes no lock (on SQLite a
    write transaction would). The probes are the very querysets the three parts take their batches from."""
    probes = [
        SLAClock.objects.filter(next_check_at__lte=now),
        escalations_unacknowledged_due(now=now),
        OnCallPage.objects.filter(next_due_at__lte=now),
    ]
    parts, params = [], []
    for probe in probes:
        query = probe.order_by().values("pk")[:1].query
        sql, args = query.get_compiler(using=probe.db).as_sql()
        parts.append(f"EXISTS({sql})")
        params.extend(args)
    connection = connections[probes[0].db]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return bool(row[0]), bool(row[1]), bool(row[2])


def _attach_policies(clocks: list[SLAClock]) -> None:
    """One query for the batch's few distinct policies (shared instances), instead of joining them on every row."""
    ids = {clock.policy_id for clock in clocks if clock.policy_id}
    policies = (
        SLAPolicy.objects.select_related("calendar", "plan")
        .prefetch_related("calendar__intervals", "calendar__holidays")
        .in_bulk(ids)
        if ids
        else {}
    )
    for clock in clocks:
        clock.policy = policies.get(clock.policy_id)


_NO_POLICY = sla_clock.ClockPolicy(
    key=None, name="", targets={}, warn_percent=80, pause_statuses=frozenset(), spec=CalendarSpec.always()
)


def _sweep_claims(clocks: list[SLAClock], *, now: datetime) -> list[SLAEvent]:
    """The warnings and breaches the clock rules find at ``now``; a breach also marks a warning never seen as warned
    (``warned_at``) but only the breach is written to the history and acted on."""
    policies = _Policies.of(clocks)
    claims: list[SLAEvent] = []
    for clock in clocks:
        if clock.ticket.status not in OPEN_STATUSES:
            continue
        warns, breaches = sla_clock.sweep_decision(clock, policies.get(clock.policy_id, _NO_POLICY), now)
        due, tz = clock.due_at, _tz(clock)
        if breaches and due is not None:
            claims.append(_history(clock, SLAEventKind.BREACHED, due, f"Missed: due {_fmt(due, tz)}."))
        elif warns and clock.warn_at is not None:
            percent = clock.policy.warn_percent if clock.policy else 80
            claims.append(_history(clock, SLAEventKind.WARNED, clock.warn_at, f"{percent}% used: due {_fmt(due, tz)}."))
    return claims


def _sweep_batch(clocks: list[SLAClock], *, now: datetime, result: SweepResult) -> None:
    token = uuid.uuid4()
    claims = _sweep_claims(clocks, now=now)
    for claim in claims:
        claim.batch = token
    # Only the rows this INSERT wrote come back: a claim another sweep (or an earlier run) holds is not ours.
    won = set(_insert_many(SLAEvent, claims, ignore_conflicts=True, returning=("clock_id", "kind")) or [])

    claimed: dict[int, set[str]] = defaultdict(set)
    for claim in claims:
        claimed[claim.clock_id].add(claim.kind)
    warned, breached, recorded_warnings = [], [], []
    for clock in clocks:
        kinds = claimed.get(clock.pk, set())
        # A claim lost to a row already written means the clock was already warned or breached: record it too.
        if SLAEventKind.BREACHED in kinds:
            clock.breached_at = clock.due_at
            if (clock.pk, SLAEventKind.BREACHED) in won:
                breached.append(clock)
        if SLAEventKind.BREACHED in kinds and clock.warned_at is None:
            clock.warned_at = now
            recorded_warnings.append(clock)
        if SLAEventKind.WARNED in kinds:
            clock.warned_at = now
            recorded_warnings.append(clock)
            if (clock.pk, SLAEventKind.WARNED) in won:
                warned.append(clock)
        open_ticket = clock.ticket.status in OPEN_STATUSES
        clock.next_check_at = sla_clock.pending_check(clock) if open_ticket else None
        clock.updated_at = now

    _sla_notify_warnings(clocks=warned, now=now)
    _sla_webhooks(WebhookEventType.SLA_BREACHED, breached)
    escalated = sla_escalate_breached(clocks=breached, now=now) if breached else 0
    _save_swept(clocks, warned=recorded_warnings, now=now)
    # A warning or a breach changes the escalation-risk reading: one batched re-score after the batch commits.
    risk_rescore_on_commit({clock.ticket_id for clock in (*warned, *breached)})
    result.warned += len(warned)
    result.breached += len(breached)
    result.escalated += escalated


def _save_swept(clocks: list[SLAClock], *, warned: list[SLAClock], now: datetime) -> None:
    """Write the batch back with one UPDATE per kind of outcome (not one per clock, and not Django's per-row CASE
    ``bulk_update``, which is slow at this size): most values are shared or are the clock's own ``due_at``."""
    newly_warned = {clock.pk for clock in warned}
    groups: dict[tuple, list[int]] = defaultdict(list)
    singles: list[SLAClock] = []
    for clock in clocks:
        if clock.next_check_at is None:
            check = None
        elif clock.next_check_at == clock.due_at:
            check = "due"
        else:
            singles.append(clock)
            continue
        breached = clock.breached_at is not None and clock.breached_at == clock.due_at
        groups[(clock.pk in newly_warned, breached, check, clock.escalation_level)].append(clock.pk)
    for (was_warned, breached, check, level), ids in groups.items():
        values = {"next_check_at": F("due_at") if check == "due" else None, "updated_at": now}
        if was_warned:
            values["warned_at"] = now
        if breached:
            values["breached_at"] = F("due_at")
            values["escalation_level"] = level
        SLAClock.objects.filter(ids_in("pk", ids)).update(**values)
    for clock in singles:
        clock.save(update_fields=["warned_at", "breached_at", "next_check_at", "escalation_level", "updated_at"])


def _sla_notify_warnings(*, clocks: list[SLAClock], now: datetime) -> None:
    if not clocks:
        return
    tickets = {c.ticket_id: c.ticket for c in clocks}
    assignee_ids = {t.assignee_id for t in tickets.values() if t.assignee_id}
    assignees = User.objects.in_bulk(assignee_ids) if assignee_ids else {}
    team_ids = {t.team_id for t in tickets.values() if t.team_id}
    people = _team_people(team_ids)
    working = team_next_working_moments(team_ids=team_ids, now=now)
    events, notices = [], []
    for clock in clocks:
        ticket, tz = clock.ticket, _tz(clock)
        words = TARGET_WORDS[ClockTarget(clock.target)]
        text = f"The {words} target is {clock.policy.warn_percent if clock.policy else 80}% used: due {_fmt(clock.due_at, tz)}."
        events.append(
            _unsaved(
                TicketEvent,
                ticket=ticket,
                kind=EventKind.SLA,
                is_public=False,
                body=text,
                data={
                    "sla": "warned",
                    "target": clock.target,
                    "due_at": clock.due_at.isoformat() if clock.due_at else None,
                },
                created_at=now,
            )
        )
        recipients = [assignees[ticket.assignee_id]] if ticket.assignee_id in assignees else []
        recipients += [user for user, lead in people.get(ticket.team_id or 0, []) if lead]
        notices.append(
            _Notice(
                ticket=ticket,
                recipients=recipients,
                kind=NotificationKind.SLA_WARNING,
                subject=f"[{ticket.reference}] SLA warning: {words} due {_fmt(clock.due_at, tz)}",
                body=f"{ticket.subject}\n\n{text}",
                not_before=_quiet_until(team_id=ticket.team_id, ticket=ticket, working=working, now=now),
            )
        )
    _events_record_bulk(events)
    _notify_bulk(notices, now)
    _sla_webhooks(WebhookEventType.SLA_WARNING, clocks)


def _sla_webhooks(event_type: str, clocks: list[SLAClock]) -> None:
    """``sla.warning`` / ``sla.breached`` for a batch: one endpoint query, whatever the batch size."""
    items: list[tuple[Ticket | None, dict[str, Any]]] = []
    for clock in clocks:
        payload: dict[str, Any] = {"target": clock.target, "due_at": clock.due_at.isoformat() if clock.due_at else None}
        if event_type == WebhookEventType.SLA_BREACHED:
            payload["breached_at"] = payload["due_at"]
        items.append((clock.ticket, payload))
    webhook_emit_many(event_type=event_type, items=items)


def _first_breach_by_ticket(clocks: list[SLAClock]) -> dict[int, SLAClock]:
    by_ticket: dict[int, SLAClock] = {}
    for clock in sorted(clocks, key=lambda c: (c.due_at, c.pk)):
        by_ticket.setdefault(clock.ticket_id, clock)
    return by_ticket


def sla_escalate_breached(*, clocks: list[SLAClock], now: datetime) -> int:
    """Escalate each breached clock's ticket one level up its support-level path through the hop opener (the
    same route as ``escalation_create_automatic``): one automatic hop per ticket and level, guaranteed by the
    open-escalation constraint, with the plain-words dossier. A ticket whose hop is still open (not yet accepted)
    is not escalated again by a second breach: its acknowledgement timer already climbs the ladder. The breach is
    written on the timeline of every ticket escalated. Runs in the caller's transaction; returns how many
    escalations it created."""
    hops = breach_hop_specs(clocks=clocks, now=now)
    if not hops:
        return 0
    first = _first_breach_by_ticket(clocks)
    _events_record_bulk([_breach_event(first[hop.ticket.pk], now) for hop in hops])
    opened = {esc.ticket_id: esc.level for esc in escalation_hops_open(hops=hops, now=now)}
    for clock in clocks:
        if clock.ticket_id in opened:
            clock.escalation_level = opened[clock.ticket_id]
    return len(opened)


def _breach_event(clock: SLAClock, now: datetime) -> TicketEvent:
    return _unsaved(
        TicketEvent,
        ticket=clock.ticket,
        kind=EventKind.SLA,
        is_public=False,
        body=f"The {TARGET_WORDS[ClockTarget(clock.target)]} SLA was breached: due {_fmt(clock.due_at, _tz(clock))}.",
        data={"sla": "breached", "target": clock.target, "due_at": clock.due_at.isoformat() if clock.due_at else None},
        created_at=now,
    )


def sla_page_unacknowledged(*, now: datetime, batch_size: int = 500) -> int:
    """Escalations still open past ``ack_due_at`` page the next level through the hop opener
    (``escalation_hops_page``, the same route as ``escalation_page_next_level``); at the top of the path they stop
    waiting and the managers on call are alerted once. Batched, locked with skip_locked; exactly once per hop by
    the open-escalation constraint. Returns how many next levels were paged."""
    paged = 0
    due = escalations_unacknowledged_due(now=now).exists()
    router = HopRouter() if due else None
    while due:
        with transaction.atomic():
            escalations = list(
                escalations_unacknowledged_due(now=now)
                .select_for_update(skip_locked=True, of=("self",))
                .filter(status=EscalationStatus.OPEN)
                .select_related("ticket", "to_team")[:batch_size]
            )
            if escalations:
                paged += escalation_hops_page(escalations=escalations, now=now, router=router)
        if len(escalations) < batch_size:
            break
    return paged
