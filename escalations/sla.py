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
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.constants import OnConflict
from django.urls import reverse
from django.utils import timezone

from escalations.calendar import CalendarSpec, add_business_seconds, business_seconds_between, next_working_moment
from escalations.models import (
    LIVE_CLOCK_STATES,
    ClockState,
    ClockTarget,
    Escalation,
    EscalationLevel,
    EscalationMode,
    EscalationPath,
    EscalationStatus,
    EscalationType,
    LevelTarget,
    RequestedBy,
    SLAClock,
    SLAEvent,
    SLAEventKind,
    SLAPolicy,
)
from escalations.receivers import escalation_payload
from escalations.sla_selectors import calendar_spec, sla_policy_for_ticket, team_calendar_specs
from helpdesk.models import (
    OPEN_STATUSES,
    PRIORITY_RANK,
    EventKind,
    Notification,
    NotificationChannel,
    NotificationStatus,
    Organization,
    Status,
    Team,
    TeamMembership,
    Ticket,
    TicketEvent,
    User,
    WebhookEventType,
)
from helpdesk.notifications import _dispatch_on_commit
from helpdesk.selectors import tickets_visible_to
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
    assert start is not None  # a running clock has a start
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
    minutes = policy.target_minutes(target)
    assert minutes is not None  # callers start only the targets the policy sets
    clock = SLAClock(
        ticket=ticket,
        target=target,
        policy=policy,
        target_seconds=minutes * 60,
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
        if policy is None or minutes is None:
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


# --- bulk writers used by the sweep (a constant number of queries per batch) ------------------------------------


def _ticket_url(ticket_id_reference: str) -> str:
    return reverse("ticket_detail", kwargs={"reference": ticket_id_reference})


def _events_record_bulk(rows: list[TicketEvent]) -> list[TicketEvent]:
    """``helpdesk.events.event_record`` for many rows: one INSERT, then the same signal per row."""
    created = TicketEvent.objects.bulk_create(rows)
    for event in created:
        ticket_event_recorded.send(sender=TicketEvent, event=event, ticket=event.ticket)
    return created


@dataclass
class _Notice:
    ticket: Ticket
    recipients: list[User]
    kind: str
    subject: str
    body: str
    not_before: datetime | None


def _notify_bulk(notices: list[_Notice], now: datetime) -> int:
    """The outbox for many tickets at once: recipients are filtered through the visibility selector with one
    query per distinct recipient (bounded by staff, not by tickets); email rows carry the quiet-hours not_before."""
    # A ticket's own customer may always see it; everyone else goes through the selector, one query per person.
    people = {user.pk: user for notice in notices for user in notice.recipients if user.pk != notice.ticket.customer_id}
    ticket_ids = {notice.ticket.pk for notice in notices}
    visible: dict[int, set[int]] = defaultdict(set)
    for user in people.values():
        if user.is_active:
            visible[user.pk] = set(tickets_visible_to(user).filter(pk__in=ticket_ids).values_list("pk", flat=True))
    rows: list[dict] = []
    for notice in notices:
        url = _ticket_url(notice.ticket.reference)
        for user in {u.pk: u for u in notice.recipients}.values():
            own = user.pk == notice.ticket.customer_id and user.is_active
            if not own and notice.ticket.pk not in visible[user.pk]:
                continue
            common = {
                "kind": notice.kind,
                "recipient_id": user.pk,
                "ticket_id": notice.ticket.pk,
                "subject": notice.subject[:250],
                "body": notice.body,
                "url": url,
                "created_at": now,
            }
            rows.append(
                {"channel": NotificationChannel.IN_APP, "status": NotificationStatus.SENT, "sent_at": now, **common}
            )
            if user.email:
                rows.append(
                    {
                        "channel": NotificationChannel.EMAIL,
                        "to_address": user.email,
                        "not_before": notice.not_before,
                        **common,
                    }
                )
    _insert_many(Notification, rows)
    # The email rows just written (read back by their shared moment: another sweep's rows at the same instant would
    # only be dispatched twice, which delivery ignores).
    emails = Notification.objects.filter(
        channel=NotificationChannel.EMAIL,
        status=NotificationStatus.PENDING,
        created_at=now,
        ticket_id__in=ticket_ids,
        kind__in={notice.kind for notice in notices},
    ).values_list("pk", flat=True)
    _dispatch_on_commit(list(emails))
    return len(rows)


def _insert_many(model, objs: list, *, ignore_conflicts: bool = False) -> None:
    """INSERT plain rows with ``executemany``. Django's ``bulk_create`` compiles one multi-row statement in Python,
    which dominated the sweep's profile; this keeps the ORM's field conversion and costs a fraction of it. Only for
    rows whose primary key the caller does not need. ``objs`` are model instances or dicts of attnames (missing
    fields take their defaults)."""
    if not objs:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    # Identifiers come from the model's meta and are quoted; every value is a parameter.
    sql = "{} {} ({}) VALUES ({}) {}".format(
        connection.ops.insert_statement(on_conflict=on_conflict),
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
        connection.ops.on_conflict_suffix_sql(fields, on_conflict, None, None) or "",
    )
    if isinstance(objs[0], dict):
        defaults = {f.attname: f.get_default() for f in fields}
        values = ([row.get(f.attname, defaults[f.attname]) for f in fields] for row in objs)
    else:
        values = ([getattr(obj, f.attname) for f in fields] for obj in objs)
    params = [[f.get_db_prep_save(value, connection) for f, value in zip(fields, row, strict=True)] for row in values]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _quiet_until(*, team_id: int | None, ticket: Ticket, specs: dict[int, CalendarSpec], now: datetime):
    """Email to a team outside its working hours waits for its next working minute; emergencies never wait."""
    if ticket.is_emergency or team_id is None or team_id not in specs:
        return None
    moment = next_working_moment(specs[team_id], now)
    return moment if moment > now else None


def _team_people(team_ids: Iterable[int]) -> dict[int, list[tuple[User, bool]]]:
    members: dict[int, list[tuple[User, bool]]] = defaultdict(list)
    rows = TeamMembership.objects.filter(team_id__in=set(team_ids), user__is_active=True).select_related("user")
    for row in rows.order_by("team_id", "user_id"):
        members[row.team_id].append((row.user, row.is_lead))
    return members


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


TARGET_WORDS: dict[str, str] = {
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
            assert clock.due_at is not None  # a running clock is scheduled
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
    assignees: dict[int | None, User] = User.objects.in_bulk(assignee_ids) if assignee_ids else {}
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
                data={
                    "sla": "warned",
                    "target": clock.target,
                    "due_at": clock.due_at.isoformat() if clock.due_at else None,
                },
                created_at=now,
            )
        )
        recipients = [assignees[ticket.assignee_id]] if ticket.assignee_id in assignees else []
        if ticket.team_id is not None:
            recipients += [user for user, lead in people.get(ticket.team_id, []) if lead]
        notices.append(
            _Notice(
                ticket=ticket,
                recipients=recipients,
                kind="sla_warning",
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
    items: list[tuple[Ticket | None, dict[str, Any]]] = []
    for clock in clocks:
        payload = {"target": clock.target, "due_at": clock.due_at.isoformat() if clock.due_at else None}
        if event_type == WebhookEventType.SLA_BREACHED:
            payload["breached_at"] = payload["due_at"]
        items.append((clock.ticket, payload))
    webhook_emit_many(event_type=event_type, items=items)


def _paths_by_priority() -> list[EscalationPath]:
    return list(
        EscalationPath.objects.filter(escalation_type=EscalationType.SUPPORT_LEVEL, is_active=True)
        .prefetch_related("levels__team")
        .order_by("pk")
    )


def _path_for(ticket: Ticket, paths: list[EscalationPath]) -> EscalationPath | None:
    """The support-level path for the ticket: matching category and minimum priority, the most specific first,
    else any support-level path."""
    rank = PRIORITY_RANK.get(ticket.priority, 0)

    def matches(path: EscalationPath) -> bool:
        return (path.category_id in (None, ticket.category_id)) and (
            not path.min_priority or rank >= PRIORITY_RANK.get(path.min_priority, 0)
        )

    candidates = [p for p in paths if matches(p)]
    if candidates:
        return max(candidates, key=lambda p: (p.category_id is not None, PRIORITY_RANK.get(p.min_priority, -1)))
    return paths[0] if paths else None


def _level_team(level: EscalationLevel, tier3: Team | None) -> Team | None:
    if level.target == LevelTarget.MANAGER_ON_CALL and level.team is None:
        return tier3
    return level.team


def _dossier_facts(ticket_ids: Iterable[int]) -> dict[int, Mapping[str, Any]]:
    """Last public message (the request, a reply or a customer message) and conversation counts per ticket, in one
    query. Status changes are public too but say nothing a receiver needs to read."""
    conversation = (EventKind.AGENT_REPLY, EventKind.CUSTOMER_MESSAGE, EventKind.CREATED)
    last = TicketEvent.objects.filter(ticket=OuterRef("pk"), is_public=True, kind__in=conversation).order_by(
        "-created_at", "-id"
    )
    rows = (
        Ticket.objects.filter(pk__in=set(ticket_ids))
        .annotate(
            last_kind=Subquery(last.values("kind")[:1]),
            last_body=Subquery(last.values("body")[:1]),
            last_at=Subquery(last.values("created_at")[:1]),
            replies=Count("events", filter=Q(events__kind=EventKind.AGENT_REPLY)),
            notes=Count("events", filter=Q(events__kind=EventKind.INTERNAL_NOTE)),
            messages=Count("events", filter=Q(events__kind=EventKind.CUSTOMER_MESSAGE)),
        )
        .values("pk", "last_kind", "last_body", "last_at", "replies", "notes", "messages")
    )
    return {row["pk"]: row for row in rows}


def sla_escalate_breached(*, clocks: list[SLAClock], now: datetime) -> int:
    """Escalate each breached clock's ticket one level up its support-level path, with a generated dossier: one
    automatic escalation per ticket and level, guaranteed by the open-escalation constraint. Notifies the receiving
    team (quiet hours apply to email, never to the escalation). A ticket whose escalation is still open (not yet
    accepted) is not escalated again by a second breach: its acknowledgement timer already climbs the ladder. Runs
    in the caller's transaction; returns how many escalations it created."""
    by_ticket: dict[int, SLAClock] = {}
    for clock in sorted(clocks, key=lambda c: (c.due_at, c.pk)):
        by_ticket.setdefault(clock.ticket_id, clock)
    if not by_ticket:
        return 0
    paths = _paths_by_priority()
    tier3 = Team.objects.filter(tier=3).order_by("pk").first()
    active = defaultdict(list)
    for esc in Escalation.objects.filter(ticket_id__in=by_ticket, status__in=ACTIVE_STATUSES).only(
        "pk", "ticket_id", "level", "path_id", "status", "to_tier", "to_team_id"
    ):
        active[esc.ticket_id].append(esc)
    facts = _dossier_facts(by_ticket)

    planned: dict[int, tuple[Escalation, EscalationLevel]] = {}
    for ticket_id, clock in by_ticket.items():
        ticket = clock.ticket
        if any(esc.status == EscalationStatus.OPEN for esc in active[ticket_id]):
            # Already waiting in someone's inbox: the acknowledgement timer climbs the ladder, not a second breach.
            continue
        current = max(active[ticket_id], key=lambda e: e.level, default=None)
        path = next((p for p in paths if current and p.pk == current.path_id), None) or _path_for(ticket, paths)
        if path is None:
            continue
        levels = {level.position: level for level in path.levels.all()}
        position = (current.level + 1) if current else 1
        level = levels.get(position)
        if level is None:
            continue
        to_team = _level_team(level, tier3)
        escalation = _automatic_escalation(
            ticket=ticket, clock=clock, path=path, level=level, to_team=to_team, facts=facts, now=now
        )
        if current is not None:
            # Above an accepted hop: it becomes the previous hop of the chain and is superseded below.
            escalation.previous_id = current.pk
            escalation.from_tier, escalation.from_team_id = current.to_tier, current.to_team_id
        planned[ticket_id] = (escalation, level)
    if not planned:
        return 0
    _insert_many(Escalation, [esc for esc, _ in planned.values()], ignore_conflicts=True)
    created = {
        esc.ticket_id: esc
        for esc in Escalation.objects.filter(
            ticket_id__in=planned, status=EscalationStatus.OPEN, mode=EscalationMode.AUTOMATIC, created_at=now
        ).select_related("to_team")
    }
    created = {tid: esc for tid, esc in created.items() if esc.level == planned[tid][1].position}
    if not created:
        return 0
    previous = [esc.previous_id for esc in created.values() if esc.previous_id]
    if previous:
        Escalation.objects.filter(pk__in=previous, status__in=ACTIVE_STATUSES).update(
            status=EscalationStatus.SUPERSEDED, closed_at=now
        )
    for clock in clocks:
        if clock.ticket_id in created:
            clock.escalation_level = created[clock.ticket_id].level
    _after_escalations(
        escalations=list(created.values()),
        tickets={tid: by_ticket[tid].ticket for tid in created},
        levels={tid: planned[tid][1] for tid in created},
        now=now,
        why={tid: by_ticket[tid] for tid in created},
    )
    return len(created)


def _automatic_escalation(
    *, ticket: Ticket, clock: SLAClock, path, level, to_team, facts: dict, now: datetime
) -> Escalation:
    tz, words = _tz(clock), TARGET_WORDS[clock.target]
    policy = clock.policy
    fact = facts.get(ticket.pk, {})
    if fact.get("last_at"):
        who = {
            EventKind.AGENT_REPLY: "our reply",
            EventKind.CUSTOMER_MESSAGE: "the customer's message",
            EventKind.CREATED: "the request itself",
        }.get(fact["last_kind"], fact["last_kind"])
        last = f'Last public activity {_fmt(fact["last_at"], tz)}: {who}: "{(fact["last_body"] or "")[:300]}".'
    else:
        last = "No public activity yet."
    tried = (
        f"{fact.get('replies', 0)} agent repl{'y' if fact.get('replies') == 1 else 'ies'}, "
        f"{fact.get('messages', 0)} customer message(s), {fact.get('notes', 0)} internal note(s). {last}"
    )
    promise = (
        f"{policy.plan.name} plan, {ticket.get_priority_display()} priority ({policy.name}): "
        f"{words} within {clock.target_seconds // 60} business minutes"
        if policy
        else f"{words} target"
    )
    return Escalation(
        ticket=ticket,
        escalation_type=EscalationType.SUPPORT_LEVEL,
        mode=EscalationMode.AUTOMATIC,
        status=EscalationStatus.OPEN,
        path=path,
        level=level.position,
        from_tier=ticket.tier,
        to_tier=to_team.tier if to_team else 3,
        from_team_id=ticket.team_id,
        to_team=to_team,
        requested_by_kind=RequestedBy.SYSTEM,
        reason=f"SLA breach: the {words} was due {_fmt(clock.due_at, tz)} ({promise}).",
        dossier_problem=f"{ticket.subject}\n\n{ticket.description[:1500]}",
        dossier_tried=tried,
        dossier_desired_outcome=(
            f"Meet the promise: {promise}. It was due {_fmt(clock.due_at, tz)} and is now overdue; take ownership and "
            "answer the customer."
        ),
        dossier_mood="unknown",
        created_at=now,
        ack_due_at=now + timedelta(minutes=level.ack_minutes),
    )


def _after_escalations(*, escalations, tickets, levels, now, why=None) -> None:
    """Timeline events and receiving-team notifications for freshly opened escalations (bulk). On a breach the
    customer is also told, in plain words, who has their request now (as the escalation service does for a hop)."""
    team_ids = {esc.to_team_id for esc in escalations if esc.to_team_id}
    people = _team_people(team_ids)
    specs = team_calendar_specs(team_ids=team_ids)
    customers = User.objects.in_bulk({tickets[esc.ticket_id].customer_id for esc in escalations}) if why else {}
    events, notices = [], []
    for esc in escalations:
        ticket, level = tickets[esc.ticket_id], levels[esc.ticket_id]
        team_name = esc.to_team.name if esc.to_team else "tier 3"
        clock = (why or {}).get(esc.ticket_id)
        if clock is not None:
            events.append(
                TicketEvent(
                    ticket=ticket,
                    kind=EventKind.SLA,
                    is_public=False,
                    body=f"The {TARGET_WORDS[clock.target]} SLA was breached: due {_fmt(clock.due_at, _tz(clock))}.",
                    data={"sla": "breached", "target": clock.target, "due_at": clock.due_at.isoformat()},
                    created_at=now,
                )
            )
            body = f"Automatic escalation to {team_name} (level {esc.level}): {esc.reason}"
            words = (
                f"We have passed your request to our {team_name} so that the right people handle it. They have "
                "everything you have told us, so you will not need to repeat yourself. They will reply here."
            )
            events.append(
                TicketEvent(ticket=ticket, kind=EventKind.ESCALATED, is_public=True, body=words, created_at=now)
            )
            customer = customers.get(ticket.customer_id)
            if customer is not None:
                notices.append(
                    _Notice(
                        ticket=ticket,
                        recipients=[customer],
                        kind="customer_escalated",
                        subject=f"[{ticket.reference}] An update on your request",
                        body=f"Hello {customer.display_name},\n\n{words}",
                        not_before=None,
                    )
                )
        else:
            body = f"Nobody accepted level {esc.level - 1} in time: paged {team_name} (level {esc.level})."
        events.append(
            TicketEvent(
                ticket=ticket,
                kind=EventKind.ESCALATED,
                is_public=False,
                body=body,
                data={
                    "escalation_id": esc.pk,
                    "mode": esc.mode,
                    "level": esc.level,
                    "to_team": team_name,
                    "automatic": True,
                },
                created_at=now,
            )
        )
        members = people.get(esc.to_team_id, [])
        if level.notify_leads_only or not level.notify_team:
            recipients = [user for user, lead in members if lead]
        else:
            recipients = [user for user, _ in members]
        notices.append(
            _Notice(
                ticket=ticket,
                recipients=recipients,
                kind="escalation_automatic",
                subject=f"[{ticket.reference}] Escalated to {team_name}: {ticket.subject}",
                body=f"{body}\n\nProblem: {esc.dossier_problem[:500]}\nSo far: {esc.dossier_tried}\n"
                f"Wanted: {esc.dossier_desired_outcome}\nAccept by {_fmt(esc.ack_due_at, settings.TIME_ZONE)}.",
                not_before=_quiet_until(team_id=esc.to_team_id, ticket=ticket, specs=specs, now=now),
            )
        )
    recorded = _events_record_bulk(events)
    _notify_bulk(notices, now)
    webhook_emit_many(
        event_type=WebhookEventType.TICKET_ESCALATED,
        items=[
            (event.ticket, escalation_payload(event.data))
            for event in recorded
            if event.kind == EventKind.ESCALATED and not event.is_public and "escalation_id" in event.data
        ],
    )


def sla_page_unacknowledged(*, now: datetime, batch_size: int = 500) -> int:
    """Escalations still open past ``ack_due_at`` page the next level of their path (the old hop is superseded);
    at the top of the path they simply stop waiting. Batched, locked with skip_locked; exactly once per hop by the
    open-escalation constraint. Returns how many next levels were paged."""
    paged = 0
    # ``status__startswith`` (only "open" starts so) keeps SQLite's planner on the ack_due_at index: an equality on
    # status pulls it onto the inbox index and scans every open escalation. A partial index on ack_due_at WHERE
    # status = 'open' in the Escalation model would make this unnecessary.
    # A caller-waiting hop (not an emergency) is left to escalations.calls.warm_transfers_expire: it becomes a
    # callback, not a page.
    awaiting = Q(status__startswith=EscalationStatus.OPEN, ack_due_at__lte=now, path__isnull=False) & (
        Q(caller_waiting=False) | Q(escalation_type=EscalationType.EMERGENCY)
    )
    due = Escalation.objects.filter(awaiting).exists()
    while due:
        with transaction.atomic():
            escalations = list(
                Escalation.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(awaiting, status=EscalationStatus.OPEN)
                .select_related("ticket")
                .order_by("ack_due_at", "pk")[:batch_size]
            )
            if escalations:
                paged += _page_batch(escalations, now=now)
        if len(escalations) < batch_size:
            break
    return paged


def _page_batch(escalations: list[Escalation], *, now: datetime) -> int:
    path_ids = {esc.path_id for esc in escalations}
    levels: dict[tuple[int | None, int], EscalationLevel] = {
        (level.path_id, level.position): level
        for level in EscalationLevel.objects.filter(path_id__in=path_ids).select_related("team")
    }
    tier3 = Team.objects.filter(tier=3).order_by("pk").first()
    planned: dict[int, tuple[Escalation, EscalationLevel]] = {}
    top = []
    for esc in escalations:
        nxt = levels.get((esc.path_id, esc.level + 1))
        if nxt is None or esc.ticket.status not in OPEN_STATUSES:
            top.append(esc.pk)
            continue
        to_team = _level_team(nxt, tier3)
        planned[esc.pk] = (
            Escalation(
                ticket=esc.ticket,
                escalation_type=esc.escalation_type,
                mode=EscalationMode.AUTOMATIC,
                status=EscalationStatus.OPEN,
                path_id=esc.path_id,
                level=nxt.position,
                previous=esc,
                from_tier=esc.to_tier,
                to_tier=to_team.tier if to_team else 3,
                from_team_id=esc.to_team_id,
                to_team=to_team,
                requested_by_kind=RequestedBy.SYSTEM,
                reason=f"Not accepted within {levels[(esc.path_id, esc.level)].ack_minutes} minutes at level "
                f"{esc.level}. {esc.reason}"
                if (esc.path_id, esc.level) in levels
                else esc.reason,
                dossier_problem=esc.dossier_problem,
                dossier_tried=esc.dossier_tried,
                dossier_desired_outcome=esc.dossier_desired_outcome,
                dossier_mood=esc.dossier_mood,
                caller_waiting=esc.caller_waiting,
                created_at=now,
                ack_due_at=now + timedelta(minutes=nxt.ack_minutes),
            ),
            nxt,
        )
    if top:
        # Nobody above: stop waiting (the escalation stays open with its team).
        Escalation.objects.filter(pk__in=top).update(ack_due_at=None)
    if not planned:
        return 0
    Escalation.objects.filter(pk__in=planned).update(status=EscalationStatus.SUPERSEDED, closed_at=now)
    _insert_many(Escalation, [esc for esc, _ in planned.values()], ignore_conflicts=True)
    created = list(
        Escalation.objects.filter(previous_id__in=planned, status=EscalationStatus.OPEN, created_at=now).select_related(
            "to_team"
        )
    )
    tickets = {esc.ticket_id: esc.ticket for esc in escalations}
    levels_by_ticket = {
        esc.ticket_id: planned[esc.previous_id][1] for esc in created if esc.previous_id is not None
    }  # every row has one: selected by previous_id__in
    _after_escalations(escalations=created, tickets=tickets, levels=levels_by_ticket, now=now)
    return len(created)
