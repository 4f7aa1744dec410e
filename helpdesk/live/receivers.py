"""Ticket activity to push: every TicketEvent (the ``ticket_event_recorded`` signal, sent by every service) becomes a
``ticket`` frame for every staff member online who may see the ticket, after commit; an event the customer may see
(``TicketEvent.customer_may_see``, the rule of their timeline) also becomes a bare frame for the ticket's customers."""

from __future__ import annotations

from django.dispatch import receiver

from helpdesk.live.publish import LiveKind, live_publish
from helpdesk.models import EventKind, Ticket, TicketEvent
from helpdesk.signals import ticket_event_recorded

# A colleague's words on the ticket: the workspace warns before you send a reply of your own.
COLLISION_KINDS = {EventKind.AGENT_REPLY, EventKind.INTERNAL_NOTE, EventKind.CUSTOMER_MESSAGE}

# What changes an escalation's detail page under its reader (accepted, returned, escalated further or paged on by the
# SLA sweep, resolved, a note, the ticket's status, compensation, a vendor case): it warns before you act.
ESCALATION_CHANGE_KINDS = {
    EventKind.ESCALATED,
    EventKind.ESCALATION_ACCEPTED,
    EventKind.ESCALATION_RETURNED,
    EventKind.ESCALATION_RESOLVED,
    EventKind.INTERNAL_NOTE,
    EventKind.STATUS_CHANGED,
    EventKind.COMPENSATION,
    EventKind.THIRD_PARTY,
    EventKind.SLA,
}


def ticket_frame(*, event: TicketEvent, ticket: Ticket) -> dict:
    """What a ticket frame says: facts only (staff read it; screens re-fetch text through their views)."""
    actor = event.actor
    return {
        "ticket": ticket.reference,
        "event": event.kind,
        "event_id": event.pk,
        "actor_id": actor.pk if actor is not None else None,
        "actor": actor.display_name if actor is not None else "",
        "collision": event.kind in COLLISION_KINDS,
        "escalation_change": event.kind in ESCALATION_CHANGE_KINDS,
        "emergency": bool(ticket.is_emergency),
        "at": event.created_at.isoformat(),
    }


def customer_ticket_frame(*, event: TicketEvent, ticket: Ticket) -> dict | None:
    """What the ticket's customers receive: that their ticket changed, in a kind they may see, and nothing else (no
    actor, no text, no staff flags; their page re-fetches through its own view). None for an event they may not see."""
    if not event.customer_may_see:
        return None
    return {"ticket": ticket.reference, "event": event.kind, "event_id": event.pk, "at": event.created_at.isoformat()}


@receiver(ticket_event_recorded, dispatch_uid="helpdesk_live_ticket_event")
def _on_ticket_event(sender, *, event: TicketEvent, ticket: Ticket, **kwargs) -> None:
    live_publish(
        kind=LiveKind.TICKET,
        payload=ticket_frame(event=event, ticket=ticket),
        ticket=ticket,
        customer_payload=customer_ticket_frame(event=event, ticket=ticket),
    )
