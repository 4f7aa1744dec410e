"""The SLA engine: clock services driven by ticket activity, and the sweep that warns, breaches and escalates.

Clocks
    The rules are ``escalations.sla.clock`` (pure, shared with the what-if simulator); this module loads clock rows,
    applies them and saves the result with its history. A clock measures one target (first response, next response, resolution) of one ticket in the policy's business
    calendar. Business seconds used so far are ``consumed_seconds`` (up to ``running_since``); while running, the
    deadline is ``running_since`` plus the remaining business time. Pausing folds the running segment into
    ``consumed_seconds``; resuming starts a new segment; meeting folds it and stops. Reopening a resolved ticket
    resumes its resolution clock with the time it had already used.

Sweep
    ``sla_sweep(now=...)`` takes clocks with ``next_check_at <= now`` in batches, locked with
    ``select_for_update(skip_locked=True)`` (clocks and their tickets, so a ticket being changed right now is left
    for the next sweep). Each batch is a constant number of queries: the history rows are inserted with
    ``ignore_conflicts`` under the unique (clock, kind) constraint and read back by batch id, so only the sweep that
    actually wrote a warning or breach notifies or escalates: two sweeps, a rerun or a redelivered task all produce
    each exactly once. A breach is recorded at the true deadline, not at the moment the sweep noticed it.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from escalations.bulk import _events_record_bulk, _insert_many, _Notice, _notify_bulk, _quiet_until, _team_people
from escalations.hops import TARGET_WORDS, HopRouter, breach_hop_specs, escalation_hops_open, escalation_hops_page
from escalations.models import (
    LIVE_CLOCK_STATES,
    ClockState,
    ClockTarget,
    Escalation,
    EscalationStatus,
    EscalationType,
    SLAClock,
    SLAEvent,
    SLAEventKind,
    SLAPolicy,
)
from escalations.sla import clock as sla_clock
from escalations.sla.calendar import CalendarSpec
from escalations.sla.selectors import calendar_spec, sla_policy_for_ticket, team_next_working_moments
from helpdesk.models import (
    OPEN_STATUSES,
    EventKind,
    NotificationKind,
    Organization,
    Status,
    Ticket,
    TicketEvent,
    User,
    WebhookEventType,
)
from helpdesk.signals import ticket_event_recorded
from helpdesk.webhooks import webhook_emit_many

logger = logging.getLogger(__name__)

RESPONSE_TARGETS = (ClockTarget.FIRST_RESPONSE, ClockTarget.NEXT_RESPONSE)
ACTIVE_STATUSES = (EscalationStatus.OPEN, EscalationStatus.ACCEPTED)


# --- the clock rules live in escalations.sla.clock; this part loads, applies and saves -----------------------------


def clock_policy_of(policy: SLAPolicy, *, spec: CalendarSpec | None = None) -> sla_clock.ClockPolicy:
    """The pure clock's view of a policy (its calendar as a spec unless given)."""
    return sla_clock.ClockPolicy(
        key=policy.pk,
        name=policy.name,
        targets={t: (m * 60 if (m := policy.target_minutes(t)) else None) for t in ClockTarget.values},
        warn_percent=policy.warn_percent,
        pause_statuses=policy.pause_statuses,
        spec=spec if spec is not None else calendar_spec(policy.calendar),
    )


class _Policies(dict):
    """Policy id -> ``ClockPolicy`` for the clocks at hand (each policy's calendar built once)."""

    def add(self, policy: SLAPolicy | None) -> sla_clock.ClockPolicy | None:
        if policy is None:
            return None
        if policy.pk not in self:
            self[policy.pk] = clock_policy_of(policy)
        return self[policy.pk]

    @classmethod
    def of(cls, clocks: Iterable[SLAClock]) -> _Policies:
        policies = cls()
        for clock in clocks:
            policies.add(clock.policy)
        return policies


def remaining_business_seconds(clock: SLAClock, *, now: datetime, spec: CalendarSpec) -> int:
    """Business seconds left (negative when overdue) as of ``now``."""
    left = clock.target_seconds - sla_clock.used_seconds(clock, spec, now)
    if left <= 0 and clock.due_at is not None and now > clock.due_at:
        return -int((now - clock.due_at).total_seconds())
    return left


# --- history ----------------------------------------------------------------------------------------------------


def _history(clock: SLAClock, kind: str, at: datetime, detail: str = "") -> SLAEvent:
    return SLAEvent(
        clock=clock, ticket_id=clock.ticket_id, kind=kind, at=at, policy_id=clock.policy_id, detail=detail[:300]
    )


def _fmt(moment: datetime | None, tz: str) -> str:
    if moment is None:
        return "—"
    return timezone.localtime(moment, ZoneInfo(tz)).strftime("%a %d %b %Y %H:%M")


