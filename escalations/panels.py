"""Context functions for the ticket-page panels registered in ``EscalationsConfig.ready``: the escalation chain and
risk signals (staff), and "ask for a manager" (customer). Each returns None to hide its panel."""

from __future__ import annotations

from django.utils import timezone

from escalations import selectors, services
from escalations.forms import ManagerRequestForm
from escalations.models import EscalationMode, RiskAssessment


def chain_panel(*, request, ticket) -> dict | None:
    user = request.user
    if not user.is_staff_member:
        return None
    chain = selectors.escalation_chain_for_ticket(ticket=ticket)
    active = next((e for e in reversed(chain) if e.is_active), None)
    return {
        "ticket": ticket,
        "chain": chain,
        "active": active,
        "can_handle": bool(active and services.escalation_can_handle(user=user, escalation=active)),
        "compensations": list(ticket.compensation_requests.select_related("requested_by", "decided_by")[:10]),
        "vendor_cases": list(ticket.vendor_cases.filter(closed_at__isnull=True)),
    }


def risk_panel(*, request, ticket) -> dict | None:
    if not request.user.is_staff_member:
        return None
    stored = RiskAssessment.objects.filter(ticket=ticket).first()
    assessment = stored.as_of(timezone.now()) if stored is not None else None
    if assessment is None or not (assessment.signals or assessment.model_version):
        return None
    context: dict = {"ticket": ticket, "assessment": assessment, "path": None}
    if assessment.suggested_type and ticket.is_open and selectors.escalation_active_for_ticket(ticket=ticket) is None:
        # What escalating as suggested would do: the escalate form's own preview. The articles to try first are the
        # knowledge base's panel on the same page, which loads after the page (ranking them is the slow part of the
        # workspace), so the risk panel points to it rather than ranking them a second time.
        context["path"] = services.escalation_preview(
            ticket=ticket, escalation_type=assessment.suggested_type, mode=EscalationMode.FUNCTIONAL
        )
    return context


def manager_request_panel(*, request, ticket) -> dict | None:
    user = request.user
    if not user.is_customer or not ticket.is_open:
        return None
    check = services.manager_request_check(ticket=ticket, customer=user, now=timezone.now())
    return {"ticket": ticket, "check": check, "form": ManagerRequestForm()}


def likely_to_escalate_for(*, user, team_ids: list[int] | None = None) -> dict:
    """The "likely to escalate" panel: the tickets most worth a look today, sized by capacity
    (``selectors.likely_to_escalate_size``). ``team_ids`` None: every ticket the user may see (the manager
    dashboard); otherwise those teams' tickets (a team lead's queue)."""
    size = selectors.likely_to_escalate_size(team_ids=team_ids)
    return {"tickets": selectors.tickets_likely_to_escalate(viewer=user, team_ids=team_ids, limit=size), "size": size}


def likely_to_escalate_for_lead(*, user) -> dict | None:
    """For the queue of a team lead (a lead membership in any team): their teams' likely escalations. None for
    everyone else, which hides the panel."""
    if not user.is_staff_member:
        return None
    led = list(user.memberships.filter(is_lead=True).values_list("team_id", flat=True))
    if not led:
        return None
    return likely_to_escalate_for(user=user, team_ids=led) | {"scope": "your teams"}
