"""One small function per business event, each writing one typed, append-only TicketEvent row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from helpdesk.models import EventKind, Ticket, TicketEvent, User
from helpdesk.signals import ticket_event_recorded


def event_record(
    *,
    ticket: Ticket,
    kind: str,
    actor: User | None,
    is_public: bool,
    body: str = "",
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """Append one event (inside the caller's transaction) and tell listeners; every app records through here."""
    event = TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor=actor,
        is_public=is_public,
        body=body,
        data=data or {},
        created_at=timezone.now(),
    )
    ticket_event_recorded.send(sender=TicketEvent, event=event, ticket=ticket)
    return event


def ticket_created_event(*, ticket: Ticket, actor: User | None) -> TicketEvent:
    return event_record(
        ticket=ticket,
        kind=EventKind.CREATED,
        actor=actor,
        is_public=True,
        body=ticket.description,
        data={"channel": ticket.channel, "priority": ticket.priority},
    )


def customer_message_event(*, ticket: Ticket, actor: User, body: str) -> TicketEvent:
    return event_record(ticket=ticket, kind=EventKind.CUSTOMER_MESSAGE, actor=actor, is_public=True, body=body)


def agent_replied_event(*, ticket: Ticket, actor: User, body: str, template_id: int | None = None) -> TicketEvent:
    data = {"template_id": template_id} if template_id else {}
    return event_record(ticket=ticket, kind=EventKind.AGENT_REPLY, actor=actor, is_public=True, body=body, data=data)


def internal_note_added_event(*, ticket: Ticket, actor: User, body: str) -> TicketEvent:
    return event_record(ticket=ticket, kind=EventKind.INTERNAL_NOTE, actor=actor, is_public=False, body=body)


def ticket_status_changed_event(*, ticket: Ticket, actor: User | None, old: str, new: str) -> TicketEvent:
    return event_record(
        ticket=ticket, kind=EventKind.STATUS_CHANGED, actor=actor, is_public=True, data={"from": old, "to": new}
    )


def events_record_many(rows: Sequence[TicketEvent]) -> list[TicketEvent]:
    """``event_record`` for many unsaved rows: one INSERT for the batch, then the same signal per row, so listeners
    (live screens, rollups, webhooks) see each event as if it had been recorded alone."""
    written = TicketEvent.objects.bulk_create(list(rows))
    for event in written:
        ticket_event_recorded.send(sender=TicketEvent, event=event, ticket=event.ticket)
    return written


def _assigned_data(*, old_team: str | None, new_team: str | None, old: str | None, new: str | None) -> dict[str, Any]:
    return {"from_team": old_team, "to_team": new_team, "from": old, "to": new}


def ticket_assigned_event(
    *, ticket: Ticket, actor: User | None, old_team: str | None, new_team: str | None, old: str | None, new: str | None
) -> TicketEvent:
    return event_record(
        ticket=ticket,
        kind=EventKind.ASSIGNED,
        actor=actor,
        is_public=False,
        data=_assigned_data(old_team=old_team, new_team=new_team, old=old, new=new),
    )


def ticket_assigned_events(
    *,
    changes: Sequence[tuple[Ticket, str | None, str | None]],
    actor: User | None,
    new_team: str | None,
    new: str | None,
) -> list[TicketEvent]:
    """``ticket_assigned_event`` for a batch given to one team/assignee: ``changes`` is (ticket, old team name, old
    assignee name) per ticket. One INSERT."""
    now = timezone.now()
    return events_record_many(
        [
            TicketEvent(
                ticket=ticket,
                kind=EventKind.ASSIGNED,
                actor=actor,
                is_public=False,
                data=_assigned_data(old_team=old_team, new_team=new_team, old=old, new=new),
                created_at=now,
            )
            for ticket, old_team, old in changes
        ]
    )


def ticket_priority_changed_event(*, ticket: Ticket, actor: User | None, old: str, new: str) -> TicketEvent:
    return event_record(
        ticket=ticket, kind=EventKind.PRIORITY_CHANGED, actor=actor, is_public=False, data={"from": old, "to": new}
    )


def ticket_category_changed_event(
    *, ticket: Ticket, actor: User | None, old: str | None, new: str | None
) -> TicketEvent:
    return event_record(
        ticket=ticket, kind=EventKind.CATEGORY_CHANGED, actor=actor, is_public=False, data={"from": old, "to": new}
    )


def manager_requested_event(*, ticket: Ticket, actor: User, reason: str) -> TicketEvent:
    return event_record(ticket=ticket, kind=EventKind.MANAGER_REQUESTED, actor=actor, is_public=True, body=reason)
