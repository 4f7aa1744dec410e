"""SLA what-if simulator: replay a past period's real tickets under a draft SLA policy or calendar, read-only.

A *draft* changes one active policy (its targets, warn percentage or calendar) or swaps one business calendar for
another in every policy that uses it. The *population* is the tickets created in the period whose SLA clocks ran
under an affected policy (the policy of the ticket's first clock), visible to the viewer. For each of them the
simulator replays the ticket's real timeline (created, public agent replies, customer messages, status changes:
pauses, resolve, close, reopen; priority changes move it to the policy the ticket then matches) through the clock
state machine the live engine uses (``escalations.sla.clock``), and compares, per ticket and target, "breached" and
"warned" with what actually happened (the ticket's ``SLAClock`` rows). A ticket with a breach is one the sweep
escalates up its path, so "escalated" is counted per ticket with at least one breach.

Nothing is written: the module only reads. Applying a draft is ``reports.services.sla_draft_apply`` (admin only,
confirmed).

Limits, on purpose: a ticket is replayed in its current category and plan (category and plan changes during its
life are not replayed); a clock still running is judged as of ``now``, as the sweep would judge it then.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypedDict

from django.db.models import Count, OuterRef, Q, Subquery

from escalations.models import BusinessCalendar, ClockTarget, SLAClock, SLAPolicy
from escalations.sla import clock as sla_clock
from escalations.sla.clock import ClockPolicy
from escalations.sla.engine import clock_policy_of
from escalations.sla.selectors import calendar_spec
from helpdesk.models import OPEN_STATUSES, EventKind, Status, Ticket, TicketEvent, User
from helpdesk.selectors import tickets_visible_to

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _SimAnnotations(TypedDict):
    sim_policy: int


BATCH_SIZE = 500
TARGETS = tuple(ClockTarget.values)
CLOSING = (Status.RESOLVED, Status.CLOSED)


# --- the policy as the replay sees it ------------------------------------------------------------------------

SimPolicy = ClockPolicy  # what the replay needs of a policy is what the clock needs


@dataclass(frozen=True)
class Draft:
    """One policy with new values (``None`` keeps the current one), or one calendar replaced by another."""

    policy_id: int | None = None
    first_response_minutes: int | None = None
    next_response_minutes: int | None = None
    resolution_minutes: int | None = None
    warn_percent: int | None = None
    calendar_id: int | None = None
    replace_calendar_id: int | None = None  # with calendar_id: every policy on this calendar moves to calendar_id

    def describe(self, policies: dict[int, SLAPolicy], calendars: dict[int, BusinessCalendar]) -> str:
        if self.replace_calendar_id is not None:
            assert self.calendar_id is not None  # a replacement always names the calendar to use
            return f"Every policy on {calendars[self.replace_calendar_id]} uses {calendars[self.calendar_id]} instead"
        assert self.policy_id is not None  # a draft changes one policy unless it replaces a calendar
        policy = policies[self.policy_id]
        changes = [
            f"{label} {getattr(policy, name)} → {getattr(self, name)} min"
            for name, label in (
                ("first_response_minutes", "first response"),
                ("next_response_minutes", "next response"),
                ("resolution_minutes", "resolution"),
            )
            if getattr(self, name) is not None and getattr(self, name) != getattr(policy, name)
        ]
        if self.warn_percent is not None and self.warn_percent != policy.warn_percent:
            changes.append(f"warn at {policy.warn_percent}% → {self.warn_percent}%")
        if self.calendar_id is not None and self.calendar_id != policy.calendar_id:
            changes.append(f"calendar {policy.calendar} → {calendars[self.calendar_id]}")
        return f"{policy.name}: " + ("; ".join(changes) if changes else "no change (replays the current policy)")


def _calendars() -> dict[int, BusinessCalendar]:
    return {c.pk: c for c in BusinessCalendar.objects.prefetch_related("intervals", "holidays")}


@dataclass(frozen=True)
class DraftPolicies:
    """The affected policies as they are (``current``) and as the draft would make them (``drafted``), by policy id;
    every active policy as the replay sees it, drafted where affected (``active``); and a one-line description."""

    current: dict[int, ClockPolicy]
    drafted: dict[int, ClockPolicy]
    description: str
    active: dict[int, tuple[SLAPolicy, ClockPolicy]] = field(default_factory=dict)

    def resolver(self, *, plan_id: int | None, category_id: int | None) -> Callable[[str], ClockPolicy | None]:
        """``priority -> policy`` for one ticket: the live engine's matching rule (plan and priority, a policy for
        the ticket's category winning over the general one) over the active policies in memory."""

        def policy_for(priority: str) -> ClockPolicy | None:
            matches = [
                (model.category_id is None, model.pk, clock)
                for model, clock in self.active.values()
                if model.plan_id == plan_id and model.priority == priority and model.category_id in (None, category_id)
            ]
            return min(matches, key=lambda m: m[:2])[2] if matches else None

        return policy_for


