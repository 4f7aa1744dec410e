"""One number per period: the dashboard tiles (a period against the one before), single metric values and the time
spent in each tier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Q, Value, When

from helpdesk.models import Tier, User
from reports.metrics import rollups
from reports.metrics.conditions import microseconds
from reports.metrics.definitions import METRICS, Metric
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
    """Average hours a ticket spends in each tier (two queries, from the daily rollups when they serve).

    Tier 1: for the tickets created in the period whose origin tier is 1, from creation to the first escalation or,
    when never escalated, to resolution (``ticket_tier_one_q``; filtered like every ticket metric, by origin).
    Tiers 2 and 3: from accepting an escalation to resolving it or handing it off (escalated further or returned),
    for escalations raised in the period, by the receiving tier. Sums of whole microseconds over counts, so the
    rollups' answer is the facts' to the last digit."""
    if rollups.rollups_serve(filters=filters, viewer=viewer):
        start, end = rollups.utc_day(filters.start), rollups.utc_day(filters.end)
        tickets = rollups.rollup_column_sums("tickets", TIER_ONE_MEASURES, filters=filters, start=start, end=end)
        escalations = rollups.rollup_column_sums(
            "escalations", TIER_ESCALATION_MEASURES, filters=filters, start=start, end=end
        )
    else:
        tickets_qs = source_rows("tickets", filters=filters, viewer=viewer, start=filters.start, end=filters.end)
        tickets = tickets_qs.aggregate(**rollups.measure_aggregates("tickets", TIER_ONE_MEASURES, filters.start))
        escalations_qs = source_rows(
            "escalations", filters=filters, viewer=viewer, start=filters.start, end=filters.end
        )
        escalations = escalations_qs.aggregate(
            **rollups.measure_aggregates("escalations", TIER_ESCALATION_MEASURES, filters.start)
        )
    result: dict[int, float | None] = {Tier.AGENT: _average_hours(tickets["duration_us"], tickets["m5"])}
    for tier, (n, total) in rollups.TIME_IN_TIER_MEASURES.items():
        result[tier] = _average_hours(escalations[total], escalations[n])
    return result


TIER_ONE_MEASURES = ["m5", "duration_us"]
TIER_ESCALATION_MEASURES = [name for pair in rollups.TIME_IN_TIER_MEASURES.values() for name in pair]


def _average_hours(total: Any, n: Any) -> float | None:
    n = int(n or 0)
    return round(microseconds(total) / 3_600_000_000 / n, 2) if n else None
