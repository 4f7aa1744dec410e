"""The escalation-risk column of the agent queue (registered with ``helpdesk.filters.queue_column_register``): the
ticket's risk score, sortable highest first, and a filter by level. The queue lists ``tickets_visible_to(user)``
only, so a restricted ticket's risk never shows, nor counts, for someone who cannot see the ticket.

The sort and the filter read the ticket's stored key ``Ticket.risk_order`` (the score negated, 1 without an
assessment; ``escalations.services.risk.risk_orders_store`` keeps it with every score written), so the sort is a
range of the partial index ``ticket_open_risk`` like every core sort, not a join and sort of every open ticket's
assessment."""

from __future__ import annotations

from django.db.models import QuerySet

from escalations.models import RiskAssessment
from helpdesk.filters import QueueColumn

LEVELS = {"high": RiskAssessment.HIGH, "medium": RiskAssessment.MEDIUM, "any": 1}


def filter_by_risk(queryset: QuerySet, value: str) -> QuerySet:
    at_least = LEVELS.get(value)
    return queryset if at_least is None else queryset.filter(risk_order__lte=-at_least)


RISK_COLUMN = QueueColumn(
    name="risk",
    label="Risk",
    cell_template="escalations/_queue_risk_cell.html",
    sort=(
        "Risk (highest first)",
        ("risk_order", "sla_order_at", "pk"),
    ),
    filter_label="Risk",
    filter_choices=(("high", "High"), ("medium", "Medium or high"), ("any", "Any signal")),
    filter_method=filter_by_risk,
    related=("risk_assessment",),
    order=10,
)