def _drafted(draft: Draft, policy: SLAPolicy, now_policy: ClockPolicy, specs: dict) -> ClockPolicy:
    targets = dict(now_policy.targets)
    if draft.replace_calendar_id is None:
        for target, name in (
            (ClockTarget.FIRST_RESPONSE, "first_response_minutes"),
            (ClockTarget.NEXT_RESPONSE, "next_response_minutes"),
            (ClockTarget.RESOLUTION, "resolution_minutes"),
        ):
            if getattr(draft, name) is not None:
                targets[target] = getattr(draft, name) * 60 or None
    return replace(
        now_policy,
        targets=targets,
        warn_percent=draft.warn_percent if draft.warn_percent is not None else now_policy.warn_percent,
        spec=specs[draft.calendar_id] if draft.calendar_id is not None else now_policy.spec,
    )


def draft_tables(draft: Draft) -> DraftPolicies:
    """The draft applied to the active policies in memory. Four queries (calendars with their hours and holidays,
    policies)."""
    calendars = _calendars()
    specs = {pk: calendar_spec(c) for pk, c in calendars.items()}
    policies = {p.pk: p for p in SLAPolicy.objects.filter(is_active=True)}
    if draft.replace_calendar_id is not None:
        affected = [p for p in policies.values() if p.calendar_id == draft.replace_calendar_id]
    else:
        affected = [policies[draft.policy_id]] if draft.policy_id in policies else []
    active = {pk: (p, clock_policy_of(p, spec=specs[p.calendar_id])) for pk, p in policies.items()}
    current, drafted = {}, {}
    for policy in affected:
        current[policy.pk] = active[policy.pk][1]
        drafted[policy.pk] = _drafted(draft, policy, current[policy.pk], specs)
        active[policy.pk] = (policy, drafted[policy.pk])
    description = draft.describe(policies, calendars) if affected else "No active policy is affected."
    return DraftPolicies(current=current, drafted=drafted, description=description, active=active)


# --- the replay of one ticket (pure) --------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEvent:
    at: dt.datetime
    kind: str
    is_public: bool = True
    status_from: str | None = None
    status_to: str | None = None
    priority_to: str | None = None
    priority_from: str | None = None


@dataclass
class Outcome:
    """Per target: breached (``True``/``False``) for every target that had a clock; warned likewise."""

    breached: dict[str, bool] = field(default_factory=dict)
    warned: dict[str, bool] = field(default_factory=dict)


