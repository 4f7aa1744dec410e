"""The escalation-risk column of the agent queue (registered with ``helpdesk.filters.queue_column_register``): the
ticket's risk score, sortable highest first, and a filter by level. The queue lists ``tickets_visible_to(user)``
only, so a restricted ticket's risk never shows, nor counts, for someone who cannot see the ticket."""

from __future__ import annotations

from django.db.models import F, QuerySet

from escalations.models import RiskAssessment
from helpdesk.filters import QueueColumn

LEVELS = {"high": RiskAssessment.HIGH, "medium": RiskAssessment.MEDIUM, "any": 1}


def filter_by_risk(queryset: QuerySet, value: str) -> QuerySet:
    at_least = LEVELS.get(value)
    return queryset if at_least is None else queryset.filter(risk_assessment__score__gte=at_least)


RISK_COLUMN = QueueColumn(
    name="risk",
    label="Risk",
    cell_template="escalations/_queue_risk_cell.html",
    sort=(
        "Risk (highest first)",
        (F("risk_assessment__score").desc(nulls_last=True), F("sla_due_at").asc(nulls_last=True)),
    ),
    filter_label="Risk",
    filter_choices=(("high", "High"), ("medium", "Medium or high"), ("any", "Any signal")),
    filter_method=filter_by_risk,
    related=("risk_assessment",),
    order=10,
)
