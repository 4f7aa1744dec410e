"""The metrics themselves: ``Metric`` (one number, its unit, source and aggregates) and the ``METRICS`` catalogue the
dashboard, the trend explorer and the API read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from django.db.models import Avg, Count, Q
from django.utils.translation import gettext_noop

from escalations.models import ClockTarget
from reports.metrics.conditions import (
    GRANTED,
    SATISFIED_CSAT,
    duration_between,
    escalation_avoidable,
    escalation_is_first,
    sla_clock_decided,
    sla_clock_met,
    ticket_bounced,
    ticket_escalated,
    ticket_first_contact_resolved,
    ticket_resolved,
)
from reports.metrics.sources import Source

# The long descriptions of the SLA compliance metrics: whole sentences (one per target), so each translates whole.
SLA_COMPLIANCE_HELP: dict[str, str] = {
    "": gettext_noop(
        "Clocks of every target started in the period that met their target in time, out of those with an outcome (met, or "
        "breached). A clock met late counts as breached; clocks still running, stopped (resolved or closed before a "
        "response was due) or cleared without a breach have no outcome yet and are left out."
    ),
    ClockTarget.FIRST_RESPONSE: gettext_noop(
        "Clocks of the first response target started in the period that met their target in time, out of those with an outcome (met, or "
        "breached). A clock met late counts as breached; clocks still running, stopped (resolved or closed before a "
        "response was due) or cleared without a breach have no outcome yet and are left out."
    ),
    ClockTarget.NEXT_RESPONSE: gettext_noop(
        "Clocks of the next response target started in the period that met their target in time, out of those with an outcome (met, or "
        "breached). A clock met late counts as breached; clocks still running, stopped (resolved or closed before a "
        "response was due) or cleared without a breach have no outcome yet and are left out."
    ),
    ClockTarget.RESOLUTION: gettext_noop(
        "Clocks of the resolution target started in the period that met their target in time, out of those with an outcome (met, or "
        "breached). A clock met late counts as breached; clocks still running, stopped (resolved or closed before a "
        "response was due) or cleared without a breach have no outcome yet and are left out."
    ),
}


@dataclass(frozen=True)
class Metric:
    """One number: ``aggregates(where, since)`` returns a ``num`` (and, for a rate, a ``den``) aggregate restricted
    to ``where`` (``since`` is the earliest creation time in the rows, to bound subqueries). Units: ``%`` (num/den), ``count`` (num) or ``hours`` (num is an average duration)."""

    key: str
    label: str
    unit: Literal["%", "count", "hours"]
    source: Source
    higher_is_better: bool | None  # None: neither direction is good news (volume)
    description: str
    aggregates: Callable[[Q, dt.datetime | None], dict[str, Any]]

    def sample(self, row: Mapping[str, Any], prefix: str = "") -> int | None:
        """How many rows the value stands on: a rate's denominator, an average's rows; ``None`` for counts."""
        if self.unit == "%":
            return int(row.get(f"{prefix}den") or 0)
        if self.unit == "hours":
            return int(row.get(f"{prefix}n") or 0)
        return None

    def value(self, row: Mapping[str, Any], prefix: str = "") -> float | None:
        num = row.get(f"{prefix}num")
        if self.unit == "%":
            den = row.get(f"{prefix}den") or 0
            return round(100.0 * (num or 0) / den, 1) if den else None
        if self.unit == "hours":
            return to_hours(num)
        return float(num or 0)


def to_hours(value: Any, ndigits: int | None = 2) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        hours = value.total_seconds() / 3600
    else:
        hours = float(value) / 3_600_000_000  # a backend that averages durations as microseconds
    return round(hours, ndigits) if ndigits is not None else hours


def _rate(condition: Callable[..., Q], denominator: Callable[..., Q] | None = None) -> Callable[..., dict[str, Any]]:
    def aggregates(where: Q, since: dt.datetime | None = None) -> dict[str, Any]:
        den_where = where & denominator(since) if denominator else where
        return {"num": Count("pk", filter=den_where & condition(since)), "den": Count("pk", filter=den_where)}

    return aggregates


METRICS: dict[str, Metric] = {
    metric.key: metric
    for metric in [
        Metric(
            key="tickets",
            label=gettext_noop("Tickets created"),
            unit="count",
            source="tickets",
            higher_is_better=None,
            description=gettext_noop("Tickets created in the period."),
            aggregates=lambda where, since: {"num": Count("pk", filter=where)},
        ),
        Metric(
            key="escalation_rate",
            label=gettext_noop("Escalation rate"),
            unit="%",
            source="tickets",
            higher_is_better=False,
            description=gettext_noop(
                "Tickets created in the period that were escalated at least once, out of all of them."
            ),
            aggregates=_rate(ticket_escalated),
        ),
        Metric(
            key="first_contact_resolution",
            label=gettext_noop("First-contact resolution"),
            unit="%",
            source="tickets",
            higher_is_better=True,
            description=gettext_noop(
                "Resolved tickets resolved by tier 1 with exactly one agent reply, no escalation and no reopen, "
                "out of the resolved tickets created in the period."
            ),
            aggregates=_rate(ticket_first_contact_resolved, ticket_resolved),
        ),
        Metric(
            key="bounce_rate",
            label=gettext_noop("Bounce rate"),
            unit="%",
            source="tickets",
            higher_is_better=False,
            description=gettext_noop(
                "Escalated tickets that were returned or escalated again, out of the escalated tickets."
            ),
            aggregates=_rate(ticket_bounced, ticket_escalated),
        ),
        Metric(
            key="escalations",
            label=gettext_noop("Escalations"),
            unit="count",
            source="escalations",
            higher_is_better=False,
            description=gettext_noop("Escalations raised in the period (every hop counts)."),
            aggregates=lambda where, since: {"num": Count("pk", filter=where)},
        ),
        Metric(
            key="avoidable_rate",
            label=gettext_noop("Avoidable escalations"),
            unit="%",
            source="escalations",
            higher_is_better=False,
            description=gettext_noop(
                "Escalations returned by the receiver (or, with the knowledge base, raised although a published "
                "article for the category existed and was not opened), out of all escalations in the period."
            ),
            aggregates=_rate(lambda since: escalation_avoidable()),
        ),
        Metric(
            key="time_to_escalate",
            label=gettext_noop("Time to escalate"),
            unit="hours",
            source="escalations",
            higher_is_better=False,
            description=gettext_noop(
                "Average hours from a ticket's creation to its first escalation (first escalations only)."
            ),
            aggregates=lambda where, since: {
                "num": Avg(duration_between("created_at", "ticket__created_at"), filter=where & escalation_is_first()),
                "n": Count("pk", filter=where & escalation_is_first()),
            },
        ),
        Metric(
            key="sla_compliance",
            label=gettext_noop("SLA compliance"),
            unit="%",
            source="sla_clocks",
            higher_is_better=True,
            description=SLA_COMPLIANCE_HELP[""],
            aggregates=_rate(lambda since: sla_clock_met(), lambda since: sla_clock_decided()),
        ),
        *[
            Metric(
                key=f"sla_{target}",
                label=label,
                unit="%",
                source="sla_clocks",
                higher_is_better=True,
                description=SLA_COMPLIANCE_HELP[target],
                aggregates=_rate(lambda since: sla_clock_met(), lambda since, t=target: sla_clock_decided(t)),
            )
            for target, label in (
                (ClockTarget.FIRST_RESPONSE, gettext_noop("SLA compliance: first response")),
                (ClockTarget.NEXT_RESPONSE, gettext_noop("SLA compliance: next response")),
                (ClockTarget.RESOLUTION, gettext_noop("SLA compliance: resolution")),
            )
        ],
        Metric(
            key="sla_breaches",
            label=gettext_noop("SLA breaches"),
            unit="count",
            source="sla_clocks",
            higher_is_better=False,
            description=gettext_noop("Clocks started in the period whose deadline was missed (met late or never met)."),
            aggregates=lambda where, since: {"num": Count("pk", filter=where & Q(breached_at__isnull=False))},
        ),
        Metric(
            key="csat",
            label=gettext_noop("CSAT"),
            unit="%",
            source="surveys",
            higher_is_better=True,
            description=gettext_noop(
                "Surveys answered in the period with a score of 4 or 5 (satisfied), out of those with a score. Group "
                "by 'escalated' to compare escalated and non-escalated tickets."
            ),
            aggregates=_rate(lambda since: Q(csat__gte=SATISFIED_CSAT), lambda since: Q(csat__isnull=False)),
        ),
        Metric(
            key="repeat_yourself",
            label=gettext_noop("Had to repeat themselves"),
            unit="count",
            source="surveys",
            higher_is_better=False,
            description=gettext_noop(
                "Surveys answered in the period where the customer said they had to explain the problem more than "
                "once (the survey's explain count is 2 or more)."
            ),
            aggregates=lambda where, since: {"num": Count("pk", filter=where & Q(explain_count__gte=2))},
        ),
        Metric(
            key="compensations_granted",
            label=gettext_noop("Compensations granted"),
            unit="count",
            source="compensations",
            higher_is_better=None,
            description=gettext_noop(
                "Compensation requests raised in the period and granted (within the requester's limit or approved)."
            ),
            aggregates=lambda where, since: {"num": Count("pk", filter=where & Q(status__in=GRANTED))},
        ),
    ]
}
DASHBOARD_TILES = (
    "tickets",
    "escalation_rate",
    "avoidable_rate",
    "first_contact_resolution",
    "bounce_rate",
    "time_to_escalate",
    "sla_compliance",
    "csat",
)