@dataclass
class _Replay:
    """A ticket's clocks as the replay moves them, and what the clock rules need to know about the ticket."""

    created_at: dt.datetime
    policy: ClockPolicy | None
    policy_for: Callable[[str], ClockPolicy | None]
    status: str = Status.NEW
    replied: bool = False
    clocks: list[sla_clock.Clock] = field(default_factory=list)
    policies: dict = field(default_factory=dict)

    def take(self, step: sla_clock.Step) -> None:
        for clock in step.changed:
            if not any(c is clock for c in self.clocks):
                self.clocks.append(clock)

    def live(self) -> list[sla_clock.Clock]:
        return [c for c in self.clocks if c.state in sla_clock.LIVE]

    def recompute(self, now: dt.datetime) -> None:
        if self.policy is not None:
            self.policies[self.policy.key] = self.policy
        step = sla_clock.on_recompute(
            clocks=self.live(),
            old_policies=self.policies,
            policy=self.policy,
            status=self.status,
            is_open=self.status in OPEN_STATUSES,
            created_at=self.created_at,
            seen_targets={c.target for c in self.clocks},
            replied=self.replied,
            now=now,
        )
        self.take(step)

    def event(self, event: TimelineEvent) -> None:
        if event.kind == EventKind.AGENT_REPLY and event.is_public:
            self.replied = True
            self.take(sla_clock.on_agent_public_reply(clocks=self.live(), policies=self.policies, now=event.at))
        elif event.kind == EventKind.CUSTOMER_MESSAGE:
            step = sla_clock.on_customer_message(
                clocks=self.live(), policy=self.policy, status=self.status, now=event.at
            )
            self.take(step)
        elif event.kind == EventKind.STATUS_CHANGED and event.status_to:
            old, self.status = self.status, event.status_to
            step = sla_clock.on_status_changed(
                clocks=self.clocks, policies=self.policies, old=old, new=self.status, now=event.at
            )
            self.take(step)
        elif event.kind == EventKind.PRIORITY_CHANGED and event.priority_to:
            self.policy = self.policy_for(event.priority_to)
            self.recompute(event.at)

    def judged(self, now: dt.datetime) -> list[sla_clock.Clock]:
        """The clocks, with the running ones observed at ``now`` as the sweep would."""
        for clock in self.clocks:
            policy = self.policies.get(clock.policy_id)
            if policy is not None and clock.state == sla_clock.RUNNING:
                sla_clock.observe(clock, policy, now)
        return self.clocks


def replay_clocks(
    *,
    created_at: dt.datetime,
    events: Iterable[TimelineEvent],
    policy: ClockPolicy | None,
    now: dt.datetime,
    policy_for: Callable[[str], ClockPolicy | None] | None = None,
) -> list[sla_clock.Clock]:
    """Every clock the ticket's timeline makes, in creation order, as of ``now`` (see :func:`replay_ticket`)."""
    replay = _Replay(created_at=created_at, policy=policy, policy_for=policy_for or (lambda _priority: policy))
    replay.recompute(created_at)
    for event in sorted(events, key=lambda e: e.at):
        replay.event(event)
    return replay.judged(now)


def replay_ticket(
    *,
    created_at: dt.datetime,
    events: Iterable[TimelineEvent],
    policy: ClockPolicy | None,
    now: dt.datetime,
    policy_for: Callable[[str], ClockPolicy | None] | None = None,
) -> Outcome:
    """Replay one ticket's timeline through the clock state machine the live engine uses (``escalations.sla.clock``):
    the clocks start at creation under ``policy``; replies, customer messages and status changes move them as they
    moved the live clocks; a priority change moves them to ``policy_for(priority)`` (without ``policy_for`` the
    ticket stays on ``policy``). A clock warns and breaches by the same rule as the live engine, and a clock still
    live is judged as of ``now``. No queries."""
    outcome = Outcome()
    clocks = replay_clocks(created_at=created_at, events=events, policy=policy, now=now, policy_for=policy_for)
    for clock in clocks:
        outcome.breached[clock.target] = outcome.breached.get(clock.target, False) or clock.breached_at is not None
        outcome.warned[clock.target] = outcome.warned.get(clock.target, False) or clock.warned_at is not None
    return outcome


# --- the period -----------------------------------------------------------------------------------------------


