"""The SLA engine: clock services driven by ticket activity, and the sweep that warns, breaches and escalates.

Clocks
    A clock measures one target (first response, next response, resolution) of one ticket in the policy's business
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
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from escalations.bulk import _events_record_bulk, _insert_many, _Notice, _notify_bulk, _quiet_until, _team_people
from escalations.calendar import CalendarSpec, add_business_seconds, business_seconds_between
from escalations.hops import HopRouter, breach_hop_specs, escalation_hops_open, escalation_hops_page
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
from escalations.sla_selectors import calendar_spec, sla_policy_for_ticket, team_calendar_specs
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


# --- clock arithmetic (no queries) ------------------------------------------------------------------------------


def _spec_for(clock: SLAClock, cache: dict[int, CalendarSpec]) -> CalendarSpec:
    policy = clock.policy
    if policy is None:
        return CalendarSpec.always()
    if policy.calendar_id not in cache:
        cache[policy.calendar_id] = calendar_spec(policy.calendar)
    return cache[policy.calendar_id]


def _consume(clock: SLAClock, spec: CalendarSpec, now: datetime) -> None:
    """Fold the running segment into ``consumed_seconds`` and start a new segment at ``now``."""
    if clock.state == ClockState.RUNNING and clock.running_since is not None:
        clock.consumed_seconds += business_seconds_between(spec, clock.running_since, now)
        clock.running_since = max(clock.running_since, now)


def _schedule(clock: SLAClock, spec: CalendarSpec, warn_percent: int) -> None:
    """Compute due_at, warn_at and next_check_at of a running clock; a clock that is not running has no check."""
    if clock.state != ClockState.RUNNING:
        clock.next_check_at = None
        return
    start = clock.running_since
    remaining = clock.target_seconds - clock.consumed_seconds
    if clock.breached_at is not None:
        clock.due_at = clock.breached_at
    elif remaining > 0:
        clock.due_at = add_business_seconds(spec, start, remaining)
    else:
        # The target was used up in an earlier segment (a shorter policy, a reopen): it is due the moment it runs.
        clock.due_at = start
    if clock.warned_at is None:
        warn_seconds = math.ceil(clock.target_seconds * warn_percent / 100)
        left = warn_seconds - clock.consumed_seconds
        clock.warn_at = add_business_seconds(spec, start, left) if left > 0 else start
        clock.warn_at = min(clock.warn_at, clock.due_at)
    pending = [
        moment
        for moment, done in ((clock.warn_at, clock.warned_at), (clock.due_at, clock.breached_at))
        if moment is not None and done is None
    ]
    clock.next_check_at = min(pending) if pending else None


def remaining_business_seconds(clock: SLAClock, *, now: datetime, spec: CalendarSpec) -> int:
    """Business seconds left (negative when overdue) as of ``now``."""
    used = clock.consumed_seconds
    if clock.state == ClockState.RUNNING and clock.running_since is not None:
        used += business_seconds_between(spec, clock.running_since, now)
    left = clock.target_seconds - used
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


# --- services driven by ticket activity --------------------------------------------------------------------------


def _lock_live_clocks(ticket: Ticket) -> list[SLAClock]:
    return list(
        SLAClock.objects.select_for_update(of=("self",))
        .filter(ticket=ticket, state__in=LIVE_CLOCK_STATES)
        .select_related("policy__calendar")
        .order_by("pk")
    )


def _save(clocks: Iterable[SLAClock], history: list[SLAEvent], now: datetime) -> None:
    for clock in clocks:
        clock.updated_at = now
        clock.save()
    SLAEvent.objects.bulk_create(history)


def _refresh_ticket_due(ticket: Ticket) -> None:
    """Ticket.sla_due_at = earliest due time of its running clocks (a plain UPDATE: no version bump, no event)."""
    due = (
        SLAClock.objects.filter(ticket=ticket, state=ClockState.RUNNING)
        .exclude(due_at__isnull=True)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )
    if due != ticket.sla_due_at:
        Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=due)
        ticket.sla_due_at = due


def _new_clock(
    *, ticket: Ticket, target: str, policy: SLAPolicy, started_at: datetime, now: datetime, paused: bool | None = None
) -> SLAClock:
    spec = calendar_spec(policy.calendar)
    if paused is None:
        paused = ticket.status in policy.pause_statuses
    clock = SLAClock(
        ticket=ticket,
        target=target,
        policy=policy,
        target_seconds=policy.target_minutes(target) * 60,
        started_at=started_at,
        consumed_seconds=business_seconds_between(spec, started_at, now) if started_at < now else 0,
        state=ClockState.PAUSED if paused else ClockState.RUNNING,
        running_since=None if paused else now,
        paused_since=now if paused else None,
        updated_at=now,
    )
    _schedule(clock, spec, policy.warn_percent)
    return clock


@transaction.atomic
def sla_recompute(*, ticket: Ticket, now: datetime | None = None, reason: str = "") -> list[SLAClock]:
    """Bring the ticket's clocks in line with the policy it matches now (create, priority/plan/category change).
    Used time is kept; a ticket matching no policy has every live clock cleared. Atomic and idempotent."""
    now = now or timezone.now()
    policy = sla_policy_for_ticket(ticket=ticket)
    live = _lock_live_clocks(ticket)
    specs: dict[int, CalendarSpec] = {}
    history: list[SLAEvent] = []
    changed: list[SLAClock] = []
    for clock in live:
        minutes = policy.target_minutes(clock.target) if policy else None
        if minutes is None:
            _consume(clock, _spec_for(clock, specs), now)
            clock.state, clock.running_since, clock.next_check_at = ClockState.CLEARED, None, None
            why = "the ticket matches no SLA policy" if policy is None else f"{policy.name} has no such target"
            history.append(_history(clock, SLAEventKind.CLEARED, now, f"Cleared: {why}. {reason}".strip()))
            changed.append(clock)
            continue
        if clock.policy_id == policy.pk and clock.target_seconds == minutes * 60:
            continue
        old_name = clock.policy.name if clock.policy else "no policy"
        _consume(clock, _spec_for(clock, specs), now)
        clock.policy, clock.target_seconds = policy, minutes * 60
        spec = calendar_spec(policy.calendar)
        _pause_or_resume(clock, policy=policy, status=ticket.status, now=now, spec=spec, history=history)
        _schedule(clock, spec, policy.warn_percent)
        detail = f"{old_name} → {policy.name}: target {minutes} business minutes, due {_fmt(clock.due_at, _tz(clock))}."
        history.append(_history(clock, SLAEventKind.RECOMPUTED, now, f"{detail} {reason}".strip()))
        changed.append(clock)

    if policy is not None and ticket.status in OPEN_STATUSES:
        seen = set(SLAClock.objects.filter(ticket=ticket).values_list("target", flat=True).distinct())
        wanted = []
        if policy.first_response_minutes and ClockTarget.FIRST_RESPONSE not in seen:
            replied = TicketEvent.objects.filter(
                ticket=ticket, kind=EventKind.AGENT_REPLY, is_public=True, created_at__lte=now
            ).exists()
            if not replied:
                wanted.append(ClockTarget.FIRST_RESPONSE)
        if policy.resolution_minutes and ClockTarget.RESOLUTION not in seen:
            wanted.append(ClockTarget.RESOLUTION)
        for target in wanted:
            clock = _new_clock(ticket=ticket, target=target, policy=policy, started_at=ticket.created_at, now=now)
            changed.append(clock)
            history.append(
                _history(
                    clock,
                    SLAEventKind.STARTED,
                    ticket.created_at,
                    f"{policy.name}: {policy.target_minutes(target)} business minutes, due "
                    f"{_fmt(clock.due_at, _tz(clock))}" + (" (paused)" if clock.state == ClockState.PAUSED else ""),
                )
            )
    _save(changed, history, now)
    _refresh_ticket_due(ticket)
    return changed


def _pause_or_resume(
    clock: SLAClock, *, policy: SLAPolicy, status: str, now: datetime, spec: CalendarSpec, history: list[SLAEvent]
) -> bool:
    should_pause = status in policy.pause_statuses
    label = Status(status).label if status in Status.values else status
    if clock.state == ClockState.RUNNING and should_pause:
        _consume(clock, spec, now)
        clock.state, clock.running_since, clock.paused_since = ClockState.PAUSED, None, now
        clock.due_at = None
        clock.next_check_at = None
        left = max(clock.target_seconds - clock.consumed_seconds, 0)
        history.append(_history(clock, SLAEventKind.PAUSED, now, f"{label}: {left // 60} business minutes left."))
        return True
    if clock.state == ClockState.PAUSED and not should_pause:
        clock.paused_seconds += int((now - clock.paused_since).total_seconds()) if clock.paused_since else 0
        clock.state, clock.paused_since, clock.running_since = ClockState.RUNNING, None, now
        _schedule(clock, spec, policy.warn_percent)
        history.append(_history(clock, SLAEventKind.RESUMED, now, f"{label}: due {_fmt(clock.due_at, spec.timezone)}."))
        return True
    return False


def _meet(clock: SLAClock, *, now: datetime, spec: CalendarSpec, kind: str, detail: str) -> SLAEvent:
    _consume(clock, spec, now)
    clock.state = ClockState.MET if kind == SLAEventKind.MET else ClockState.STOPPED
    clock.met_at = now if kind == SLAEventKind.MET else None
    clock.running_since, clock.paused_since, clock.next_check_at = None, None, None
    return _history(clock, kind, now, detail)


@transaction.atomic
def sla_on_agent_public_reply(*, ticket: Ticket, now: datetime) -> list[SLAClock]:
    """The first public agent reply meets first response; a reply after a customer message meets next response.
    Atomic; idempotent (met clocks are not live)."""
    specs: dict[int, CalendarSpec] = {}
    clocks = [c for c in _lock_live_clocks(ticket) if c.target in RESPONSE_TARGETS]
    history = []
    for clock in clocks:
        late = " (late)" if clock.breached_at else ""
        history.append(
            _meet(clock, now=now, spec=_spec_for(clock, specs), kind=SLAEventKind.MET, detail=f"Agent replied{late}.")
        )
    _save(clocks, history, now)
    _refresh_ticket_due(ticket)
    return clocks


@transaction.atomic
def sla_on_customer_message(*, ticket: Ticket, now: datetime) -> SLAClock | None:
    """A customer message starts the next-response clock, unless one (or the first response) is already running.
    Atomic; idempotent."""
    live = _lock_live_clocks(ticket)
    if any(c.target in RESPONSE_TARGETS for c in live) or ticket.status == Status.CLOSED:
        return None
    policy = sla_policy_for_ticket(ticket=ticket)
    if policy is None or not policy.next_response_minutes:
        return None
    # The customer's message ends a wait on the customer (the reply service reopens the ticket right after).
    paused = ticket.status in policy.pause_statuses and ticket.status != Status.PENDING_CUSTOMER
    clock = _new_clock(
        ticket=ticket, target=ClockTarget.NEXT_RESPONSE, policy=policy, started_at=now, now=now, paused=paused
    )
    event = _history(
        clock,
        SLAEventKind.STARTED,
        now,
        f"Customer wrote; {policy.name}: answer within {policy.next_response_minutes} business minutes, due "
        f"{_fmt(clock.due_at, policy.calendar.timezone)}.",
    )
    _save([clock], [event], now)
    _refresh_ticket_due(ticket)
    return clock


@transaction.atomic
def sla_on_status_changed(*, ticket: Ticket, old: str, new: str, now: datetime) -> list[SLAClock]:
    """Pause and resume by the policy's pause statuses; resolve meets resolution and stops response clocks; close
    stops everything; reopening resumes the resolution clock with its used time. Atomic; idempotent."""
    specs: dict[int, CalendarSpec] = {}
    history: list[SLAEvent] = []
    live = _lock_live_clocks(ticket)
    changed: list[SLAClock] = []
    if new in (Status.RESOLVED, Status.CLOSED):
        for clock in live:
            met = new == Status.RESOLVED and clock.target == ClockTarget.RESOLUTION
            kind = SLAEventKind.MET if met else SLAEventKind.STOPPED
            detail = (
                ("Resolved" + (" (late)." if clock.breached_at else ".")) if met else f"Ticket {Status(new).label}."
            )
            history.append(_meet(clock, now=now, spec=_spec_for(clock, specs), kind=kind, detail=detail))
            changed.append(clock)
    else:
        if old in (Status.RESOLVED, Status.CLOSED) and not any(c.target == ClockTarget.RESOLUTION for c in live):
            last = (
                SLAClock.objects.select_for_update(of=("self",))
                .filter(ticket=ticket, target=ClockTarget.RESOLUTION, state=ClockState.MET)
                .select_related("policy__calendar")
                .order_by("-pk")
                .first()
            )
            if last is not None:
                last.state, last.met_at, last.running_since = ClockState.RUNNING, None, now
                history.append(
                    _history(last, SLAEventKind.REOPENED, now, f"Reopened with {last.consumed_seconds // 60} min used.")
                )
                live.append(last)
                changed.append(last)
        for clock in live:
            policy = clock.policy
            if policy is None:
                continue
            spec = _spec_for(clock, specs)
            if _pause_or_resume(clock, policy=policy, status=new, now=now, spec=spec, history=history):
                if clock not in changed:
                    changed.append(clock)
            elif clock in changed:
                _schedule(clock, spec, policy.warn_percent)
    _save(changed, history, now)
    _refresh_ticket_due(ticket)
    return changed


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


TARGET_WORDS = {
    ClockTarget.FIRST_RESPONSE: "first response",
    ClockTarget.NEXT_RESPONSE: "next response",
    ClockTarget.RESOLUTION: "resolution",
}


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
    policies = SLAPolicy.objects.select_related("calendar", "plan").in_bulk(ids) if ids else {}
    for clock in clocks:
        clock.policy = policies.get(clock.policy_id)


def _sweep_batch(clocks: list[SLAClock], *, now: datetime, result: SweepResult) -> None:
    token = uuid.uuid4()
    claims: list[SLAEvent] = []
    for clock in clocks:
        ticket = clock.ticket
        if clock.state != ClockState.RUNNING or ticket.status not in OPEN_STATUSES:
            continue
        due, tz = clock.due_at, _tz(clock)
        if clock.breached_at is None and due is not None and due <= now:
            claims.append(_history(clock, SLAEventKind.BREACHED, due, f"Missed: due {_fmt(due, tz)}."))
        elif clock.warned_at is None and clock.warn_at is not None and clock.warn_at <= now:
            percent = clock.policy.warn_percent if clock.policy else 80
            claims.append(_history(clock, SLAEventKind.WARNED, clock.warn_at, f"{percent}% used: due {_fmt(due, tz)}."))
    for claim in claims:
        claim.batch = token
    _insert_many(SLAEvent, claims, ignore_conflicts=True)
    won = set(SLAEvent.objects.filter(batch=token).values_list("clock_id", "kind"))

    claimed = {claim.clock_id: claim.kind for claim in claims}
    warned, breached = [], []
    for clock in clocks:
        kind = claimed.get(clock.pk)
        if kind is not None and (clock.pk, kind) in won:
            if kind == SLAEventKind.BREACHED:
                clock.breached_at = clock.due_at
                breached.append(clock)
            else:
                clock.warned_at = now
                warned.append(clock)
        if clock.state != ClockState.RUNNING or clock.ticket.status not in OPEN_STATUSES:
            clock.next_check_at = None
        elif clock.breached_at is not None or kind == SLAEventKind.BREACHED:
            # Breached (by us, or by a sweep that got there first): nothing more to check on this clock.
            clock.next_check_at = None
        elif clock.warned_at is None and kind is None and clock.warn_at and clock.warn_at > now:
            clock.next_check_at = min(clock.warn_at, clock.due_at)
        else:
            clock.next_check_at = clock.due_at
        clock.updated_at = now

    _sla_notify_warnings(clocks=warned, now=now)
    _sla_webhooks(WebhookEventType.SLA_BREACHED, breached)
    escalated = sla_escalate_breached(clocks=breached, now=now) if breached else 0
    _save_swept(clocks, warned=warned, now=now)
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
    specs = team_calendar_specs(team_ids=team_ids)
    events, notices = [], []
    for clock in clocks:
        ticket, tz = clock.ticket, _tz(clock)
        words = TARGET_WORDS[clock.target]
        text = f"The {words} target is {clock.policy.warn_percent if clock.policy else 80}% used: due {_fmt(clock.due_at, tz)}."
        events.append(
            TicketEvent(
                ticket=ticket,
                kind=EventKind.SLA,
                is_public=False,
                body=text,
                data={"sla": "warned", "target": clock.target, "due_at": clock.due_at.isoformat()},
                created_at=now,
            )
        )
        recipients = [assignees[ticket.assignee_id]] if ticket.assignee_id in assignees else []
        recipients += [user for user, lead in people.get(ticket.team_id, []) if lead]
        notices.append(
            _Notice(
                ticket=ticket,
                recipients=recipients,
                kind=NotificationKind.SLA_WARNING,
                subject=f"[{ticket.reference}] SLA warning: {words} due {_fmt(clock.due_at, tz)}",
                body=f"{ticket.subject}\n\n{text}",
                not_before=_quiet_until(team_id=ticket.team_id, ticket=ticket, specs=specs, now=now),
            )
        )
    _events_record_bulk(events)
    _notify_bulk(notices, now)
    _sla_webhooks(WebhookEventType.SLA_WARNING, clocks)


def _sla_webhooks(event_type: str, clocks: list[SLAClock]) -> None:
    """``sla.warning`` / ``sla.breached`` for a batch: one endpoint query, whatever the batch size."""
    items = []
    for clock in clocks:
        payload = {"target": clock.target, "due_at": clock.due_at.isoformat() if clock.due_at else None}
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
        body=f"The {TARGET_WORDS[clock.target]} SLA was breached: due {_fmt(clock.due_at, _tz(clock))}.",
        data={"sla": "breached", "target": clock.target, "due_at": clock.due_at.isoformat()},
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
    # A caller-waiting hop (not an emergency) is left to escalations.calls.warm_transfers_expire: it becomes a
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
