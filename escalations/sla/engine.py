"""The SLA engine: clock services driven by ticket activity (``sla_recompute``, the ``sla_on_*`` services and
the signal receivers that call them). The sweep that warns, breaches and escalates is ``escalations.sla.sweep``.

The rules are ``escalations.sla.clock`` (pure, shared with the what-if simulator); this module loads clock rows,
applies them and saves the result with its history. A clock measures one target (first response, next response,
resolution) of one ticket in the policy's business calendar. Business seconds used so far are ``consumed_seconds``
(up to ``running_since``); while running, the deadline is ``running_since`` plus the remaining business time.
Pausing folds the running segment into ``consumed_seconds``; resuming starts a new segment; meeting folds it and
stops. Reopening a resolved ticket resumes its resolution clock with the time it had already used.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from escalations.bulk import _unsaved
from escalations.models import LIVE_CLOCK_STATES, ClockState, ClockTarget, SLAClock, SLAEvent, SLAPolicy
from escalations.risk_model.scoring import risk_rescore_on_commit
from escalations.sla import clock as sla_clock
from escalations.sla.calendar import CalendarSpec
from escalations.sla.selectors import calendar_spec, sla_policy_for_ticket
from helpdesk.models import OPEN_STATUSES, EventKind, Organization, Status, Ticket, TicketEvent
from helpdesk.signals import ticket_event_recorded

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
    return _unsaved(
        SLAEvent,
        clock=clock,
        ticket_id=clock.ticket_id,
        kind=kind,
        at=at,
        policy_id=clock.policy_id,
        detail=detail[:300],
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
    if step.changed:
        # The waiting time against the target is part of the escalation-risk reading: re-score after commit.
        risk_rescore_on_commit({clock.ticket_id for clock in step.changed})
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
