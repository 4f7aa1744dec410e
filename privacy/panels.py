"""The workspace panel: managers and administrators reach the customer's data-protection page from any ticket."""

from __future__ import annotations

from privacy.models import DataRequest


def customer_panel(*, request, ticket) -> dict | None:
    if not request.user.is_manager:
        return None
    requests = list(DataRequest.objects.filter(customer_id=ticket.customer_id).order_by("-created_at")[:3])
    return {"customer": ticket.customer, "requests": requests}
