"""The SLA clock state machine: pure functions over plain data, no database access.

One home for the clock rules. The live engine (``escalations.sla.engine`` and its sweep, ``escalations.sla.sweep``)
applies these functions to ``SLAClock`` rows (which have the same attribute names as :class:`Clock`) and saves the
result; the what-if simulator (``reports.simulator``) applies them to :class:`Clock` objects in memory. Business time
comes from ``escalations.sla.calendar``.

Rules
    A clock measures one target (first response, next response, resolution) in its policy's business calendar.
    ``consumed_seconds`` is the business time used up to ``running_since``; while running, the clock is due at
    ``running_since`` plus the remaining business time, and warns at the policy's warn share of the target.

    A clock *warns* once the business time it used reaches the warn share, and *breaches* once it reaches the
    target, while it is live. Every transition (pause, resume, meet, stop, reopen, policy change, clear) first
    *observes* the clock at its moment, so what a clock did never depends on when the sweep happened to run: the
    sweep observes running clocks between transitions so that warnings and breaches are acted on in time. A breach
    is dated at the deadline (``due_at``); a warning at the moment it was observed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from escalations.sla.calendar import CalendarSpec, add_business_seconds, business_seconds_between

# The values of ``ClockTarget`` / ``ClockState`` / ``SLAEventKind`` (kept here so the module stays self-contained).
FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION = "first_response", "next_response", "resolution"
TARGETS = (FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION)
RESPONSE_TARGETS = (FIRST_RESPONSE, NEXT_RESPONSE)
RUNNING, PAUSED, MET, STOPPED, CLEARED = "running", "paused", "met", "stopped", "cleared"
LIVE = (RUNNING, PAUSED)

# Ticket statuses the clock rules name.
PENDING_CUSTOMER, RESOLVED, CLOSED = "pending_customer", "resolved", "closed"
CLOSING = (RESOLVED, CLOSED)


@dataclass(frozen=True)
class ClockPolicy:
    """What the clock needs of an SLA policy: target seconds per target (``None``: no such target), the warn
    percentage, the statuses that pause its clocks and its calendar. ``key`` identifies it (the policy id)."""

    key: Any
    name: str
    targets: Mapping[str, int | None]
    warn_percent: int
    pause_statuses: frozenset[str]
    spec: CalendarSpec

    def seconds(self, target: str) -> int | None:
        return self.targets.get(target) or None


@dataclass(eq=False)
class Clock:
    """One clock as plain data (the attributes the live ``SLAClock`` model has too)."""

    target: str
    target_seconds: int
    started_at: datetime
    policy_id: Any = None
    state: str = RUNNING
    running_since: datetime | None = None
    consumed_seconds: int = 0
    due_at: datetime | None = None
    warn_at: datetime | None = None
    paused_since: datetime | None = None
    paused_seconds: int = 0
    met_at: datetime | None = None
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    next_check_at: datetime | None = None


@dataclass(frozen=True)
class Note:
    """One line of a clock's history (``kind`` is an ``SLAEventKind`` value)."""

    clock: Any
    kind: str
    at: datetime
    detail: str = ""


@dataclass
class Step:
    """What a transition did: the clocks it created or changed, in order, and their history."""

    changed: list[Any] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def touch(self, clock: Any) -> None:
        if not any(c is clock for c in self.changed):
            self.changed.append(clock)


# --- arithmetic on one clock ---------------------------------------------------------------------------------------


def warn_seconds(target_seconds: int, warn_percent: int) -> int:
    """The business seconds after which a clock warns."""
    return math.ceil(target_seconds * warn_percent / 100)


def used_seconds(clock: Any, spec: CalendarSpec, now: datetime) -> int:
    """Business seconds the clock has used as of ``now``."""
    used = clock.consumed_seconds
    if clock.state == RUNNING and clock.running_since is not None:
        used += business_seconds_between(spec, clock.running_since, now)
    return used


