"""One number per period: the dashboard tiles (a period against the one before), single metric values and the time
spent in each tier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Case, Count, Q, Sum, Value, When

from helpdesk.models import Tier, User
from reports.metrics import rollups
from reports.metrics.conditions import HANDOFF_STATUSES, duration_between, escalation_is_first, ticket_escalated
from reports.metrics.definitions import METRICS, Metric, to_hours
from reports.metrics.filters import MetricFilters
from reports.metrics.sources import SOURCE_TIME, SOURCES, Source, source_rows


@dataclass(frozen=True)
class Tile:
    """A metric for a period and the period before it, each with the sample it stands on (``None`` for counts)."""

    metric: Metric
    value: float | None
    previous: float | None
    sample: int | None = None
    previous_sample: int | None = None

    @property
    def change(self) -> float | None:
        """Percentage points for rates, a relative % for counts and durations; ``None`` when not comparable."""
        if self.value is None or self.previous is None:
            return None
        if self.metric.unit == "%":
            return round(self.value - self.previous, 1)
        if self.previous == 0:
            return None
        return round(100.0 * (self.value - self.previous) / self.previous, 1)

    @property
    def is_better(self) -> bool | None:
        if not self.change or self.metric.higher_is_better is None:
            return None
        return (self.change > 0) == self.metric.higher_is_better


def metric_tiles(
    keys: tuple[str, ...] | list[str], *, filters: MetricFilters, viewer: User | None = None
) -> list[Tile]:
    """Each metric for the period and the previous one: one query per source involved, grouped by period so that
    every subquery is built once for both."""
    previous = filters.previous()
    rows: dict[Source, dict[int, dict[str, Any]]] = {}
    metrics = [METRICS[key] for key in keys]
    if rollups.rollups_serve(filters=previous, viewer=viewer):
        return _tiles_from_rollups(metrics, filters=filters)
    for source in SOURCES:
        mine = [m for m in metrics if m.source == source]
        if not mine:
            continue
        aggregates = {
            f"{metric.key}__{name}": aggregate
            for metric in mine
            for name, aggregate in metric.aggregates(Q(), previous.start).items()
        }
        qs = source_rows(source, filters=filters, viewer=viewer, start=previous.start, end=filters.end)
        period = Case(When(**{f"{SOURCE_TIME[source]}__gte": filters.start}, then=Value(0)), default=Value(1))
        grouped = qs.annotate(period=period).values("period").annotate(**aggregates).order_by()
        rows[source] = {row["period"]: row for row in grouped}
    return [
        Tile(
            metric=m,
            value=m.value(rows[m.source].get(0, {}), prefix=f"{m.key}__"),
            previous=m.value(rows[m.source].get(1, {}), prefix=f"{m.key}__"),
            sample=m.sample(rows[m.source].get(0, {}), prefix=f"{m.key}__"),
            previous_sample=m.sample(rows[m.source].get(1, {}), prefix=f"{m.key}__"),
        )
        for m in metrics
    ]


def _tiles_from_rollups(metrics: list[Metric], *, filters: MetricFilters) -> list[Tile]:
    """``metric_tiles`` from the daily rollups: one query per source, grouped by period."""
    previous = filters.previous()
    rows: dict[Source, dict[int, dict[str, Any]]] = {}
    for source in SOURCES:
        mine = [m for m in metrics if m.source == source]
        if mine:
            grouped = rollups.rollup_sums(
                mine,
                filters=filters,
                start=rollups.utc_day(previous.start),
                end=rollups.utc_day(filters.end),
                period_split=rollups.utc_day(filters.start),
            )
            rows[source] = {row["period"]: row for row in grouped}
    tiles = []
    for m in metrics:
        value, sample = rollups.metric_from_sums(m, rows[m.source].get(0))
        before, before_sample = rollups.metric_from_sums(m, rows[m.source].get(1))
        tiles.append(Tile(metric=m, value=value, previous=before, sample=sample, previous_sample=before_sample))
    return tiles


def metric_value(key: str, *, filters: MetricFilters, viewer: User | None = None) -> float | None:
    return metric_value_and_sample(key, filters=filters, viewer=viewer)[0]


def metric_value_and_sample(
    key: str, *, filters: MetricFilters, viewer: User | None = None
) -> tuple[float | None, int | None]:
    """One metric for one period, with the sample it stands on (see ``Metric.sample``)."""
    metric = METRICS[key]
    if rollups.rollups_serve(filters=filters, viewer=viewer):
        sums = rollups.rollup_sums(
            [metric], filters=filters, start=rollups.utc_day(filters.start), end=rollups.utc_day(filters.end)
        )
        return rollups.metric_from_sums(metric, sums[0])
    qs = source_rows(metric.source, filters=filters, viewer=viewer, start=filters.start, end=filters.end)
    row = qs.aggregate(**metric.aggregates(Q(), filters.start))
    return metric.value(row), metric.sample(row)


def escalation_rate(*, filters: MetricFilters, viewer: User | None = None) -> float | None:
    return metric_value("escalation_rate", filters=filters, viewer=viewer)


def avoidable_rate(*, filters: MetricFilters, viewer: User | None = None) -> float | None:
    return metric_value("avoidable_rate", filters=filters, viewer=viewer)


def first_contact_resolution(*, filters: MetricFilters, viewer: User | None = None) -> float | None:
    return metric_value("first_contact_resolution", filters=filters, viewer=viewer)


def bounce_rate(*, filters: MetricFilters, viewer: User | None = None) -> float | None:
    return metric_value("bounce_rate", filters=filters, viewer=viewer)


def time_in_tier_hours(*, filters: MetricFilters, viewer: User | None = None) -> dict[int, float | None]:
    """Average hours a ticket spends in each tier (three queries).

    Tier 1: from the ticket's creation to its first escalation or, when never escalated, to its resolution
    (tickets of the cohort whose origin tier is 1). Tiers 2 and 3: from accepting an escalation to resolving it or
    handing it off (escalated further or returned), for escalations raised in the period, by the receiving tier."""
    # Tier 1 in two cheap parts: escalated tickets until their first escalation from tier 1, and never-escalated
    # tier-1 tickets until their resolution; the average is the pooled sum over the pooled count.
    escalated = source_rows(
        "escalations", filters=filters, viewer=viewer, start=filters.start, end=filters.end, by="ticket__created_at"
    ).filter(escalation_is_first(), from_tier=Tier.AGENT)
    part_escalated = escalated.aggregate(total=Sum(duration_between("created_at", "ticket__created_at")), n=Count("pk"))
    tickets = source_rows("tickets", filters=filters, viewer=viewer, start=filters.start, end=filters.end)
    part_resolved = tickets.filter(
        ~ticket_escalated(filters.start), tier=Tier.AGENT, resolved_at__isnull=False
    ).aggregate(total=Sum(duration_between("resolved_at", "created_at")), n=Count("pk"))
    count = part_escalated["n"] + part_resolved["n"]
    total = sum(to_hours(part["total"], None) or 0.0 for part in (part_escalated, part_resolved))
    result: dict[int, float | None] = {
        Tier.AGENT: round(total / count, 2) if count else None,
        Tier.SPECIALIST: None,
        Tier.EXECUTIVE: None,
    }
    escalations = source_rows("escalations", filters=filters, viewer=viewer, start=filters.start, end=filters.end)
    rows = (
        escalations.filter(accepted_at__isnull=False, closed_at__isnull=False, status__in=HANDOFF_STATUSES)
        .values("to_tier")
        .annotate(avg=Avg(duration_between("closed_at", "accepted_at")))
        .order_by()
    )
    for row in rows:
        result[row["to_tier"]] = to_hours(row["avg"])
    return result
