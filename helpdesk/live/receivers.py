"""Ticket activity to push: every TicketEvent (the ``ticket_event_recorded`` signal, sent by every service) becomes a
``ticket`` frame for everyone online who may see the ticket, after commit."""

from __future__ import annotations

from django.dispatch import receiver

from helpdesk.live.publish import LiveKind, live_publish
from helpdesk.models import EventKind, Ticket, TicketEvent
from helpdesk.signals import ticket_event_recorded

# A colleague's words on the ticket: the workspace warns before you send a reply of your own.
COLLISION_KINDS = {EventKind.AGENT_REPLY, EventKind.INTERNAL_NOTE, EventKind.CUSTOMER_MESSAGE}


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
        "emergency": bool(ticket.is_emergency),
        "at": event.created_at.isoformat(),
    }


@receiver(ticket_event_recorded, dispatch_uid="helpdesk_live_ticket_event")
def _on_ticket_event(sender, *, event: TicketEvent, ticket: Ticket, **kwargs) -> None:
    live_publish(kind=LiveKind.TICKET, payload=ticket_frame(event=event, ticket=ticket), ticket=ticket)
