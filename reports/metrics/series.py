"""A metric broken down by a dimension, and per ISO week (UTC) as one series or one per group: the trend explorer's
and the dashboard's charts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncWeek

from escalations.models import Escalation, EscalationType
from helpdesk.models import User
from reports.metrics import rollups
from reports.metrics.conditions import created_since
from reports.metrics.definitions import METRICS, Metric
from reports.metrics.filters import UTC, MetricFilters
from reports.metrics.sources import SOURCE_TIME, dimension_labels, dimensions_of, source_rows


@dataclass(frozen=True)
class BreakdownRow:
    key: Any
    label: str
    value: float | None
    num: float | None
    den: int | None


def metric_breakdown(key: str, *, by: str, filters: MetricFilters, viewer: User | None = None) -> list[BreakdownRow]:
    """The metric per team, tier, agent, category, plan, channel (or, for escalation metrics, type); one query
    (plus one to name the groups). The escalation rate by type has its own function."""
    metric = METRICS[key]
    dimensions = dimensions_of(metric.source)
    if by not in dimensions:
        raise ValueError(f"{metric.label} cannot be broken down by {by}.")
    if rollups.rollups_serve(filters=filters, viewer=viewer):
        summed = rollups.rollup_sums(
            [metric], filters=filters, start=rollups.utc_day(filters.start), end=rollups.utc_day(filters.end), group=by
        )
        rows = [{"group": row["group"], **rollups.metric_sums(metric, row, prefix=f"{metric.key}__")} for row in summed]
    else:
        qs = source_rows(metric.source, filters=filters, viewer=viewer, start=filters.start, end=filters.end)
        rows = list(
            qs.annotate(group=dimensions[by]())
            .values("group")
            .annotate(**metric.aggregates(Q(), filters.start))
            .order_by()
        )
    labels = dimension_labels(by, [row["group"] for row in rows])
    result = [
        BreakdownRow(
            key=row["group"],
            label=labels.get(row["group"], "(none)"),
            value=metric.value(row),
            num=row.get("num") if metric.unit != "hours" else None,
            den=row.get("den"),
        )
        for row in rows
    ]
    return sorted(result, key=lambda r: (r.value is None, -(r.value or 0), r.label))


def escalation_rate_by_type(*, filters: MetricFilters, viewer: User | None = None) -> list[BreakdownRow]:
    """Per escalation type: tickets escalated with that type / all tickets of the cohort (one query). A ticket
    escalated with two types counts once in each."""
    qs = source_rows("tickets", filters=filters, viewer=viewer, start=filters.start, end=filters.end)
    aggregates: dict[str, Any] = {"den": Count("pk")}
    for value in EscalationType.values:
        of_type = created_since(Escalation.objects.filter(escalation_type=value), filters.start).values("ticket")
        aggregates[value] = Count("pk", filter=Q(pk__in=of_type))
    row = qs.aggregate(**aggregates)
    den = row["den"]
    return [
        BreakdownRow(
            key=value,
            label=str(label),
            value=round(100.0 * row[value] / den, 1) if den else None,
            num=row[value],
            den=den,
        )
        for value, label in EscalationType.choices
    ]


def week_start(moment: dt.datetime) -> dt.datetime:
    day = moment.astimezone(UTC).date()
    return dt.datetime.combine(day - dt.timedelta(days=day.weekday()), dt.time(), tzinfo=UTC)


def weeks_between(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Monday 00:00 UTC of every ISO week that overlaps ``[start, end)``."""
    weeks, week = [], week_start(start)
    while week < end:
        weeks.append(week)
        week += dt.timedelta(days=7)
    return weeks


@dataclass(frozen=True)
class Series:
    key: Any
    label: str
    points: list[tuple[dt.datetime, float | None]]


