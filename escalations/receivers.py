"""Reactions to ticket activity (connected in ``EscalationsConfig.ready``)."""

from __future__ import annotations

from django.dispatch import receiver

from helpdesk.models import EventKind
from helpdesk.signals import ticket_event_recorded


@receiver(ticket_event_recorded, dispatch_uid="escalations_risk_on_customer_message")
def assess_risk_on_customer_message(sender, *, event, ticket, **kwargs) -> None:
    """Every incoming customer message (and the opening description) goes through the escalation-risk detector."""
    if event.kind not in (EventKind.CUSTOMER_MESSAGE, EventKind.CREATED):
        return
    if event.actor_id is not None and event.actor_id != ticket.customer_id and not event.actor.is_customer:
        return
    from escalations.services import risk_assess_message

    risk_assess_message(ticket=ticket, event=event)


@receiver(ticket_event_recorded, dispatch_uid="escalations_close_with_ticket")
def close_escalations_with_ticket(sender, *, event, ticket, **kwargs) -> None:
    """A closed ticket takes its active escalations with it."""
    if event.kind != EventKind.STATUS_CHANGED or event.data.get("to") != "closed":
        return
    from escalations.services import escalations_close_with_ticket

    escalations_close_with_ticket(ticket=ticket, actor=event.actor, now=event.created_at)
