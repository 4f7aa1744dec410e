"""Manager analytics, computed in the database: aggregates, ``Exists``/``Subquery`` and window functions.

Nothing here loops over tickets in Python; Python only touches already-aggregated rows (a few per week, team or
agent).

Populations (documented once, used everywhere):
- **Ticket metrics** (escalation rate, first-contact resolution, bounce rate, ticket count) look at the *cohort* of
  tickets created in the period, and follow each ticket to today (a ticket created on the last day of the period and
  escalated a day later counts as escalated).
- **Escalation metrics** (escalations, avoidable rate, time to escalate, time in tier) look at the escalations
  created in the period.

Filters (``MetricFilters``): category, plan and channel are the ticket's. Team, tier and agent name the *origin*, the
first line that handled the ticket, because a ticket's current team and assignee move when it is escalated:
- for tickets: the team and tier the first escalation came from (or the current ones when never escalated), and the
  agent who requested the first agent escalation, else the first staff member who replied, else the assignee;
- for escalations: the team, tier and person that raised the escalation.

Visibility: pass ``viewer`` and every number is computed over ``tickets_visible_to(viewer)`` only, so an export or a
count never includes a ticket its viewer could not open. Managers and admins see every ticket, restricted ones
included; detail lists (references, subjects) always go through the same selector.

- **SLA metrics** look at the clocks *started* in the period, **survey metrics** at the surveys *answered* in it,
  **compensation** at the requests raised in it (``SOURCE_TIME``). Their team, tier and agent are the ticket's current
  ones (see ``sources._ticket_linked_dimensions``).

Adding a metric is one more ``Metric`` in ``METRICS`` (or, for a different table, one more source in ``SOURCES``,
``SOURCE_TIME``, ``_SOURCE_DIMENSIONS`` and ``source_rows``, all in ``sources``).

The modules: ``filters`` (``MetricFilters``), ``conditions`` (what a row counts as), ``sources`` (the tables, their
dimensions and ``source_rows``), ``definitions`` (``Metric``, ``METRICS``), ``values`` (tiles, single values, time in
tier) and ``series`` (breakdowns and weekly series). This package re-exports their public names; callers import from
``reports.metrics``.
"""

from reports.metrics.conditions import (
    GRANTED,
    HANDOFF_STATUSES,
    LOW_CSAT,
    SATISFIED_CSAT,
    escalation_avoidable,
    escalation_is_first,
    kb_article_existed_and_not_opened_q,
    sla_clock_decided,
    sla_clock_met,
    ticket_bounced,
    ticket_escalated,
    ticket_first_contact_resolved,
    ticket_resolved,
)
from reports.metrics.definitions import DASHBOARD_TILES, METRICS, SLA_COMPLIANCE_HELP, Metric
from reports.metrics.filters import MetricFilters
from reports.metrics.series import (
    BreakdownRow,
    Series,
    escalation_rate_by_type,
    metric_breakdown,
    metric_series,
    metric_series_many,
    week_start,
    weeks_between,
)
from reports.metrics.sources import (
    COMPENSATION_DIMENSIONS,
    DIMENSIONS,
    ESCALATION_DIMENSIONS,
    SLA_DIMENSIONS,
    SOURCE_TIME,
    SOURCES,
    SURVEY_DIMENSIONS,
    TICKET_DIMENSIONS,
    Source,
    dimension_labels,
    dimensions_of,
    source_rows,
    ticket_origin_agent,
    ticket_origin_team,
    ticket_origin_tier,
)
from reports.metrics.values import (
    Tile,
    avoidable_rate,
    bounce_rate,
    escalation_rate,
    first_contact_resolution,
    metric_tiles,
    metric_value,
    metric_value_and_sample,
    time_in_tier_hours,
)

__all__ = [
    "COMPENSATION_DIMENSIONS",
    "DASHBOARD_TILES",
    "DIMENSIONS",
    "ESCALATION_DIMENSIONS",
    "GRANTED",
    "HANDOFF_STATUSES",
    "LOW_CSAT",
    "METRICS",
    "SATISFIED_CSAT",
    "SLA_COMPLIANCE_HELP",
    "SLA_DIMENSIONS",
    "SOURCES",
    "SOURCE_TIME",
    "SURVEY_DIMENSIONS",
    "TICKET_DIMENSIONS",
    "BreakdownRow",
    "Metric",
    "MetricFilters",
    "Series",
    "Source",
    "Tile",
    "avoidable_rate",
    "bounce_rate",
    "dimension_labels",
    "dimensions_of",
    "escalation_avoidable",
    "escalation_is_first",
    "escalation_rate",
    "escalation_rate_by_type",
    "first_contact_resolution",
    "kb_article_existed_and_not_opened_q",
    "metric_breakdown",
    "metric_series",
    "metric_series_many",
    "metric_tiles",
    "metric_value",
    "metric_value_and_sample",
    "sla_clock_decided",
    "sla_clock_met",
    "source_rows",
    "ticket_bounced",
    "ticket_escalated",
    "ticket_first_contact_resolved",
    "ticket_origin_agent",
    "ticket_origin_team",
    "ticket_origin_tier",
    "ticket_resolved",
    "time_in_tier_hours",
    "week_start",
    "weeks_between",
]
