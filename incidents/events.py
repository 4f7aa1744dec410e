"""The timeline events of major incidents (``EventKind.INCIDENT``), internal: a customer reads the updates
themselves, which arrive as public replies."""

from __future__ import annotations

from helpdesk.events import event_record
from helpdesk.models import EventKind, Ticket, TicketEvent, User
from incidents.models import Incident


def ticket_linked_to_incident_event(*, ticket: Ticket, actor: User | None, incident: Incident) -> TicketEvent:
    return event_record(
        ticket=ticket,
        kind=EventKind.INCIDENT,
        actor=actor,
        is_public=False,
        body=f"Linked to major incident {incident.reference}: {incident.title}",
        data={"incident_id": incident.pk, "action": "linked"},
    )


def ticket_released_from_incident_event(
    *, ticket: Ticket, actor: User | None, incident: Incident, outcome: str
) -> TicketEvent:
    return event_record(
        ticket=ticket,
        kind=EventKind.INCIDENT,
        actor=actor,
        is_public=False,
        body=f"Major incident {incident.reference} resolved. {outcome}",
        data={"incident_id": incident.pk, "action": "released", "outcome": outcome},
    )