def consume(clock: Any, spec: CalendarSpec, now: datetime) -> None:
    """Fold the running segment into ``consumed_seconds`` and start a new segment at ``now``."""
    if clock.state == RUNNING and clock.running_since is not None:
        clock.consumed_seconds += business_seconds_between(spec, clock.running_since, now)
        clock.running_since = max(clock.running_since, now)


def pending_check(clock: Any) -> datetime | None:
    """The earliest moment the sweep must look at a running clock: its warning or deadline not yet observed."""
    if clock.state != RUNNING:
        return None
    pending = [
        moment
        for moment, done in ((clock.warn_at, clock.warned_at), (clock.due_at, clock.breached_at))
        if moment is not None and done is None
    ]
    return min(pending) if pending else None


def schedule(clock: Any, policy: ClockPolicy) -> None:
    """Compute due_at, warn_at and next_check_at of a running clock; a clock that is not running has no check."""
    if clock.state != RUNNING:
        clock.next_check_at = None
        return
    spec, start = policy.spec, clock.running_since
    remaining = clock.target_seconds - clock.consumed_seconds
    if clock.breached_at is not None:
        clock.due_at = clock.breached_at
    elif remaining > 0:
        clock.due_at = add_business_seconds(spec, start, remaining)
    else:
        # The target was used up in an earlier segment (a shorter policy, a reopen): it is due the moment it runs.
        clock.due_at = start
    if clock.warned_at is None:
        left = warn_seconds(clock.target_seconds, policy.warn_percent) - clock.consumed_seconds
        clock.warn_at = min(add_business_seconds(spec, start, left) if left > 0 else start, clock.due_at)
    clock.next_check_at = pending_check(clock)


def crossings(clock: Any, policy: ClockPolicy, now: datetime) -> tuple[bool, bool]:
    """(warns, breaches): whether observing the live clock at ``now`` finds a warning or a breach not yet seen."""
    if clock.state not in LIVE:
        return False, False
    if clock.state == RUNNING and clock.due_at is not None:
        reached_warn = clock.warn_at is not None and clock.warn_at <= now
        reached_due = clock.due_at <= now
    else:
        used = used_seconds(clock, policy.spec, now)
        reached_due = used >= clock.target_seconds
        reached_warn = used >= warn_seconds(clock.target_seconds, policy.warn_percent)
    return (reached_warn or reached_due) and clock.warned_at is None, reached_due and clock.breached_at is None


def observe(clock: Any, policy: ClockPolicy, now: datetime, step: Step | None = None) -> tuple[bool, bool]:
    """Record the warning and the breach the clock reached by ``now`` (a breach implies its warning). Returns
    (newly warned, newly breached)."""
    warns, breaches = crossings(clock, policy, now)
    if breaches:
        clock.breached_at = clock.due_at if clock.state == RUNNING and clock.due_at is not None else now
    if warns:
        clock.warned_at = now
    if step is not None and (warns or breaches):
        step.touch(clock)
        if warns and not breaches:  # a breach is the news; the warning it implies is only marked
            step.notes.append(Note(clock, "warned", now, f"{policy.warn_percent}% used."))
        if breaches:
            step.notes.append(Note(clock, "breached", clock.breached_at, "Missed."))
    return warns, breaches


# --- transitions of one clock --------------------------------------------------------------------------------------


def start(
    *,
    target: str,
    policy: ClockPolicy,
    started_at: datetime,
    now: datetime,
    paused: bool,
    factory: Callable[..., Any] = Clock,
) -> Any:
    """A new clock for ``target`` that started at ``started_at`` (time until ``now`` already counts)."""
    clock = factory(
        target=target,
        policy_id=policy.key,
        target_seconds=policy.seconds(target) or 0,
        started_at=started_at,
        consumed_seconds=business_seconds_between(policy.spec, started_at, now) if started_at < now else 0,
        state=PAUSED if paused else RUNNING,
        running_since=None if paused else now,
        paused_since=now if paused else None,
    )
    schedule(clock, policy)
    return clock