@dataclass
class Tally:
    actual_breaches: int = 0
    simulated_breaches: int = 0
    actual_escalated: int = 0
    simulated_escalated: int = 0
    actual_warned: int = 0
    simulated_warned: int = 0
    tickets: int = 0

    @property
    def change(self) -> int:
        return self.simulated_breaches - self.actual_breaches


@dataclass(frozen=True)
class ChangedTicket:
    ticket_id: int
    reference: str
    subject: str
    team: str
    plan: str
    changes: list[tuple[str, bool, bool]]  # (target label, actually breached, breached under the draft)


@dataclass
class SimulationResult:
    description: str
    start: dt.datetime
    end: dt.datetime
    tickets: int = 0
    by_target: dict[str, Tally] = field(default_factory=lambda: {t: Tally() for t in TARGETS})
    total: Tally = field(default_factory=Tally)
    by_team: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_plan: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    changed: list[ChangedTicket] = field(default_factory=list)
    changed_count: int = 0
    batches: int = 0


def _first_policy() -> Subquery:
    return Subquery(
        SLAClock.objects.filter(ticket=OuterRef("pk"), policy__isnull=False)
        .order_by("started_at", "pk")
        .values("policy")[:1]
    )


def _batches(qs, size: int) -> Iterator[list[WithAnnotations[Ticket, _SimAnnotations]]]:
    """Keyset pagination by primary key: each batch is one query, whatever the size of the period."""
    last = 0
    while True:
        batch = list(qs.filter(pk__gt=last).order_by("pk")[:size])
        if not batch:
            return
        yield batch
        last = batch[-1].pk


def timelines(ids: list[int]) -> dict[int, list[TimelineEvent]]:
    """The events that move clocks, per ticket, in order (one query)."""
    timeline: dict[int, list[TimelineEvent]] = defaultdict(list)
    kinds = (EventKind.AGENT_REPLY, EventKind.CUSTOMER_MESSAGE, EventKind.STATUS_CHANGED, EventKind.PRIORITY_CHANGED)
    rows = (
        TicketEvent.objects.filter(ticket_id__in=ids, kind__in=kinds)
        .order_by("created_at", "pk")
        .values_list("ticket_id", "created_at", "kind", "is_public", "data")
    )
    for ticket_id, at, kind, is_public, data in rows:
        data = data or {}
        changed = kind == EventKind.PRIORITY_CHANGED
        timeline[ticket_id].append(
            TimelineEvent(
                at=at,
                kind=kind,
                is_public=is_public,
                status_from=None if changed else data.get("from"),
                status_to=None if changed else data.get("to"),
                priority_to=data.get("to") if changed else None,
                priority_from=data.get("from") if changed else None,
            )
        )
    return timeline


def _actual(ids: list[int]) -> tuple[dict[int, dict[str, bool]], dict[int, dict[str, bool]]]:
    """What really happened per ticket and target: (breached, warned) (one query)."""
    breached: dict[int, dict[str, bool]] = defaultdict(dict)
    warned: dict[int, dict[str, bool]] = defaultdict(dict)
    rows = (
        SLAClock.objects.filter(ticket_id__in=ids)
        .values("ticket_id", "target")
        .annotate(
            breaches=Count("pk", filter=Q(breached_at__isnull=False)),
            warnings=Count("pk", filter=Q(warned_at__isnull=False)),
        )
        .order_by()
    )
    for row in rows:
        breached[row["ticket_id"]][row["target"]] = row["breaches"] > 0
        warned[row["ticket_id"]][row["target"]] = row["warnings"] > 0
    return breached, warned


