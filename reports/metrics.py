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
  ones (see ``_ticket_linked_dimensions``).

Adding a metric is one more ``Metric`` in ``METRICS`` (or, for a different table, one more source in ``SOURCES``,
``SOURCE_TIME``, ``_SOURCE_DIMENSIONS`` and ``source_rows``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from django.db.models import (
    Avg,
    BigIntegerField,
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncWeek

from escalations.models import (
    ClockState,
    ClockTarget,
    CompensationRequest,
    CompensationStatus,
    Escalation,
    EscalationPath,
    EscalationStatus,
    EscalationType,
    RequestedBy,
    SLAClock,
)
from feedback.models import Survey
from helpdesk.models import (
    Category,
    Channel,
    EventKind,
    Plan,
    Status,
    Team,
    Ticket,
    TicketEvent,
    Tier,
    User,
)
from helpdesk.selectors import ticket_visibility_q_for, tickets_visible_to
from knowledge_base.models import Article, ArticleStatus, ArticleUse

UTC = dt.UTC
Source = Literal["tickets", "escalations", "sla_clocks", "surveys", "compensations"]
SOURCES: tuple[Source, ...] = ("tickets", "escalations", "sla_clocks", "surveys", "compensations")
# The moment that puts a row of each source in a period.
SOURCE_TIME: dict[str, str] = {
    "tickets": "created_at",
    "escalations": "created_at",
    "sla_clocks": "started_at",
    "surveys": "answered_at",
    "compensations": "created_at",
}
DIMENSIONS = ("team", "tier", "agent", "category", "plan", "channel", "type", "target", "path", "escalated", "approver")

# --- filters ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricFilters:
    """A half-open period ``[start, end)`` (aware datetimes) and optional dimension filters."""

    start: dt.datetime
    end: dt.datetime
    team_id: int | None = None
    tier: int | None = None
    category_id: int | None = None
    plan_id: int | None = None
    channel: str | None = None
    agent_id: int | None = None

    @classmethod
    def last_days(cls, *, now: dt.datetime, days: int, **dimensions: Any) -> MetricFilters:
        """The ``days`` whole UTC days ending with today."""
        end = dt.datetime.combine(now.astimezone(UTC).date() + dt.timedelta(days=1), dt.time(), tzinfo=UTC)
        return cls(start=end - dt.timedelta(days=days), end=end, **dimensions)

    @classmethod
    def from_params(cls, params: Mapping[str, str], *, now: dt.datetime, default_days: int = 84) -> MetricFilters:
        """Read filters from a query string (``start``/``end`` as inclusive ISO dates); invalid values are ignored."""
        base = cls.last_days(now=now, days=default_days)
        start, end = base.start, base.end
        start_date, end_date = _parse_date(params.get("start")), _parse_date(params.get("end"))
        if end_date is not None:
            end = dt.datetime.combine(end_date + dt.timedelta(days=1), dt.time(), tzinfo=UTC)
        if start_date is not None:
            start = dt.datetime.combine(start_date, dt.time(), tzinfo=UTC)
        if start >= end:
            start = end - dt.timedelta(days=default_days)
        channel = params.get("channel") or None
        tier = _parse_int(params.get("tier"))
        return cls(
            start=start,
            end=end,
            team_id=_parse_int(params.get("team")),
            tier=tier if tier in Tier.values else None,
            category_id=_parse_int(params.get("category")),
            plan_id=_parse_int(params.get("plan")),
            channel=channel if channel in Channel.values else None,
            agent_id=_parse_int(params.get("agent")),
        )

    def to_params(self) -> dict[str, str]:
        params = {"start": self.start.date().isoformat(), "end": (self.end - dt.timedelta(days=1)).date().isoformat()}
        for name, key in (
            ("team_id", "team"),
            ("tier", "tier"),
            ("category_id", "category"),
            ("plan_id", "plan"),
            ("channel", "channel"),
            ("agent_id", "agent"),
        ):
            value = getattr(self, name)
            if value not in (None, ""):
                params[key] = str(value)
        return params

    def previous(self) -> MetricFilters:
        """The period of the same length just before this one, with the same dimension filters."""
        length = self.end - self.start
        return replace(self, start=self.start - length, end=self.start)

    @property
    def has_origin_filter(self) -> bool:
        return any(value is not None for value in (self.team_id, self.tier, self.agent_id))

    def dimensions(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("start", "end")}


def _parse_int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _parse_date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


# --- reusable conditions ---------------------------------------------------------------------------------------


def _escalations_of_ticket() -> QuerySet[Escalation]:
    return Escalation.objects.filter(ticket=OuterRef("pk"))


def _since(qs: QuerySet, since: dt.datetime | None) -> QuerySet:
    return qs.filter(created_at__gte=since) if since is not None else qs


# The ticket conditions are ``pk IN (uncorrelated subquery)``: PostgreSQL builds each set once per query (a hashed
# subplan) instead of probing an index for every ticket. ``since`` is the start of the cohort: nothing happens to a
# ticket before it exists, so it bounds every set without changing the answer.


def ticket_escalated(since: dt.datetime | None = None) -> Q:
    return Q(pk__in=_since(Escalation.objects.all(), since).values("ticket"))


def _reopen_q() -> Q:
    """Reopen = a status change from resolved back to open (the customer replied, or staff reopened it)."""
    return Q(kind=EventKind.STATUS_CHANGED, data__from=Status.RESOLVED, data__to=Status.OPEN)


def ticket_reopened(since: dt.datetime | None = None) -> Q:
    return Q(pk__in=_since(TicketEvent.objects.filter(_reopen_q()), since).values("ticket"))


def _one_reply_never_reopened(since: dt.datetime | None) -> QuerySet:
    """Tickets with exactly one agent reply and no reopen, from one pass over their events."""
    reply = Q(kind=EventKind.AGENT_REPLY)
    return (
        _since(TicketEvent.objects.filter(reply | _reopen_q()), since)
        .order_by()
        .values("ticket")
        .annotate(replies=Count("pk", filter=reply), reopens=Count("pk", filter=_reopen_q()))
        .filter(replies=1, reopens=0)
        .values("ticket")
    )


def ticket_first_contact_resolved(since: dt.datetime | None = None) -> Q:
    """Resolved (or closed) by tier 1, with exactly one agent reply, never escalated and never reopened."""
    return (
        Q(status__in=(Status.RESOLVED, Status.CLOSED), tier=Tier.AGENT)
        & Q(pk__in=_one_reply_never_reopened(since))
        & ~ticket_escalated(since)
    )


def ticket_resolved(since: dt.datetime | None = None) -> Q:
    return Q(status__in=(Status.RESOLVED, Status.CLOSED))


def ticket_bounced(since: dt.datetime | None = None) -> Q:
    """Escalated and then returned by a receiver, or escalated more than once (re-escalated or escalated further)."""
    escalations = _since(Escalation.objects.all(), since).order_by()
    returned = escalations.filter(status=EscalationStatus.RETURNED).values("ticket")
    repeated = escalations.values("ticket").annotate(hops=Count("pk")).filter(hops__gte=2).values("ticket")
    return Q(pk__in=returned) | Q(pk__in=repeated)


def escalation_is_first() -> Q:
    """The ticket's first escalation (no earlier one on the same ticket)."""
    earlier = Escalation.objects.filter(ticket=OuterRef("ticket")).filter(
        Q(created_at__lt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))
    )
    return ~Q(Exists(earlier))


def kb_article_existed_and_not_opened_q() -> Q:
    """The second "avoidable" clause, on an escalation: a *published* KB article for the ticket's category existed
    when the escalation was raised (``status == "published"`` now and ``published_at`` at or before the escalation),
    and nobody had used an article on the ticket before escalating.

    "Opened" is what the knowledge base records against a ticket: an ``ArticleUse`` row (an agent marked the ticket
    "resolved/answered with this article"; it also writes a ``kb`` TicketEvent with ``action = "resolved_with"``).
    Other ``kb`` TicketEvents are *not* openings: the knowledge base writes them when it drafts an article from the
    escalation or from its RCA, i.e. after the fact. An article archived since is not counted (the knowledge base
    keeps no archive date), and a ticket without a category never matches."""
    published = Article.objects.filter(category=OuterRef("ticket__category"), status=ArticleStatus.PUBLISHED).filter(
        Q(published_at__isnull=True) | Q(published_at__lte=OuterRef("created_at"))
    )
    used = ArticleUse.objects.filter(ticket=OuterRef("ticket"), created_at__lte=OuterRef("created_at"))
    return Q(Exists(published)) & ~Q(Exists(used))


def escalation_avoidable() -> Q:
    """Avoidable: returned by the receiver (it could have been handled below), or a published article for the
    category existed and was not opened."""
    return Q(status=EscalationStatus.RETURNED) | kb_article_existed_and_not_opened_q()


def _duration(later: str, earlier: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(later) - F(earlier), output_field=DurationField())


# --- SLA clocks, surveys, compensation ------------------------------------------------------------------------

SLA_COMPLIANCE_HELP = (
    "Clocks of {which} started in the period that met their target in time, out of those with an outcome (met, or "
    "breached). A clock met late counts as breached; clocks still running, stopped (resolved or closed before a "
    "response was due) or cleared without a breach have no outcome yet and are left out."
)
SATISFIED_CSAT = 4
GRANTED = (CompensationStatus.AUTO_APPROVED, CompensationStatus.APPROVED)


def sla_clock_decided(target: str | None = None) -> Q:
    """A clock with an outcome: breached (its deadline passed, whatever happened next) or met."""
    decided = Q(breached_at__isnull=False) | Q(state=ClockState.MET)
    return decided & Q(target=target) if target else decided


def sla_clock_met() -> Q:
    """Met in time: met and never breached (``breached_at`` stays set on a clock met late)."""
    return Q(state=ClockState.MET, breached_at__isnull=True)


HANDOFF_STATUSES = (EscalationStatus.RESOLVED, EscalationStatus.SUPERSEDED, EscalationStatus.RETURNED)

# --- base querysets and dimensions -----------------------------------------------------------------------------


def _first_escalation(field: str, **conditions: Any) -> Subquery:
    first = _escalations_of_ticket().filter(**conditions).order_by("created_at", "pk").values(field)[:1]
    return Subquery(first)


def ticket_origin_team() -> Coalesce:
    return Coalesce(_first_escalation("from_team"), F("team"), output_field=BigIntegerField())


def ticket_origin_tier() -> Coalesce:
    return Coalesce(_first_escalation("from_tier"), F("tier"), output_field=IntegerField())


def ticket_origin_agent() -> Coalesce:
    first_reply = (
        TicketEvent.objects.filter(ticket=OuterRef("pk"), kind=EventKind.AGENT_REPLY)
        .order_by("created_at", "pk")
        .values("actor")[:1]
    )
    return Coalesce(
        _first_escalation("requested_by", requested_by_kind=RequestedBy.AGENT),
        Subquery(first_reply),
        F("assignee"),
        output_field=BigIntegerField(),
    )


TICKET_DIMENSIONS: dict[str, Callable[[], Any]] = {
    "team": ticket_origin_team,
    "tier": ticket_origin_tier,
    "agent": ticket_origin_agent,
    "category": lambda: F("category"),
    "plan": lambda: F("organization__plan"),
    "channel": lambda: F("channel"),
}
ESCALATION_DIMENSIONS: dict[str, Callable[[], Any]] = {
    "team": lambda: F("from_team"),
    "tier": lambda: F("from_tier"),
    "agent": lambda: F("requested_by"),
    "category": lambda: F("ticket__category"),
    "plan": lambda: F("ticket__organization__plan"),
    "channel": lambda: F("ticket__channel"),
    "type": lambda: F("escalation_type"),
}


def _ticket_linked_dimensions() -> dict[str, Callable[[], Any]]:
    """Dimensions of a row that belongs to one ticket (clock, survey, compensation): the ticket's *current* team,
    tier and assignee (the line that owned it when the clock ran or the survey was answered)."""
    return {
        "team": lambda: F("ticket__team"),
        "tier": lambda: F("ticket__tier"),
        "agent": lambda: F("ticket__assignee"),
        "category": lambda: F("ticket__category"),
        "plan": lambda: F("ticket__organization__plan"),
        "channel": lambda: F("ticket__channel"),
    }


SLA_DIMENSIONS: dict[str, Callable[[], Any]] = {**_ticket_linked_dimensions(), "target": lambda: F("target")}
SURVEY_DIMENSIONS: dict[str, Callable[[], Any]] = {
    **_ticket_linked_dimensions(),
    "escalated": lambda: F("is_escalated"),
    "path": lambda: F("escalation__path"),
    "type": lambda: F("escalation__escalation_type"),
}
COMPENSATION_DIMENSIONS: dict[str, Callable[[], Any]] = {
    **_ticket_linked_dimensions(),
    "approver": lambda: F("decided_by"),
    "type": lambda: F("escalation__escalation_type"),
}
_SOURCE_DIMENSIONS: dict[str, dict[str, Callable[[], Any]]] = {
    "tickets": TICKET_DIMENSIONS,
    "escalations": ESCALATION_DIMENSIONS,
    "sla_clocks": SLA_DIMENSIONS,
    "surveys": SURVEY_DIMENSIONS,
    "compensations": COMPENSATION_DIMENSIONS,
}
_SOURCE_MODELS: dict[str, type[SLAClock] | type[Survey] | type[CompensationRequest]] = {
    "sla_clocks": SLAClock,
    "surveys": Survey,
    "compensations": CompensationRequest,
}

_FILTER_DIMENSION = {
    "team_id": "team",
    "tier": "tier",
    "agent_id": "agent",
    "category_id": "category",
    "plan_id": "plan",
    "channel": "channel",
}


def dimensions_of(source: Source) -> dict[str, Callable[[], Any]]:
    """The dimensions a metric of ``source`` can be filtered and grouped by."""
    return _SOURCE_DIMENSIONS[source]


_dimension_map = dimensions_of


def source_rows(
    source: Source,
    *,
    filters: MetricFilters,
    viewer: User | None,
    start: dt.datetime,
    end: dt.datetime,
    by: str | None = None,
):
    """Rows of ``source`` whose ``by`` time is in ``[start, end)`` (``SOURCE_TIME`` unless told otherwise), visible
    to ``viewer`` (through their ticket), with the dimension filters applied."""
    by = by or SOURCE_TIME[source]
    if source == "tickets":
        qs: QuerySet[Any] = tickets_visible_to(viewer) if viewer is not None else Ticket.objects.all()
    else:
        qs = (Escalation if source == "escalations" else _SOURCE_MODELS[source]).objects.all()
        if viewer is not None:
            qs = qs.filter(ticket_visibility_q_for(viewer, prefix="ticket__"))
    qs = qs.filter(**{f"{by}__gte": start, f"{by}__lt": end})
    dimensions = _dimension_map(source)
    for attribute, dimension in _FILTER_DIMENSION.items():
        value = getattr(filters, attribute)
        if value is None:
            continue
        qs = qs.alias(**{f"dim_{dimension}": dimensions[dimension]()}).filter(**{f"dim_{dimension}": value})
    return qs.order_by()


# --- metrics ---------------------------------------------------------------------------------------------------


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
            return _hours(num)
        return float(num or 0)


def _hours(value: Any, ndigits: int | None = 2) -> float | None:
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
            label="Tickets created",
            unit="count",
            source="tickets",
            higher_is_better=None,
            description="Tickets created in the period.",
            aggregates=lambda where, since: {"num": Count("pk", filter=where)},
        ),
        Metric(
            key="escalation_rate",
            label="Escalation rate",
            unit="%",
            source="tickets",
            higher_is_better=False,
            description="Tickets created in the period that were escalated at least once, out of all of them.",
            aggregates=_rate(ticket_escalated),
        ),
        Metric(
            key="first_contact_resolution",
            label="First-contact resolution",
            unit="%",
            source="tickets",
            higher_is_better=True,
            description=(
                "Resolved tickets resolved by tier 1 with exactly one agent reply, no escalation and no reopen, "
                "out of the resolved tickets created in the period."
            ),
            aggregates=_rate(ticket_first_contact_resolved, ticket_resolved),
        ),
        Metric(
            key="bounce_rate",
            label="Bounce rate",
            unit="%",
            source="tickets",
            higher_is_better=False,
            description="Escalated tickets that were returned or escalated again, out of the escalated tickets.",
            aggregates=_rate(ticket_bounced, ticket_escalated),
        ),
        Metric(
            key="escalations",
            label="Escalations",
            unit="count",
            source="escalations",
            higher_is_better=False,
            description="Escalations raised in the period (every hop counts).",
            aggregates=lambda where, since: {"num": Count("pk", filter=where)},
        ),
        Metric(
            key="avoidable_rate",
            label="Avoidable escalations",
            unit="%",
            source="escalations",
            higher_is_better=False,
            description=(
                "Escalations returned by the receiver (or, with the knowledge base, raised although a published "
                "article for the category existed and was not opened), out of all escalations in the period."
            ),
            aggregates=_rate(lambda since: escalation_avoidable()),
        ),
        Metric(
            key="time_to_escalate",
            label="Time to escalate",
            unit="hours",
            source="escalations",
            higher_is_better=False,
            description="Average hours from a ticket's creation to its first escalation (first escalations only).",
            aggregates=lambda where, since: {
                "num": Avg(_duration("created_at", "ticket__created_at"), filter=where & escalation_is_first()),
                "n": Count("pk", filter=where & escalation_is_first()),
            },
        ),
        Metric(
            key="sla_compliance",
            label="SLA compliance",
            unit="%",
            source="sla_clocks",
            higher_is_better=True,
            description=SLA_COMPLIANCE_HELP.format(which="every target"),
            aggregates=_rate(lambda since: sla_clock_met(), lambda since: sla_clock_decided()),
        ),
        *[
            Metric(
                key=f"sla_{target}",
                label=f"SLA compliance: {label.lower()}",
                unit="%",
                source="sla_clocks",
                higher_is_better=True,
                description=SLA_COMPLIANCE_HELP.format(which=f"the {label.lower()} target"),
                aggregates=_rate(lambda since: sla_clock_met(), lambda since, t=target: sla_clock_decided(t)),
            )
            for target, label in ClockTarget.choices
        ],
        Metric(
            key="sla_breaches",
            label="SLA breaches",
            unit="count",
            source="sla_clocks",
            higher_is_better=False,
            description="Clocks started in the period whose deadline was missed (met late or never met).",
            aggregates=lambda where, since: {"num": Count("pk", filter=where & Q(breached_at__isnull=False))},
        ),
        Metric(
            key="csat",
            label="CSAT",
            unit="%",
            source="surveys",
            higher_is_better=True,
            description=(
                "Surveys answered in the period with a score of 4 or 5 (satisfied), out of those with a score. Group "
                "by 'escalated' to compare escalated and non-escalated tickets."
            ),
            aggregates=_rate(lambda since: Q(csat__gte=SATISFIED_CSAT), lambda since: Q(csat__isnull=False)),
        ),
        Metric(
            key="repeat_yourself",
            label="Had to repeat themselves",
            unit="count",
            source="surveys",
            higher_is_better=False,
            description=(
                "Surveys answered in the period where the customer said they had to explain the problem more than "
                "once (the survey's explain count is 2 or more)."
            ),
            aggregates=lambda where, since: {"num": Count("pk", filter=where & Q(explain_count__gte=2))},
        ),
        Metric(
            key="compensations_granted",
            label="Compensations granted",
            unit="count",
            source="compensations",
            higher_is_better=None,
            description=(
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


def metric_value(key: str, *, filters: MetricFilters, viewer: User | None = None) -> float | None:
    return metric_value_and_sample(key, filters=filters, viewer=viewer)[0]


def metric_value_and_sample(
    key: str, *, filters: MetricFilters, viewer: User | None = None
) -> tuple[float | None, int | None]:
    """One metric for one period, with the sample it stands on (see ``Metric.sample``)."""
    metric = METRICS[key]
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


def time_to_escalate_hours(*, filters: MetricFilters, viewer: User | None = None) -> float | None:
    return metric_value("time_to_escalate", filters=filters, viewer=viewer)


# --- breakdowns and time series --------------------------------------------------------------------------------


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
    dimensions = _dimension_map(metric.source)
    if by not in dimensions:
        raise ValueError(f"{metric.label} cannot be broken down by {by}.")
    qs = source_rows(metric.source, filters=filters, viewer=viewer, start=filters.start, end=filters.end)
    rows = list(
        qs.annotate(group=dimensions[by]()).values("group").annotate(**metric.aggregates(Q(), filters.start)).order_by()
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
        of_type = _since(Escalation.objects.filter(escalation_type=value), filters.start).values("ticket")
        aggregates[value] = Count("pk", filter=Q(pk__in=of_type))
    row = qs.aggregate(**aggregates)
    den = row["den"]
    return [
        BreakdownRow(
            key=value,
            label=label,
            value=round(100.0 * row[value] / den, 1) if den else None,
            num=row[value],
            den=den,
        )
        for value, label in EscalationType.choices
    ]


def dimension_labels(by: str, keys: list[Any]) -> dict[Any, str]:
    """Display names for the groups of a breakdown (one query for model-backed dimensions)."""
    keys = [k for k in keys if k is not None]
    if by == "team":
        return {t.pk: t.name for t in Team.objects.filter(pk__in=keys)}
    if by in ("agent", "approver"):
        return {u.pk: u.display_name for u in User.objects.filter(pk__in=keys)}
    if by == "target":
        return dict(ClockTarget.choices)
    if by == "path":
        return dict(EscalationPath.objects.filter(pk__in=keys).values_list("pk", "name"))
    if by == "escalated":
        return {True: "Escalated", False: "Not escalated"}
    if by == "category":
        return dict(Category.objects.filter(pk__in=keys).values_list("pk", "name"))
    if by == "plan":
        return dict(Plan.objects.filter(pk__in=keys).values_list("pk", "name"))
    if by == "tier":
        return dict(Tier.choices)
    if by == "channel":
        return dict(Channel.choices)
    if by == "type":
        return dict(EscalationType.choices)
    raise ValueError(f"Unknown dimension {by!r}.")


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
    qs = source_rows(metric.source, filters=filters, viewer=viewer, start=filters.start, end=filters.end)
    qs = qs.annotate(week=TruncWeek(SOURCE_TIME[metric.source], tzinfo=UTC))
    values = ["week"]
    if group is not None:
        dimensions = _dimension_map(metric.source)
        if group not in dimensions:
            raise ValueError(f"{metric.label} cannot be grouped by {group}.")
        qs = qs.annotate(group=dimensions[group]())
        values.append("group")
    rows = list(qs.values(*values).annotate(**metric.aggregates(Q(), filters.start)).order_by())
    weeks = weeks_between(filters.start, filters.end)
    empty = 0.0 if metric.unit == "count" else None
    by_group: dict[Any, dict[dt.datetime, float | None]] = {}
    for row in rows:
        bucket = by_group.setdefault(row.get("group"), {})
        bucket[week_start(row["week"])] = metric.value(row)
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
    weeks = weeks_between(filters.start, filters.end)
    series = []
    for metric in chosen:
        empty = 0.0 if metric.unit == "count" else None
        points = [(w, metric.value(rows[w], prefix=f"{metric.key}__") if w in rows else empty) for w in weeks]
        series.append(Series(key=metric.key, label=metric.label, points=points))
    return series


# --- time in tier ----------------------------------------------------------------------------------------------


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
    part_escalated = escalated.aggregate(total=Sum(_duration("created_at", "ticket__created_at")), n=Count("pk"))
    tickets = source_rows("tickets", filters=filters, viewer=viewer, start=filters.start, end=filters.end)
    part_resolved = tickets.filter(
        ~ticket_escalated(filters.start), tier=Tier.AGENT, resolved_at__isnull=False
    ).aggregate(total=Sum(_duration("resolved_at", "created_at")), n=Count("pk"))
    count = part_escalated["n"] + part_resolved["n"]
    total = sum(_hours(part["total"], None) or 0.0 for part in (part_escalated, part_resolved))
    result: dict[int, float | None] = {
        Tier.AGENT: round(total / count, 2) if count else None,
        Tier.SPECIALIST: None,
        Tier.EXECUTIVE: None,
    }
    escalations = source_rows("escalations", filters=filters, viewer=viewer, start=filters.start, end=filters.end)
    rows = (
        escalations.filter(accepted_at__isnull=False, closed_at__isnull=False, status__in=HANDOFF_STATUSES)
        .values("to_tier")
        .annotate(avg=Avg(_duration("closed_at", "accepted_at")))
        .order_by()
    )
    for row in rows:
        result[row["to_tier"]] = _hours(row["avg"])
    return result


__all__ = [
    "DASHBOARD_TILES",
    "METRICS",
    "Metric",
    "MetricFilters",
    "Series",
    "Tile",
    "escalation_rate_by_type",
    "metric_breakdown",
    "metric_series",
    "metric_tiles",
    "time_in_tier_hours",
]