def pause(clock: Any, policy: ClockPolicy, now: datetime) -> None:
    observe(clock, policy, now)
    consume(clock, policy.spec, now)
    clock.state, clock.running_since, clock.paused_since = PAUSED, None, now
    clock.due_at = clock.next_check_at = None


def resume(clock: Any, policy: ClockPolicy, now: datetime) -> None:
    clock.paused_seconds += int((now - clock.paused_since).total_seconds()) if clock.paused_since else 0
    clock.state, clock.paused_since, clock.running_since = RUNNING, None, now
    schedule(clock, policy)


def finish(clock: Any, policy: ClockPolicy | None, now: datetime, *, met: bool) -> None:
    """Meet (``met``) or stop the clock at ``now``."""
    if policy is not None:
        observe(clock, policy, now)
        consume(clock, policy.spec, now)
    clock.state = MET if met else STOPPED
    clock.met_at = now if met else None
    clock.running_since, clock.paused_since, clock.next_check_at = None, None, None


def reopen(clock: Any, now: datetime) -> None:
    """A met resolution clock runs again with the time it had used (and what it had warned or breached)."""
    clock.state, clock.met_at, clock.running_since = RUNNING, None, now


def clear(clock: Any, policy: ClockPolicy | None, now: datetime) -> None:
    if policy is not None:
        observe(clock, policy, now)
        consume(clock, policy.spec, now)
    clock.state, clock.running_since, clock.next_check_at = CLEARED, None, None


def pause_or_resume(clock: Any, policy: ClockPolicy, status: str, now: datetime) -> str | None:
    """Pause or resume by the policy's pause statuses; returns "paused", "resumed" or ``None``."""
    should_pause = status in policy.pause_statuses
    if clock.state == RUNNING and should_pause:
        pause(clock, policy, now)
        return "paused"
    if clock.state == PAUSED and not should_pause:
        resume(clock, policy, now)
        return "resumed"
    return None


def change_policy(clock: Any, old: ClockPolicy | None, new: ClockPolicy, *, status: str, now: datetime) -> str | None:
    """Move a live clock to another policy (or new targets, or a new calendar) keeping the time it used: it is
    observed and its segment folded under the old policy, then scheduled under the new one."""
    if old is not None:
        observe(clock, old, now)
        consume(clock, old.spec, now)
    clock.policy_id, clock.target_seconds = new.key, new.seconds(clock.target) or 0
    moved = pause_or_resume(clock, new, status, now)
    schedule(clock, new)
    return moved


# --- transitions of a ticket's clocks --------------------------------------------------------------------------------


def _observe(clock: Any, policies: Mapping[Any, ClockPolicy], now: datetime, step: Step) -> None:
    policy = policies.get(clock.policy_id)
    if policy is not None:
        observe(clock, policy, now, step)


def on_recompute(
    *,
    clocks: Sequence[Any],
    old_policies: Mapping[Any, ClockPolicy],
    policy: ClockPolicy | None,
    status: str,
    is_open: bool,
    created_at: datetime,
    seen_targets: set[str],
    replied: bool,
    now: datetime,
    factory: Callable[..., Any] = Clock,
) -> Step:
    """Bring the ticket's live ``clocks`` in line with ``policy`` (creation, priority/plan/category change, a policy
    or calendar edit): clear what it has no target for, move the others keeping used time, and start first response
    (unless an agent already replied publicly) and resolution if the ticket never had them."""
    step = Step()
    for clock in clocks:
        old = old_policies.get(clock.policy_id)
        if old is not None:
            observe(clock, old, now, step)
        if policy is None or not policy.seconds(clock.target):
            clear(clock, old, now)
            step.touch(clock)
            step.notes.append(Note(clock, "cleared", now))
            continue
        if old is not None and old == policy and clock.target_seconds == policy.seconds(clock.target):
            continue
        moved = change_policy(clock, old, policy, status=status, now=now)
        step.touch(clock)
        if moved:
            step.notes.append(Note(clock, moved, now))
        step.notes.append(Note(clock, "recomputed", now))
    if policy is not None and is_open:
        wanted = [] if replied or FIRST_RESPONSE in seen_targets else [FIRST_RESPONSE]
        wanted += [] if RESOLUTION in seen_targets else [RESOLUTION]
        for target in wanted:
            if not policy.seconds(target):
                continue
            paused = status in policy.pause_statuses
            clock = start(target=target, policy=policy, started_at=created_at, now=now, paused=paused, factory=factory)
            step.touch(clock)
            step.notes.append(Note(clock, "started", created_at))
    return step