def _tz(clock: SLAClock) -> str:
    return clock.policy.calendar.timezone if clock.policy_id and clock.policy else settings.TIME_ZONE


def _left(clock: SLAClock) -> str:
    return f"{max(clock.target_seconds - clock.consumed_seconds, 0) // 60} business minutes left"


def _describe(note: sla_clock.Note, *, status: str = "", reason: str = "", old_name: str = "") -> str:
    """The staff-facing history line of one clock transition."""
    clock, kind = note.clock, note.kind
    late = " (late)" if clock.breached_at else ""
    label = Status(status).label if status in Status.values else status
    due = _fmt(clock.due_at, _tz(clock))
    policy_name = clock.policy.name if clock.policy else "no policy"
    texts = {
        "warned": f"{clock.policy.warn_percent if clock.policy else 80}% used: due {due}.",
        "breached": f"Missed: due {_fmt(clock.breached_at, _tz(clock))}.",
        "paused": f"{label}: {_left(clock)}.",
        "resumed": f"{label}: due {due}.",
        "reopened": f"Reopened with {clock.consumed_seconds // 60} min used.",
        "recomputed": f"{old_name} → {policy_name}: target {clock.target_seconds // 60} business minutes, due {due}.",
        "started": f"{policy_name}: {clock.target_seconds // 60} business minutes, due {due}"
        + (" (paused)" if clock.state == ClockState.PAUSED else ""),
        "met": (f"Resolved{late}." if clock.target == ClockTarget.RESOLUTION else f"Agent replied{late}."),
        "stopped": f"Ticket {label}.",
    }
    if kind == "started" and clock.target == ClockTarget.NEXT_RESPONSE:
        return f"Customer wrote; {policy_name}: answer within {clock.target_seconds // 60} business minutes, due {due}."
    text = texts.get(kind, "")
    return f"{text} {reason}".strip() if kind == "recomputed" else text


def _apply(
    step: sla_clock.Step,
    *,
    now: datetime,
    status: str = "",
    reason: str = "",
    old_names: dict[int, str] | None = None,
    new_policy: SLAPolicy | None = None,
) -> list[SLAClock]:
    """Save what a transition did: the changed clocks and one history row per note."""
    history = []
    for note in step.notes:
        clock = note.clock
        if note.kind == "cleared":
            why = "the ticket matches no SLA policy" if new_policy is None else f"{new_policy.name} has no such target"
            detail = f"Cleared: {why}. {reason}".strip()
        else:
            old_name = (old_names or {}).get(clock.pk, "")
            detail = _describe(note, status=status, reason=reason, old_name=old_name)
        history.append(_history(clock, note.kind, note.at, detail))
    for clock in step.changed:
        clock.updated_at = now
        clock.save()
    SLAEvent.objects.bulk_create(history)
    return step.changed


# --- services driven by ticket activity --------------------------------------------------------------------------


def _lock_clocks(ticket: Ticket, *, live_only: bool = True) -> list[SLAClock]:
    clocks = SLAClock.objects.select_for_update(of=("self",)).filter(ticket=ticket)
    if live_only:
        clocks = clocks.filter(state__in=LIVE_CLOCK_STATES)
    return list(clocks.select_related("policy__calendar").order_by("pk"))


def _refresh_ticket_due(ticket: Ticket) -> None:
    """Ticket.sla_due_at / sla_warn_at = earliest due / warning time of its running clocks (a plain UPDATE: no
    version bump, no event)."""
    found = SLAClock.objects.filter(ticket=ticket, state=ClockState.RUNNING).aggregate(
        due=Min("due_at"), warn=Min("warn_at")
    )
    if (found["due"], found["warn"]) != (ticket.sla_due_at, getattr(ticket, "sla_warn_at", None)):
        Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=found["due"], sla_warn_at=found["warn"])
        ticket.sla_due_at, ticket.sla_warn_at = found["due"], found["warn"]


def _factory(ticket: Ticket, policy: SLAPolicy, now: datetime):
    def make(**fields) -> SLAClock:
        return SLAClock(ticket=ticket, policy=policy, updated_at=now, **fields)

    return make


