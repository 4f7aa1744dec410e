"""The workspace call panel (staff) and the queue's due-callbacks banner context."""

from __future__ import annotations

from django.utils import timezone

from escalations.calls import selectors as calls_selectors
from escalations.calls.forms import CallForm
from escalations.calls.services import customer_timezone
from escalations.models import EscalationType


def call_panel(*, request, ticket) -> dict | None:
    """Closed: a "Start a call" button. Open (``?call=1``): timer, notes, playbook, log and escalate actions."""
    if not request.user.is_staff_member:
        return None
    now = timezone.now()
    on_call = request.GET.get("call") == "1"
    chosen = request.GET.get("call_type", "")
    if chosen not in EscalationType.values:
        chosen = ""
    customer = ticket.customer
    form = CallForm(
        initial={
            "number": customer.phone or (customer.organization.phone if customer.organization_id else ""),
            "started_at": now.isoformat(),
            "escalation_type": chosen,
        }
    )
    return {
        "ticket": ticket,
        "on_call": on_call,
        "form": form,
        "started_at": now,
        "chosen": chosen,
        "playbooks": calls_selectors.playbooks_by_type() if on_call else {},
        "customer_tz": customer_timezone(ticket),
    }