def on_agent_public_reply(*, clocks: Sequence[Any], policies: Mapping[Any, ClockPolicy], now: datetime) -> Step:
    """A public agent reply meets the live response clocks (first response, next response)."""
    step = Step()
    for clock in clocks:
        if clock.state in LIVE and clock.target in RESPONSE_TARGETS:
            _observe(clock, policies, now, step)
            finish(clock, policies.get(clock.policy_id), now, met=True)
            step.touch(clock)
            step.notes.append(Note(clock, "met", now))
    return step


def on_customer_message(
    *,
    clocks: Sequence[Any],
    policy: ClockPolicy | None,
    status: str,
    now: datetime,
    factory: Callable[..., Any] = Clock,
) -> Step:
    """A customer message starts next response unless a response clock is live or the ticket is closed."""
    step = Step()
    live_response = any(c.state in LIVE and c.target in RESPONSE_TARGETS for c in clocks)
    if live_response or status == CLOSED or policy is None or not policy.seconds(NEXT_RESPONSE):
        return step
    # The customer's message ends a wait on the customer (the reply service reopens the ticket right after).
    paused = status in policy.pause_statuses and status != PENDING_CUSTOMER
    clock = start(target=NEXT_RESPONSE, policy=policy, started_at=now, now=now, paused=paused, factory=factory)
    step.touch(clock)
    step.notes.append(Note(clock, "started", now))
    return step


def on_status_changed(
    *, clocks: Sequence[Any], policies: Mapping[Any, ClockPolicy], old: str, new: str, now: datetime
) -> Step:
    """Resolve meets resolution and stops response clocks; close stops everything; reopening a resolved ticket
    resumes its last met resolution clock with its used time; other changes pause and resume by the policy's pause
    statuses. ``clocks`` are the ticket's clocks in creation order (finished ones included, for the reopen)."""
    step = Step()
    live = [c for c in clocks if c.state in LIVE]
    if new in CLOSING:
        for clock in live:
            met = new == RESOLVED and clock.target == RESOLUTION
            _observe(clock, policies, now, step)
            finish(clock, policies.get(clock.policy_id), now, met=met)
            step.touch(clock)
            step.notes.append(Note(clock, "met" if met else "stopped", now))
        return step
    if old in CLOSING and not any(c.target == RESOLUTION for c in live):
        last = next((c for c in reversed(clocks) if c.target == RESOLUTION and c.state == MET), None)
        if last is not None:
            reopen(last, now)
            step.touch(last)
            step.notes.append(Note(last, "reopened", now))
            live.append(last)
    for clock in live:
        policy = policies.get(clock.policy_id)
        if policy is None:
            continue
        if clock.state == RUNNING and new in policy.pause_statuses:
            observe(clock, policy, now, step)
        moved = pause_or_resume(clock, policy, new, now)
        if moved:
            step.touch(clock)
            step.notes.append(Note(clock, moved, now))
        elif any(c is clock for c in step.changed):
            schedule(clock, policy)
    return step


def sweep_decision(clock: Any, policy: ClockPolicy, now: datetime) -> tuple[bool, bool]:
    """What the sweep must record for a running clock at ``now``: (warn, breach). Same rule as :func:`observe`."""
    if clock.state != RUNNING:
        return False, False
    return crossings(clock, policy, now)
