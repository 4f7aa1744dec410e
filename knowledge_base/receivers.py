"""Reactions to ticket activity (connected in ``apps.py``)."""

from __future__ import annotations

from helpdesk.models import EventKind


def on_ticket_event(*, event, ticket, **kwargs) -> None:
    """A new ticket from a customer settles their recent suggestion opens as "submitted anyway"."""
    if event.kind != EventKind.CREATED:
        return
    from knowledge_base.services import deflections_mark_submitted

    deflections_mark_submitted(ticket=ticket, customer=ticket.customer, now=event.created_at)
