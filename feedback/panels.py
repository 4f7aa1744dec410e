"""Workspace panels (staff): the resolution checklist, the root-cause analysis, and the customer's survey."""

from __future__ import annotations

from feedback.forms import ResolutionSummaryForm
from feedback.models import FollowUpTask, RootCauseAnalysis
from feedback.selectors import resolution_checklist, survey_for_ticket, ticket_is_escalated
from helpdesk.models import Status


def checklist_panel(*, request, ticket) -> dict | None:
    checklist = resolution_checklist(ticket=ticket)
    if not checklist.escalated:
        return None
    return {
        "ticket": ticket,
        "checklist": checklist,
        "editable": ticket.status not in (Status.RESOLVED, Status.CLOSED),
        "form": ResolutionSummaryForm(initial={"summary": checklist.summary}),
    }


def rca_panel(*, request, ticket) -> dict | None:
    rca = (
        RootCauseAnalysis.objects.filter(ticket=ticket)
        .select_related("created_by", "reviewed_by")
        .prefetch_related("actions__owner")
        .first()
    )
    escalated = ticket_is_escalated(ticket=ticket)
    if rca is None and not escalated:
        return None
    return {
        "ticket": ticket,
        "rca": rca,
        "required": escalated,
        "can_write": rca is None and ticket.status == Status.RESOLVED,
        "user_id": request.user.pk,
        "is_manager": request.user.is_manager,
    }


def survey_panel(*, request, ticket) -> dict | None:
    survey = survey_for_ticket(ticket=ticket)
    follow_ups = list(FollowUpTask.objects.filter(ticket=ticket).select_related("owner").order_by("-created_at"))
    if survey is None and not follow_ups:
        return None
    return {"ticket": ticket, "survey": survey, "follow_ups": follow_ups}