@transaction.atomic
def sla_recompute(
    *,
    ticket: Ticket,
    now: datetime | None = None,
    reason: str = "",
    previous: dict[int, sla_clock.ClockPolicy] | None = None,
) -> list[SLAClock]:
    """Bring the ticket's clocks in line with the policy it matches now (create, priority/plan/category change, a
    policy or calendar edit: ``previous`` then holds the edited policies as they were). Used time is kept; a ticket
    matching no policy has every live clock cleared. Atomic and idempotent."""
    now = now or timezone.now()
    model = sla_policy_for_ticket(ticket=ticket)
    live = _lock_clocks(ticket)
    policies = _Policies.of(live)
    old_names = {clock.pk: clock.policy.name if clock.policy else "no policy" for clock in live}
    old_policies = {**policies, **(previous or {})}
    policy = policies.add(model)
    seen = set(SLAClock.objects.filter(ticket=ticket).values_list("target", flat=True).distinct())
    replied = TicketEvent.objects.filter(
        ticket=ticket, kind=EventKind.AGENT_REPLY, is_public=True, created_at__lte=now
    ).exists()
    step = sla_clock.on_recompute(
        clocks=live,
        old_policies=old_policies,
        policy=policy,
        status=ticket.status,
        is_open=ticket.status in OPEN_STATUSES,
        created_at=ticket.created_at,
        seen_targets=seen,
        replied=replied,
        now=now,
        factory=_factory(ticket, model, now) if model else sla_clock.Clock,
    )
    for clock in step.changed:
        if model is not None and clock.state != ClockState.CLEARED:
            clock.policy = model
    changed = _apply(step, now=now, status=ticket.status, reason=reason, old_names=old_names, new_policy=model)
    _refresh_ticket_due(ticket)
    return changed


@transaction.atomic
def sla_on_agent_public_reply(*, ticket: Ticket, now: datetime) -> list[SLAClock]:
    """The first public agent reply meets first response; a reply after a customer message meets next response.
    Atomic; idempotent (met clocks are not live)."""
    clocks = _lock_clocks(ticket)
    step = sla_clock.on_agent_public_reply(clocks=clocks, policies=_Policies.of(clocks), now=now)
    changed = _apply(step, now=now)
    _refresh_ticket_due(ticket)
    return changed


@transaction.atomic
def sla_on_customer_message(*, ticket: Ticket, now: datetime) -> SLAClock | None:
    """A customer message starts the next-response clock, unless one (or the first response) is already running.
    Atomic; idempotent."""
    live = _lock_clocks(ticket)
    model = sla_policy_for_ticket(ticket=ticket)
    policy = clock_policy_of(model) if model is not None else None
    step = sla_clock.on_customer_message(
        clocks=live,
        policy=policy,
        status=ticket.status,
        now=now,
        factory=_factory(ticket, model, now),  # type: ignore[arg-type]  # unused when there is no policy
    )
    changed = _apply(step, now=now)
    _refresh_ticket_due(ticket)
    return changed[0] if changed else None


@transaction.atomic
def sla_on_status_changed(*, ticket: Ticket, old: str, new: str, now: datetime) -> list[SLAClock]:
    """Pause and resume by the policy's pause statuses; resolve meets resolution and stops response clocks; close
    stops everything; reopening resumes the resolution clock with its used time. Atomic; idempotent."""
    reopening = old in (Status.RESOLVED, Status.CLOSED) and new not in (Status.RESOLVED, Status.CLOSED)
    clocks = _lock_clocks(ticket, live_only=not reopening)
    step = sla_clock.on_status_changed(clocks=clocks, policies=_Policies.of(clocks), old=old, new=new, now=now)
    changed = _apply(step, now=now, status=new)
    _refresh_ticket_due(ticket)
    return changed


def sla_policies_recompute(
    *,
    previous: dict[int, sla_clock.ClockPolicy],
    now: datetime | None = None,
    reason: str = "",
    batch_size: int = 200,
) -> int:
    """After policies were edited (``previous``: each edited policy as it was), recompute the live clocks running
    under them, ticket by ticket (each ticket atomic), loading the tickets in batches of ``batch_size`` by primary
    key. Used time is kept; new targets, warn share and calendar apply. Idempotent. Returns the tickets recomputed."""
    now = now or timezone.now()
    clocks = SLAClock.objects.filter(policy_id__in=list(previous), state__in=LIVE_CLOCK_STATES)
    last, count = 0, 0
    while True:
        ids = list(
            clocks.filter(ticket_id__gt=last)
            .order_by("ticket_id")
            .values_list("ticket_id", flat=True)
            .distinct()[:batch_size]
        )
        if not ids:
            return count
        for ticket in Ticket.objects.filter(pk__in=ids).select_related("organization").order_by("pk"):
            sla_recompute(ticket=ticket, now=now, reason=reason, previous=previous)
            count += 1
        last = ids[-1]


