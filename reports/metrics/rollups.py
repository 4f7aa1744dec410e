"""Daily rollups: every catalogue metric is a ratio of sums of additive measures, so the dashboard and the trend
explorer read a few hundred pre-summed rows instead of the facts.

- **Grain**: one row per metric source, UTC day (the day boundary every report already uses: ``MetricFilters``
  periods are whole UTC days and weekly series are ISO weeks in UTC) and combination of the source's dimensions
  (``grain = "*"``), plus the same day summed per single dimension (``grain = "team"``, ``"type"``...) and in total
  (``grain = ""``). A question picks the coarsest grain holding every dimension it filters or splits by.
- **Measures** (``MEASURES``) are counts and one sum of durations, each built from the very conditions the fact
  queries use (``reports.metrics.conditions``), and ``METRIC_MEASURES`` says which of them are a metric's
  numerator, denominator and sample. No metric is a median or percentile, so every value is exact; a time average
  is a sum of microseconds over a count.
- **Maintenance**: a changed day is recomputed from the facts as a whole (``rollups_refresh_days``: one grouped
  fact query for that day), so an incremental refresh and ``manage.py metrics_rebuild`` run the same code and cannot
  disagree. What marks a day as changed: every ``TicketEvent`` (each service records one for every state change;
  ``reports.receivers``), after commit, marks the days of the ticket and of its escalations, clocks, survey and
  compensation requests; publishing or archiving a KB article marks the escalation days of its category; moving an
  organisation to another plan marks the days of its tickets. ``metrics_refresh_task`` refreshes the marked days (on
  commit and every minute from beat).
- **When rollups answer**: after a first complete ``metrics_rebuild`` (``MetricRollupBuild``), for a period of whole
  UTC days, and for a viewer who sees every ticket (managers and admins; ``ticket_visibility_q_for``). Anyone else,
  or a period cut inside a day, is answered from the facts as before. Within ``rollups_memoised()`` (the report
  views) the "built?" question is asked once per request.
- **Beyond the catalogue**: the time in each tier and the count of low CSAT scores are measures too
  (``measure_aggregates`` from the facts, ``rollup_column_sums`` from the rollups: the same numbers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Case, Count, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from escalations.models import ClockTarget, CompensationRequest, Escalation, SLAClock
from feedback.models import Survey
from helpdesk.idlist import ids_in
from helpdesk.models import Ticket, Tier, User
from helpdesk.selectors import ticket_visibility_q_for
from reports.metrics.conditions import (
    GRANTED,
    LOW_CSAT,
    SATISFIED_CSAT,
    duration_between,
    escalation_avoidable,
    escalation_handed_off_q,
    escalation_is_first,
    sla_clock_decided,
    sla_clock_met,
    ticket_bounced,
    ticket_escalated,
    ticket_first_contact_resolved,
    ticket_resolved,
    ticket_tier_one_duration,
    ticket_tier_one_q,
)
from reports.metrics.definitions import Metric
from reports.metrics.filters import UTC, MetricFilters
from reports.metrics.sources import FILTER_DIMENSION, SOURCE_TIME, SOURCES, Source, dimensions_of, source_rows
from reports.models import MetricRollup, MetricRollupBuild, MetricRollupDirty, RollupGrain

MEASURE_COLUMNS = ("rows", "m1", "m2", "m3", "m4", "m5", "duration_us", "duration2_us", "duration3_us")
DIMENSION_COLUMNS = (
    "team",
    "tier",
    "agent",
    "category",
    "plan",
    "channel",
    "type",
    "target",
    "path",
    "escalated",
    "approver",
)

# Per source, the measure columns it fills, each an aggregate over the source's rows (``since`` bounds subqueries).
MEASURES: dict[str, dict[str, Callable[[dt.datetime], Any]]] = {
    "tickets": {
        "rows": lambda since: Count("pk"),
        "m1": lambda since: Count("pk", filter=ticket_escalated(since)),
        "m2": lambda since: Count("pk", filter=ticket_resolved(since)),
        "m3": lambda since: Count("pk", filter=ticket_resolved(since) & ticket_first_contact_resolved(since)),
        "m4": lambda since: Count("pk", filter=ticket_escalated(since) & ticket_bounced(since)),
        # Time in tier 1 (``time_in_tier_hours``): the tickets it is known for, and its sum.
        "m5": lambda since: Count("pk", filter=ticket_tier_one_q(since)),
        "duration_us": lambda since: Sum(ticket_tier_one_duration(since)),
    },
    "escalations": {
        "rows": lambda since: Count("pk"),
        "m1": lambda since: Count("pk", filter=escalation_avoidable()),
        "m2": lambda since: Count("pk", filter=escalation_is_first()),
        "duration_us": lambda since: Sum(
            duration_between("created_at", "ticket__created_at"), filter=escalation_is_first()
        ),
        # Time in tiers 2 and 3 (``time_in_tier_hours``): escalations handed off by each, and their time in it.
        "m3": lambda since: Count("pk", filter=escalation_handed_off_q(Tier.SPECIALIST)),
        "duration2_us": lambda since: Sum(
            duration_between("closed_at", "accepted_at"), filter=escalation_handed_off_q(Tier.SPECIALIST)
        ),
        "m4": lambda since: Count("pk", filter=escalation_handed_off_q(Tier.EXECUTIVE)),
        "duration3_us": lambda since: Sum(
            duration_between("closed_at", "accepted_at"), filter=escalation_handed_off_q(Tier.EXECUTIVE)
        ),
    },
    "sla_clocks": {
        "rows": lambda since: Count("pk"),
        "m1": lambda since: Count("pk", filter=sla_clock_decided()),
        "m2": lambda since: Count("pk", filter=sla_clock_decided() & sla_clock_met()),
        "m3": lambda since: Count("pk", filter=Q(breached_at__isnull=False)),
    },
    "surveys": {
        "rows": lambda since: Count("pk"),
        "m1": lambda since: Count("pk", filter=Q(csat__isnull=False)),
        "m2": lambda since: Count("pk", filter=Q(csat__isnull=False, csat__gte=SATISFIED_CSAT)),
        "m3": lambda since: Count("pk", filter=Q(explain_count__gte=2)),
        "m4": lambda since: Count("pk", filter=Q(csat__isnull=False, csat__lte=LOW_CSAT)),  # the attention panel's
    },
    "compensations": {
        "rows": lambda since: Count("pk"),
        "m1": lambda since: Count("pk", filter=Q(status__in=GRANTED)),
    },
}


# The escalation measures that hold the time in each receiving tier: (count, summed microseconds).
TIME_IN_TIER_MEASURES: dict[int, tuple[str, str]] = {
    Tier.SPECIALIST: ("m3", "duration2_us"),
    Tier.EXECUTIVE: ("m4", "duration3_us"),
}


def measure_aggregates(source: Source, names: Iterable[str], since: dt.datetime) -> dict[str, Any]:
    """The fact aggregates of some of ``source``'s measures, keyed by measure name (the facts' side of a question
    the rollups answer with ``rollup_column_sums``)."""
    return {name: MEASURES[source][name](since) for name in names}


@dataclass(frozen=True)
class MetricMeasures:
    """A metric as sums of measure columns: ``num`` (for an average: the summed duration), ``den`` for a rate,
    ``n`` for an average, and a dimension it always fixes (the SLA target of a per-target compliance)."""

    num: str
    den: str | None = None
    n: str | None = None
    fixed: tuple[str, Any] | None = None


METRIC_MEASURES: dict[str, MetricMeasures] = {
    "tickets": MetricMeasures(num="rows"),
    "escalation_rate": MetricMeasures(num="m1", den="rows"),
    "first_contact_resolution": MetricMeasures(num="m3", den="m2"),
    "bounce_rate": MetricMeasures(num="m4", den="m1"),
    "escalations": MetricMeasures(num="rows"),
    "avoidable_rate": MetricMeasures(num="m1", den="rows"),
    "time_to_escalate": MetricMeasures(num="duration_us", n="m2"),
    "sla_compliance": MetricMeasures(num="m2", den="m1"),
    **{f"sla_{t}": MetricMeasures(num="m2", den="m1", fixed=("target", t)) for t in ClockTarget.values},
    "sla_breaches": MetricMeasures(num="m3"),
    "csat": MetricMeasures(num="m2", den="m1"),
    "repeat_yourself": MetricMeasures(num="m3"),
    "compensations_granted": MetricMeasures(num="m1"),
}


def utc_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(UTC).date()


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=UTC)


# --- reading -------------------------------------------------------------------------------------------------------


def rollups_serve(*, filters: MetricFilters, viewer: User | None) -> bool:
    """Whether rollups answer for this period and viewer (see the module docstring); one query when it may."""
    whole_days = all(moment == day_start(utc_day(moment)) for moment in (filters.start, filters.end))
    if not whole_days:
        return False
    if viewer is not None and ticket_visibility_q_for(viewer, prefix="ticket__") != Q():
        return False
    return _rollups_built()


# Within ``rollups_memoised()`` (one request), whether the rollups are built is asked once, not once per panel.
_built_memo: ContextVar[dict[str, bool] | None] = ContextVar("rollups_built_memo", default=None)


def _rollups_built() -> bool:
    memo = _built_memo.get()
    if memo is None:
        return MetricRollupBuild.objects.exists()
    if "built" not in memo:
        memo["built"] = MetricRollupBuild.objects.exists()
    return memo["built"]


@contextmanager
def rollups_memoised() -> Iterator[None]:
    """A scope (a request's view, as a decorator or a ``with``) in which every panel shares one answer to "are the
    rollups built?". A rebuild finishing meanwhile is seen by the next request, as it would be a moment later."""
    token = _built_memo.set({})
    try:
        yield
    finally:
        _built_memo.reset(token)


def metric_sums(metric: Metric, row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The ``num``/``den``/``n`` a ``Metric`` turns into its value, from summed measure columns."""
    measures = METRIC_MEASURES[metric.key]
    result: dict[str, Any] = {}
    num = row.get(f"{prefix}{measures.num}") or 0
    if measures.n is not None:
        n = row.get(f"{prefix}{measures.n}") or 0
        result["n"] = n
        result["num"] = dt.timedelta(microseconds=num / n) if n else None
    else:
        result["num"] = num
    if measures.den is not None:
        result["den"] = row.get(f"{prefix}{measures.den}") or 0
    return result


def _aggregate_of(metric: Metric, column: str, prefix: str) -> dict[str, Any]:
    measures = METRIC_MEASURES[metric.key]
    condition = Q(**{measures.fixed[0]: measures.fixed[1]}) if measures.fixed else Q()
    return {f"{prefix}{column}": Sum(column, filter=condition, default=0)}


def rollup_sums(
    metrics: Iterable[Metric],
    *,
    filters: MetricFilters,
    start: dt.date,
    end: dt.date,
    group: str | None = None,
    by_day: bool = False,
    period_split: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Summed measures of ``metrics`` (one source) over the UTC days ``[start, end)`` with ``filters``' dimension
    filters, grouped by ``group``, by ``day`` and/or by ``period`` (0 from ``period_split`` on, 1 before). Each metric's
    columns are prefixed ``<key>__``. One query."""
    chosen = list(metrics)
    source = chosen[0].source
    extra = {METRIC_MEASURES[m.key].fixed[0] for m in chosen if METRIC_MEASURES[m.key].fixed}  # type: ignore[index]
    if group is not None:
        extra.add(group)
    qs = _rollup_rows_of(source, filters=filters, start=start, end=end, dimensions=extra)
    keys: list[str] = []
    if group is not None:
        qs = qs.annotate(group=F(group))
        keys.append("group")
    if by_day:
        keys.append("day")
    if period_split is not None:
        qs = qs.annotate(period=Case(When(day__gte=period_split, then=Value(0)), default=Value(1)))
        keys.append("period")
    aggregates: dict[str, Any] = {}
    for metric in chosen:
        measures = METRIC_MEASURES[metric.key]
        for column in filter(None, (measures.num, measures.den, measures.n)):
            aggregates.update(_aggregate_of(metric, column, f"{metric.key}__"))
    if not keys:
        return [qs.aggregate(**aggregates)]
    return list(qs.values(*keys).annotate(**aggregates).order_by())


def _rollup_rows_of(
    source: str, *, filters: MetricFilters, start: dt.date, end: dt.date, dimensions: set[str]
) -> QuerySet[MetricRollup]:
    """The rollup rows of ``source`` on the UTC days ``[start, end)`` at the coarsest grain that keeps ``filters``'
    dimensions and ``dimensions``, with the filters applied."""
    wanted = {column for attribute, column in FILTER_DIMENSION.items() if getattr(filters, attribute) is not None}
    wanted |= dimensions
    grain = RollupGrain.TOTAL if not wanted else wanted.pop() if len(wanted) == 1 else RollupGrain.FULL
    qs = MetricRollup.objects.filter(source=source, grain=grain, day__gte=start, day__lt=end)
    for attribute, column in FILTER_DIMENSION.items():
        value = getattr(filters, attribute)
        if value is not None:
            qs = qs.filter(**{column: value})
    return qs


def rollup_column_sums(
    source: str, columns: Iterable[str], *, filters: MetricFilters, start: dt.date, end: dt.date
) -> dict[str, int]:
    """Measure columns of ``source`` summed over the UTC days ``[start, end)`` with ``filters``' dimension filters
    (the same values ``measure_aggregates`` gives from the facts, durations in microseconds). One query."""
    qs = _rollup_rows_of(source, filters=filters, start=start, end=end, dimensions=set())
    return qs.aggregate(**{column: Sum(column, default=0) for column in columns})


def metric_from_sums(metric: Metric, row: dict[str, Any] | None) -> tuple[float | None, int | None]:
    """Value and sample of ``metric`` from a ``rollup_sums`` row."""
    sums = metric_sums(metric, row or {}, prefix=f"{metric.key}__")
    return metric.value(sums), metric.sample(sums)


# --- maintenance ---------------------------------------------------------------------------------------------------


def _fact_rows(source: Source, first: dt.date, end: dt.date) -> dict[dt.date, list[dict[str, Any]]]:
    """The facts of ``source`` on the UTC days ``[first, end)``, grouped by day and by every dimension of the source,
    with the source's measures (one query; ``since``, which only bounds subqueries, is the first day)."""
    start = day_start(first)
    period = MetricFilters(start=start, end=day_start(end))
    qs = source_rows(source, filters=period, viewer=None, start=period.start, end=period.end)
    dims = dimensions_of(source)
    qs = qs.annotate(
        rollup_day=TruncDate(SOURCE_TIME[source], tzinfo=UTC),
        **{f"dim_{name}": expression() for name, expression in dims.items()},
    )
    measures = {f"measure_{name}": make(start) for name, make in MEASURES[source].items()}
    by_day: dict[dt.date, list[dict[str, Any]]] = {}
    for row in qs.values("rollup_day", *[f"dim_{name}" for name in dims]).annotate(**measures).order_by():
        values = {name: row[f"dim_{name}"] for name in dims}
        for name in MEASURES[source]:
            value = row[f"measure_{name}"]
            if isinstance(value, dt.timedelta):
                value = value // dt.timedelta(microseconds=1)
            values[name] = int(value or 0)
        by_day.setdefault(row["rollup_day"], []).append(values)
    return by_day


def _rollup_rows(source: Source, day: dt.date, facts: list[dict[str, Any]]) -> list[MetricRollup]:
    """The full-grain rows, and their sums per single dimension and in total."""
    dims = list(dimensions_of(source))
    grains: dict[tuple[str, tuple[Any, ...]], tuple[dict[str, Any], dict[str, int]]] = {}

    def add(grain: str, key_dims: list[str], fact: dict[str, Any]) -> None:
        key = (grain, tuple(fact[d] for d in key_dims))
        _, totals = grains.setdefault(key, ({d: fact[d] for d in key_dims}, {}))
        for name in MEASURES[source]:
            totals[name] = totals.get(name, 0) + fact[name]

    for fact in facts:
        add(RollupGrain.FULL, dims, fact)
        add(RollupGrain.TOTAL, [], fact)
        for dim in dims:
            add(dim, [dim], fact)
    return [
        MetricRollup(source=source, day=day, grain=grain, **dims_of_row, **totals)
        for (grain, _), (dims_of_row, totals) in grains.items()
    ]


@transaction.atomic
def _rollups_replace(source: Source, first: dt.date, end: dt.date) -> int:
    """Replace the rollup rows of ``source`` on the UTC days ``[first, end)`` by ones computed from the facts."""
    facts = _fact_rows(source, first, end)
    rows = [row for day, day_facts in sorted(facts.items()) for row in _rollup_rows(source, day, day_facts)]
    MetricRollup.objects.filter(source=source, day__gte=first, day__lt=end).delete()
    MetricRollup.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


@transaction.atomic
def rollups_refresh_days(*, days: Iterable[tuple[Source, dt.date]]) -> int:
    """Recompute the rollup rows of each (source, day) from the facts, replacing what was there. Atomic and
    idempotent; returns the rows written."""
    return sum(_rollups_replace(source, day, day + dt.timedelta(days=1)) for source, day in sorted(set(days)))


def rollups_mark_days(*, days: Iterable[tuple[str, dt.date]], now: dt.datetime | None = None) -> None:
    """Mark (source, day) pairs for ``rollups_refresh_dirty`` (a later mark of the same pair moves ``marked_at``)."""
    marked_at = now or timezone.now()
    rows = [MetricRollupDirty(source=source, day=day, marked_at=marked_at) for source, day in set(days)]
    if rows:
        MetricRollupDirty.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["source", "day"], update_fields=["marked_at"]
        )


def ticket_rollup_days(tickets: QuerySet[Ticket]) -> set[tuple[str, dt.date]]:
    """Every (source, day) the facts of ``tickets`` count on: the tickets, their escalations, clocks, surveys and
    compensation requests (one query per source)."""
    days: set[tuple[str, dt.date]] = set()
    for source in SOURCES:
        qs = _source_facts(source)
        qs = (
            qs.filter(pk__in=tickets.values("pk"))
            if source == "tickets"
            else qs.filter(ticket__in=tickets.values("pk"))
        )
        qs = qs.annotate(day=TruncDate(SOURCE_TIME[source], tzinfo=UTC))
        days |= {(source, day) for day in qs.values_list("day", flat=True).distinct()}
    return days


def rollups_mark_tickets(*, ticket_ids: Iterable[int]) -> None:
    """Mark every day the tickets' facts count on (called after commit of any change to them)."""
    rollups_mark_days(days=ticket_rollup_days(Ticket.objects.filter(ids_in("pk", ticket_ids))))


def rollups_mark_escalations(escalations: QuerySet[Escalation]) -> None:
    """Mark the days of these escalations (an article's publication changes whether they were avoidable)."""
    days = escalations.order_by().annotate(day=TruncDate("created_at", tzinfo=UTC))
    rollups_mark_days(days=[("escalations", day) for day in days.values_list("day", flat=True).distinct()])


def rollups_refresh_dirty(*, limit: int = 500) -> int:
    """Refresh the marked days (oldest mark first, at most ``limit``), then clear each mark unless it was marked
    again meanwhile. Idempotent; returns the days refreshed."""
    marks = list(MetricRollupDirty.objects.order_by("marked_at", "pk")[:limit])
    if not marks:
        return 0
    rollups_refresh_days(days=[(mark.source, mark.day) for mark in marks])  # type: ignore[misc]
    for mark in marks:
        MetricRollupDirty.objects.filter(pk=mark.pk, marked_at__lte=mark.marked_at).delete()
    return len(marks)


def _source_facts(source: str) -> QuerySet[Any]:
    """Every row of ``source`` that has its moment (a survey counts once answered)."""
    models: dict[str, Any] = {
        "tickets": Ticket,
        "escalations": Escalation,
        "sla_clocks": SLAClock,
        "surveys": Survey,
        "compensations": CompensationRequest,
    }
    return models[source].objects.filter(**{f"{SOURCE_TIME[source]}__isnull": False}).order_by()


def _fact_days(source: str) -> set[dt.date]:
    days = _source_facts(source).annotate(day=TruncDate(SOURCE_TIME[source], tzinfo=UTC))
    return set(days.values_list("day", flat=True).distinct())


REBUILD_WINDOW_DAYS = 31


def metrics_rebuild(*, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """Recompute the rollups of every day in ``[start, end]`` (inclusive; from the first fact to the last when
    omitted) from the facts, dropping rows of days left without facts; a complete rebuild records
    ``MetricRollupBuild`` and clears the marks made before it. One grouped query and one transaction per source and
    window of ``REBUILD_WINDOW_DAYS`` days, so a long rebuild neither loads everything at once nor holds one long lock."""
    started = timezone.now()
    written = 0
    known: list[dt.date] = []
    for source in SOURCES:
        days = _fact_days(source) | set(MetricRollup.objects.filter(source=source).values_list("day", flat=True))
        days = {day for day in days if (start is None or day >= start) and (end is None or day <= end)}
        if not days:
            continue
        known.extend((min(days), max(days)))
        window = min(days)
        while window <= max(days):
            window_end = min(window + dt.timedelta(days=REBUILD_WINDOW_DAYS), max(days) + dt.timedelta(days=1))
            written += _rollups_replace(source, window, window_end)
            window = window_end
    if start is None and end is None:
        MetricRollupDirty.objects.filter(marked_at__lte=started).delete()
        MetricRollupBuild.objects.create(
            built_at=timezone.now(), first_day=min(known, default=None), last_day=max(known, default=None)
        )
    return written
