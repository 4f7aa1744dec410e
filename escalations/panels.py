"""Context functions for the ticket-page panels registered in ``EscalationsConfig.ready``: the escalation chain and
risk signals (staff), and "ask for a manager" (customer). Each returns None to hide its panel."""

from __future__ import annotations

from django.utils import timezone

from escalations import selectors, services
from escalations.forms import ManagerRequestForm
from escalations.models import RiskAssessment


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
    return {"ticket": ticket, "assessment": assessment}


def manager_request_panel(*, request, ticket) -> dict | None:
    user = request.user
    if not user.is_customer or not ticket.is_open:
        return None
    check = services.manager_request_check(ticket=ticket, customer=user, now=timezone.now())
    return {"ticket": ticket, "check": check, "form": ManagerRequestForm()}