def sla_handle_ticket_event(*, ticket: Ticket, event: TicketEvent) -> None:
    """React to one timeline event (called inside the writer's transaction)."""
    kind, now = event.kind, event.created_at
    if kind == EventKind.CREATED:
        sla_recompute(ticket=ticket, now=now, reason="Ticket created.")
    elif kind == EventKind.AGENT_REPLY and event.is_public:
        sla_on_agent_public_reply(ticket=ticket, now=now)
    elif kind == EventKind.CUSTOMER_MESSAGE:
        sla_on_customer_message(ticket=ticket, now=now)
    elif kind == EventKind.STATUS_CHANGED:
        sla_on_status_changed(ticket=ticket, old=event.data.get("from"), new=event.data.get("to"), now=now)
    elif kind == EventKind.PRIORITY_CHANGED:
        sla_recompute(ticket=ticket, now=now, reason=f"Priority {event.data.get('from')} → {event.data.get('to')}.")
    elif kind == EventKind.CATEGORY_CHANGED:
        sla_recompute(ticket=ticket, now=now, reason=f"Category {event.data.get('from')} → {event.data.get('to')}.")


def _on_ticket_event(sender, *, event: TicketEvent, ticket: Ticket, **kwargs) -> None:
    sla_handle_ticket_event(ticket=ticket, event=event)


def sla_on_plan_changed(*, organization: Organization, now: datetime | None = None) -> int:
    """A plan change recomputes the clocks of the organisation's open tickets. Atomic per ticket; idempotent."""
    now = now or timezone.now()
    count = 0
    for ticket in Ticket.objects.open().filter(organization=organization).select_related("organization"):
        sla_recompute(ticket=ticket, now=now, reason=f"Plan changed to {organization.plan.name}.")
        count += 1
    return count


def _remember_plan(sender, instance: Organization, **kwargs) -> None:
    if instance.pk:
        instance._sla_old_plan_id = (
            Organization.objects.filter(pk=instance.pk).values_list("plan_id", flat=True).first()
        )


def _on_organization_saved(sender, instance: Organization, created: bool, **kwargs) -> None:
    old = getattr(instance, "_sla_old_plan_id", None)
    if not created and old is not None and old != instance.plan_id:
        sla_on_plan_changed(organization=instance)


def connect_signals() -> None:
    from django.db.models.signals import post_save, pre_save

    ticket_event_recorded.connect(_on_ticket_event, dispatch_uid="sla_on_ticket_event")
    pre_save.connect(_remember_plan, sender=Organization, dispatch_uid="sla_remember_plan")
    post_save.connect(_on_organization_saved, sender=Organization, dispatch_uid="sla_plan_changed")


# --- the sweep ---------------------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    warned: int = 0
    breached: int = 0
    escalated: int = 0
    paged: int = 0
    batches: int = 0
    clocks: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def sla_sweep(*, now: datetime, batch_size: int = 500) -> SweepResult:
    """Warn, breach and escalate every clock due at ``now``, then page the next level for escalations left
    unaccepted. Each batch is one transaction with a bounded number of queries. Idempotent: rerunning finds
    nothing to do; exactly-once is enforced by unique constraints."""
    result = SweepResult()
    # A plain indexed probe first: an idle sweep takes no lock (on SQLite a write transaction would).
    due = SLAClock.objects.filter(next_check_at__lte=now).exists()
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
    result.paged = sla_page_unacknowledged(now=now, batch_size=batch_size)
    if result.clocks or result.paged:
        logger.info("sla sweep at %s: %s", now.isoformat(), result.as_dict())
    return result


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
    _insert_many(SLAEvent, claims, ignore_conflicts=True)
    won = set(SLAEvent.objects.filter(batch=token).values_list("clock_id", "kind"))

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
        SLAClock.objects.filter(pk__in=ids).update(**values)
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
            TicketEvent(
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
    return TicketEvent(
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
    # ``status__startswith`` (only "open" starts so) keeps SQLite's planner on the ack_due_at index: an equality on
    # status pulls it onto the inbox index and scans every open escalation. A partial index on ack_due_at WHERE
    # status = 'open' in the Escalation model would make this unnecessary.
    # A caller-waiting hop (not an emergency) is left to escalations.calls.services.warm_transfers_expire: it becomes a
    # callback, not a page.
    awaiting = Q(status__startswith=EscalationStatus.OPEN, ack_due_at__lte=now) & (
        Q(caller_waiting=False) | Q(escalation_type=EscalationType.EMERGENCY)
    )
    due = Escalation.objects.filter(awaiting).exists()
    router = HopRouter() if due else None
    while due:
        with transaction.atomic():
            escalations = list(
                Escalation.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(awaiting, status=EscalationStatus.OPEN)
                .select_related("ticket", "to_team")
                .order_by("ack_due_at", "pk")[:batch_size]
            )
            if escalations:
                paged += escalation_hops_page(escalations=escalations, now=now, router=router)
        if len(escalations) < batch_size:
            break
    return paged
