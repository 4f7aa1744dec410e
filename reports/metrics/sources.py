"""The tables a metric is computed over (``SOURCES``), the moment that puts a row in a period (``SOURCE_TIME``), the
dimensions each can be filtered and grouped by, and ``source_rows``: a source's rows for a period, visible to a
viewer, with the filters applied."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from django.db.models import BigIntegerField, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext

from escalations.models import (
    ClockTarget,
    CompensationRequest,
    Escalation,
    EscalationPath,
    EscalationType,
    RequestedBy,
    SLAClock,
)
from feedback.models import Survey
from helpdesk.models import Category, Channel, EventKind, Plan, Team, Ticket, TicketEvent, Tier, User
from helpdesk.selectors import ticket_visibility_q_for, tickets_visible_to
from reports.metrics.filters import MetricFilters

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


def _escalations_of_ticket() -> QuerySet[Escalation]:
    return Escalation.objects.filter(ticket=OuterRef("pk"))


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

# The filters that narrow a metric to one dimension's value, and that dimension (the rollups read the same map).
FILTER_DIMENSION = {
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
    dimensions = dimensions_of(source)
    for attribute, dimension in FILTER_DIMENSION.items():
        value = getattr(filters, attribute)
        if value is None:
            continue
        qs = qs.alias(**{f"dim_{dimension}": dimensions[dimension]()}).filter(**{f"dim_{dimension}": value})
    return qs.order_by()


def dimension_labels(by: str, keys: list[Any]) -> dict[Any, str]:
    """Display names for the groups of a breakdown (one query for model-backed dimensions)."""
    keys = [k for k in keys if k is not None]
    if by == "team":
        return {t.pk: t.name for t in Team.objects.filter(pk__in=keys)}
    if by in ("agent", "approver"):
        return {u.pk: u.display_name for u in User.objects.filter(pk__in=keys)}
    if by == "target":
        return {value: str(label) for value, label in ClockTarget.choices}
    if by == "path":
        return dict(EscalationPath.objects.filter(pk__in=keys).values_list("pk", "name"))
    if by == "escalated":
        return {True: gettext("Escalated"), False: gettext("Not escalated")}
    if by == "category":
        return dict(Category.objects.filter(pk__in=keys).values_list("pk", "name"))
    if by == "plan":
        return dict(Plan.objects.filter(pk__in=keys).values_list("pk", "name"))
    if by == "tier":
        return {value: str(label) for value, label in Tier.choices}
    if by == "channel":
        return {value: str(label) for value, label in Channel.choices}
    if by == "type":
        return {value: str(label) for value, label in EscalationType.choices}
    raise ValueError(f"Unknown dimension {by!r}.")