def metric_series(
    key: str, *, filters: MetricFilters, viewer: User | None = None, group: str | None = None
) -> list[Series]:
    """The metric per ISO week (UTC), optionally one series per group; empty weeks are 0 for counts and ``None``
    (no data) for rates and durations. One query (plus one to name the groups)."""
    metric = METRICS[key]
    dimensions = dimensions_of(metric.source)
    if group is not None and group not in dimensions:
        raise ValueError(f"{metric.label} cannot be grouped by {group}.")
    by_group: dict[Any, dict[dt.datetime, float | None]] = {}
    if rollups.rollups_serve(filters=filters, viewer=viewer):
        weekly = _weekly_rollup_sums([metric], filters=filters, group=group)
        for (group_key, week), row in weekly.items():
            by_group.setdefault(group_key, {})[week] = rollups.metric_from_sums(metric, row)[0]
    else:
        qs = source_rows(metric.source, filters=filters, viewer=viewer, start=filters.start, end=filters.end)
        qs = qs.annotate(week=TruncWeek(SOURCE_TIME[metric.source], tzinfo=UTC))
        values = ["week"]
        if group is not None:
            qs = qs.annotate(group=dimensions[group]())
            values.append("group")
        for row in qs.values(*values).annotate(**metric.aggregates(Q(), filters.start)).order_by():
            by_group.setdefault(row.get("group"), {})[week_start(row["week"])] = metric.value(row)
    weeks = weeks_between(filters.start, filters.end)
    empty = 0.0 if metric.unit == "count" else None
    if group is None:
        by_group.setdefault(None, {})
        return [Series(key=None, label=metric.label, points=[(w, by_group[None].get(w, empty)) for w in weeks])]
    labels = dimension_labels(group, list(by_group))
    if group == "type":
        # Every type, always in the same order, so a type keeps its colour and pattern from one chart to the next.
        order: list[Any] = list(EscalationType.values)
        for value in order:
            by_group.setdefault(value, {})
    elif group == "escalated":
        # Both lines always, escalated first, so the CSAT chart compares like with like even in a quiet week.
        order = [True, False]
        for value in order:
            by_group.setdefault(value, {})
    else:
        order = sorted(by_group, key=lambda k: labels.get(k, "(none)"))
    return [
        Series(key=k, label=labels.get(k, "(none)"), points=[(w, by_group[k].get(w, empty)) for w in weeks])
        for k in order
    ]


def metric_series_many(keys: list[str], *, filters: MetricFilters, viewer: User | None = None) -> list[Series]:
    """Several metrics of one source per ISO week, in one query (the dashboard's rate chart)."""
    chosen = [METRICS[key] for key in keys]
    sources = {metric.source for metric in chosen}
    if len(sources) != 1:
        raise ValueError("Metrics computed together must share a source.")
    source = sources.pop()
    weeks = weeks_between(filters.start, filters.end)
    series = []
    if rollups.rollups_serve(filters=filters, viewer=viewer):
        weekly = {week: row for (_, week), row in _weekly_rollup_sums(chosen, filters=filters).items()}
        for metric in chosen:
            empty = 0.0 if metric.unit == "count" else None
            points = [(w, rollups.metric_from_sums(metric, weekly[w])[0] if w in weekly else empty) for w in weeks]
            series.append(Series(key=metric.key, label=metric.label, points=points))
        return series
    qs = source_rows(source, filters=filters, viewer=viewer, start=filters.start, end=filters.end)
    aggregates = {
        f"{metric.key}__{name}": aggregate
        for metric in chosen
        for name, aggregate in metric.aggregates(Q(), filters.start).items()
    }
    rows = {
        week_start(row["week"]): row
        for row in qs.annotate(week=TruncWeek(SOURCE_TIME[source], tzinfo=UTC))
        .values("week")
        .annotate(**aggregates)
        .order_by()
    }
    for metric in chosen:
        empty = 0.0 if metric.unit == "count" else None
        points = [(w, metric.value(rows[w], prefix=f"{metric.key}__") if w in rows else empty) for w in weeks]
        series.append(Series(key=metric.key, label=metric.label, points=points))
    return series


def _weekly_rollup_sums(
    chosen: list[Metric], *, filters: MetricFilters, group: str | None = None
) -> dict[tuple[Any, dt.datetime], dict[str, Any]]:
    """Daily rollup sums added up per (group, ISO week): a week's rate is its summed numerator over its summed
    denominator, never an average of daily rates. One query."""
    rows = rollups.rollup_sums(
        chosen,
        filters=filters,
        start=rollups.utc_day(filters.start),
        end=rollups.utc_day(filters.end),
        group=group,
        by_day=True,
    )
    weekly: dict[tuple[Any, dt.datetime], dict[str, Any]] = {}
    for row in rows:
        bucket = weekly.setdefault((row.get("group"), week_start(rollups.day_start(row["day"]))), {})
        for name, value in row.items():
            if name not in ("group", "day"):
                bucket[name] = bucket.get(name, 0) + (value or 0)
    return weekly
