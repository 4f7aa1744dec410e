"""SLA what-if simulator: replay a past period's real tickets under a draft SLA policy or calendar, read-only.

A *draft* changes one active policy (its targets, warn percentage or calendar) or swaps one business calendar for
another in every policy that uses it. The *population* is the tickets created in the period whose SLA clocks ran
under an affected policy (the policy of the ticket's first clock), visible to the viewer. For each of them the
simulator replays the ticket's real timeline (created, public agent replies, customer messages, status changes:
pauses, resolve, close, reopen) with the same rules as the live engine (``escalations.sla``) and the pure business
time arithmetic of ``escalations.calendar``, and compares, per ticket and target, "breached" with what actually
happened (the ticket's ``SLAClock`` rows: ``breached_at`` set). A ticket with a breach is one the sweep escalates
up its path, so "escalated" is counted per ticket with at least one breach.

Nothing is written: the module only reads. Applying a draft is ``reports.services.sla_draft_apply`` (admin only,
confirmed).

Limits, on purpose: a ticket is replayed under the policy of its first clock (priority, category or plan changes
during its life are not replayed); a clock still running is judged as of ``now``. The replay assumes the sweep runs
every minute, as it does in production: a clock that passed its warning or deadline counts as warned or breached even
where the recorded history missed it because no sweep ran in between (seeded or imported data, an outage).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypedDict

from django.db.models import Count, OuterRef, Q, Subquery

from escalations.calendar import CalendarSpec, business_seconds_between
from escalations.models import BusinessCalendar, ClockTarget, SLAClock, SLAPolicy
from escalations.sla_selectors import calendar_spec
from helpdesk.models import EventKind, Status, Ticket, TicketEvent, User
from helpdesk.selectors import tickets_visible_to

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _SimAnnotations(TypedDict):
    sim_policy: int


BATCH_SIZE = 500
TARGETS = tuple(ClockTarget.values)
CLOSING = (Status.RESOLVED, Status.CLOSED)


# --- the policy as the replay sees it ------------------------------------------------------------------------


@dataclass(frozen=True)
class SimPolicy:
    """What the replay needs of a policy: target seconds per target (``None``: no such target), the warn
    percentage, the statuses that pause the clocks, and the calendar."""

    targets: dict[str, int | None]
    warn_percent: int
    pause_statuses: frozenset[str]
    spec: CalendarSpec

    @classmethod
    def of(cls, policy: SLAPolicy, *, spec: CalendarSpec | None = None) -> SimPolicy:
        return cls(
            targets={t: (m * 60 if (m := policy.target_minutes(t)) else None) for t in TARGETS},
            warn_percent=policy.warn_percent,
            pause_statuses=policy.pause_statuses,
            spec=spec if spec is not None else calendar_spec(policy.calendar),
        )


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


def draft_policies(draft: Draft) -> tuple[dict[int, SimPolicy], dict[int, SimPolicy], str]:
    """The affected policies as they are (``current``) and as the draft would make them (``drafted``), by policy
    id, and a one-line description of the draft. Three queries."""
    calendars = _calendars()
    specs = {pk: calendar_spec(c) for pk, c in calendars.items()}
    policies = {p.pk: p for p in SLAPolicy.objects.filter(is_active=True)}
    if draft.replace_calendar_id is not None:
        affected = [p for p in policies.values() if p.calendar_id == draft.replace_calendar_id]
    else:
        affected = [policies[draft.policy_id]] if draft.policy_id in policies else []
    current, drafted = {}, {}
    for policy in affected:
        now_policy = SimPolicy.of(policy, spec=specs[policy.calendar_id])
        current[policy.pk] = now_policy
        targets = dict(now_policy.targets)
        if draft.replace_calendar_id is None:
            for target, name in (
                (ClockTarget.FIRST_RESPONSE, "first_response_minutes"),
                (ClockTarget.NEXT_RESPONSE, "next_response_minutes"),
                (ClockTarget.RESOLUTION, "resolution_minutes"),
            ):
                if getattr(draft, name) is not None:
                    targets[target] = getattr(draft, name) * 60 or None
        drafted[policy.pk] = replace(
            now_policy,
            targets=targets,
            warn_percent=draft.warn_percent if draft.warn_percent is not None else now_policy.warn_percent,
            spec=specs[draft.calendar_id] if draft.calendar_id is not None else now_policy.spec,
        )
    description = draft.describe(policies, calendars) if affected else "No active policy is affected."
    return current, drafted, description


# --- the replay of one ticket (pure) --------------------------------------------------------------------------


@dataclass
class _Clock:
    target: str
    target_seconds: int
    running_since: dt.datetime | None
    used: int = 0
    done: bool = False

    def fold(self, spec: CalendarSpec, moment: dt.datetime) -> None:
        if self.running_since is not None and not self.done:
            self.used += (
                business_seconds_between(spec, self.running_since, moment) if moment > self.running_since else 0
            )
            self.running_since = moment


@dataclass(frozen=True)
class TimelineEvent:
    at: dt.datetime
    kind: str
    is_public: bool = True
    status_from: str | None = None
    status_to: str | None = None


@dataclass
class Outcome:
    """Per target: breached (``True``/``False``) for every target that had a clock; warned likewise."""

    breached: dict[str, bool] = field(default_factory=dict)
    warned: dict[str, bool] = field(default_factory=dict)


def replay_ticket(
    *, created_at: dt.datetime, events: Iterable[TimelineEvent], policy: SimPolicy, now: dt.datetime
) -> Outcome:
    """Replay one ticket's timeline under ``policy`` with the live engine's rules: first response and resolution
    start at creation (paused in a pause status); the first public agent reply meets first response; a customer
    message starts next response unless a response clock is live; a public agent reply meets it; resolve meets
    resolution and stops response clocks, close stops everything, reopening resumes resolution with its used time.
    A clock breaches when its used business time exceeds the target; it warns when it reaches the warn share.
    No queries."""
    spec = policy.spec
    status: str = Status.NEW
    outcome = Outcome()
    clocks: list[_Clock] = []

    def start(target: str, moment: dt.datetime, *, paused: bool) -> None:
        seconds = policy.targets.get(target)
        if seconds:
            clocks.append(_Clock(target=target, target_seconds=seconds, running_since=None if paused else moment))

    def settle(clock: _Clock) -> None:
        breached = clock.used > clock.target_seconds
        warned = clock.used >= math.ceil(clock.target_seconds * policy.warn_percent / 100)
        outcome.breached[clock.target] = outcome.breached.get(clock.target, False) or breached
        outcome.warned[clock.target] = outcome.warned.get(clock.target, False) or warned

    def live(*targets: str) -> list[_Clock]:
        return [c for c in clocks if not c.done and c.target in targets]

    start(ClockTarget.FIRST_RESPONSE, created_at, paused=status in policy.pause_statuses)
    start(ClockTarget.RESOLUTION, created_at, paused=status in policy.pause_statuses)
    for event in sorted(events, key=lambda e: e.at):
        moment = event.at
        if event.kind == EventKind.AGENT_REPLY and event.is_public:
            for clock in live(ClockTarget.FIRST_RESPONSE, ClockTarget.NEXT_RESPONSE):
                clock.fold(spec, moment)
                clock.done = True
                settle(clock)
        elif event.kind == EventKind.CUSTOMER_MESSAGE:
            if not live(ClockTarget.FIRST_RESPONSE, ClockTarget.NEXT_RESPONSE) and status != Status.CLOSED:
                paused = status in policy.pause_statuses and status != Status.PENDING_CUSTOMER
                start(ClockTarget.NEXT_RESPONSE, moment, paused=paused)
        elif event.kind == EventKind.STATUS_CHANGED and event.status_to:
            new = event.status_to
            if new in CLOSING:
                for clock in live(*TARGETS):
                    clock.fold(spec, moment)
                    clock.done = True
                    if new == Status.RESOLVED and clock.target == ClockTarget.RESOLUTION:
                        settle(clock)  # met (late or not)
                    elif clock.used > clock.target_seconds:
                        settle(clock)  # stopped after its deadline: the sweep had breached it
            else:
                if status in CLOSING and not live(ClockTarget.RESOLUTION):
                    last = next((c for c in reversed(clocks) if c.target == ClockTarget.RESOLUTION), None)
                    if last is not None and status == Status.RESOLVED:
                        last.done, last.running_since = False, moment
                        outcome.breached.pop(ClockTarget.RESOLUTION, None)
                        outcome.warned.pop(ClockTarget.RESOLUTION, None)
                pause = new in policy.pause_statuses
                for clock in live(*TARGETS):
                    if pause and clock.running_since is not None:
                        clock.fold(spec, moment)
                        clock.running_since = None
                    elif not pause and clock.running_since is None:
                        clock.running_since = moment
            status = new
    for clock in live(*TARGETS):
        clock.fold(spec, now)
        if clock.used > clock.target_seconds:
            settle(clock)
        else:
            outcome.warned[clock.target] = outcome.warned.get(clock.target, False) or clock.used >= math.ceil(
                clock.target_seconds * policy.warn_percent / 100
            )
            outcome.breached.setdefault(clock.target, False)
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
    target, breached and warned), and Python re-runs only the calendar math, in batches of ``batch_size`` tickets (keyset pagination):
    three queries per batch (tickets, their timeline events, their real clock outcomes) and memory bounded by the
    batch, never by the period."""
    _current, drafted, description = draft_policies(draft)
    result = SimulationResult(description=description, start=start, end=end)
    if not drafted:
        return result
    tickets = tickets_visible_to(viewer) if viewer is not None else Ticket.objects.all()
    tickets = (
        tickets.filter(created_at__gte=start, created_at__lt=end)
        .alias(first_policy=_first_policy())
        .filter(first_policy__in=list(drafted))
        .annotate(sim_policy=_first_policy())
        .select_related("team", "organization__plan")
        .only("pk", "reference", "subject", "created_at", "team__name", "organization__plan__name")
    )
    labels = dict(ClockTarget.choices)
    for batch in _batches(tickets, batch_size):
        result.batches += 1
        ids = [t.pk for t in batch]
        timeline: dict[int, list[TimelineEvent]] = defaultdict(list)
        kinds = (EventKind.AGENT_REPLY, EventKind.CUSTOMER_MESSAGE, EventKind.STATUS_CHANGED)
        for row in (
            TicketEvent.objects.filter(ticket_id__in=ids, kind__in=kinds)
            .order_by("created_at", "pk")
            .values_list("ticket_id", "created_at", "kind", "is_public", "data")
        ):
            ticket_id, at, kind, is_public, data = row
            data = data or {}
            timeline[ticket_id].append(
                TimelineEvent(
                    at=at, kind=kind, is_public=is_public, status_from=data.get("from"), status_to=data.get("to")
                )
            )
        actual: dict[int, dict[str, bool]] = defaultdict(dict)
        actual_warned: dict[int, dict[str, bool]] = defaultdict(dict)
        for clock_row in (
            SLAClock.objects.filter(ticket_id__in=ids)
            .values("ticket_id", "target")
            .annotate(
                breaches=Count("pk", filter=Q(breached_at__isnull=False)),
                warnings=Count("pk", filter=Q(warned_at__isnull=False)),
            )
            .order_by()
        ):
            actual[clock_row["ticket_id"]][clock_row["target"]] = clock_row["breaches"] > 0
            actual_warned[clock_row["ticket_id"]][clock_row["target"]] = clock_row["warnings"] > 0
        for ticket in batch:
            replayed = replay_ticket(
                created_at=ticket.created_at, events=timeline[ticket.pk], policy=drafted[ticket.sim_policy], now=now
            )
            simulated = replayed.breached
            real = actual[ticket.pk]
            team = ticket.team.name if ticket.team else "(no team)"
            plan = ticket.organization.plan.name if ticket.organization and ticket.organization.plan else "(no plan)"
            result.tickets += 1
            changes = []
            for target in TARGETS:
                was, would = real.get(target, False), simulated.get(target, False)
                tally = result.by_target[target]
                tally.actual_breaches += was
                tally.simulated_breaches += would
                tally.actual_warned += actual_warned[ticket.pk].get(target, False)
                tally.simulated_warned += replayed.warned.get(target, False)
                for group in (result.total, result.by_team[team], result.by_plan[plan]):
                    group.actual_breaches += was
                    group.simulated_breaches += would
                if was != would:
                    changes.append((labels[target], was, would))
            was_escalated, would_escalate = any(real.values()), any(simulated.values())
            for group in (result.total, result.by_team[team], result.by_plan[plan]):
                group.tickets += 1
                group.actual_escalated += was_escalated
                group.simulated_escalated += would_escalate
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
    result.by_team = dict(sorted(result.by_team.items()))
    result.by_plan = dict(sorted(result.by_plan.items()))
    return result