def _tally(
    result: SimulationResult,
    ticket: Ticket,
    *,
    replayed: Outcome,
    real: dict[str, bool],
    real_warned: dict[str, bool],
    changed_limit: int,
) -> None:
    labels = dict(ClockTarget.choices)
    simulated = replayed.breached
    team = ticket.team.name if ticket.team else "(no team)"
    plan = ticket.organization.plan.name if ticket.organization and ticket.organization.plan else "(no plan)"
    groups = (result.total, result.by_team[team], result.by_plan[plan])
    result.tickets += 1
    changes = []
    for target in TARGETS:
        was, would = real.get(target, False), simulated.get(target, False)
        tally = result.by_target[target]
        tally.actual_breaches += was
        tally.simulated_breaches += would
        tally.actual_warned += real_warned.get(target, False)
        tally.simulated_warned += replayed.warned.get(target, False)
        for group in groups:
            group.actual_breaches += was
            group.simulated_breaches += would
        if was != would:
            changes.append((str(labels[target]), was, would))
    for group in groups:
        group.tickets += 1
        group.actual_escalated += any(real.values())
        group.simulated_escalated += any(simulated.values())
    if changes:
        result.changed_count += 1
        if len(result.changed) < changed_limit:
            result.changed.append(
                ChangedTicket(
                    ticket_id=ticket.pk,
                    reference=ticket.reference,
                    subject=ticket.subject,
                    team=team,
                    plan=plan,
                    changes=changes,
                )
            )


def initial_priority(*, priority: str, events: Iterable[TimelineEvent]) -> str:
    """The priority the ticket was created with: the first priority change's "from", else its priority now."""
    first = next((e for e in events if e.kind == EventKind.PRIORITY_CHANGED and e.priority_from), None)
    return first.priority_from if first is not None and first.priority_from else priority


def simulate(
    *,
    draft: Draft,
    start: dt.datetime,
    end: dt.datetime,
    viewer: User | None,
    now: dt.datetime,
    batch_size: int = BATCH_SIZE,
    changed_limit: int = 100,
) -> SimulationResult:
    """Replay the period's tickets under the draft and compare with what happened. Read-only.

    Why a loop over tickets: the outcome of a clock depends on business-time arithmetic over each ticket's own
    sequence of pauses and replies in a calendar with local working hours and holidays, which SQL cannot express
    sensibly. So the database selects, filters and aggregates (the population, the real outcomes per ticket and
    target, breached and warned), and Python re-runs only the clock rules, in batches of ``batch_size`` tickets
    (keyset pagination): three queries per batch (tickets, their timeline events, their real clock outcomes) and
    memory bounded by the batch, never by the period."""
    tables = draft_tables(draft)
    result = SimulationResult(description=tables.description, start=start, end=end)
    if not tables.drafted:
        return result
    tickets = tickets_visible_to(viewer) if viewer is not None else Ticket.objects.all()
    tickets = (
        tickets.filter(created_at__gte=start, created_at__lt=end)
        .alias(first_policy=_first_policy())
        .filter(first_policy__in=list(tables.drafted))
        .annotate(sim_policy=_first_policy())
        .select_related("team", "organization__plan")
        .only(
            "pk",
            "reference",
            "subject",
            "created_at",
            "priority",
            "category_id",
            "team__name",
            "organization__plan__name",
            "organization__plan_id",
        )
    )
    for batch in _batches(tickets, batch_size):
        result.batches += 1
        ids = [t.pk for t in batch]
        timeline = timelines(ids)
        actual, actual_warned = _actual(ids)
        for ticket in batch:
            events = timeline[ticket.pk]
            plan_id = ticket.organization.plan_id if ticket.organization else None
            policy_for = tables.resolver(plan_id=plan_id, category_id=ticket.category_id)
            initial = policy_for(initial_priority(priority=ticket.priority, events=events))
            replayed = replay_ticket(
                created_at=ticket.created_at,
                events=events,
                policy=initial or tables.active[ticket.sim_policy][1],
                now=now,
                policy_for=policy_for,
            )
            _tally(
                result,
                ticket,
                replayed=replayed,
                real=actual[ticket.pk],
                real_warned=actual_warned[ticket.pk],
                changed_limit=changed_limit,
            )
    result.by_team = dict(sorted(result.by_team.items()))
    result.by_plan = dict(sorted(result.by_plan.items()))
    return result
