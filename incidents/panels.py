"""The workspace panel (registered in ``IncidentsConfig.ready``): the incident the ticket belongs to, or a way to
link it to an open one."""

from __future__ import annotations

from incidents.forms import TicketIncidentLinkForm
from incidents.selectors import incident_for_ticket, incidents_open_for_linking


def ticket_incident_panel(*, request, ticket) -> dict | None:
    if not request.user.is_staff_member:
        return None
    link = incident_for_ticket(ticket=ticket)
    if link is not None and link.released_at is None:
        return {"ticket": ticket, "link": link, "incident": link.incident}
    if not ticket.is_open:
        return None
    incidents = list(incidents_open_for_linking()[:20])
    if not incidents:
        return None
    return {"ticket": ticket, "link": None, "past": link, "form": TicketIncidentLinkForm(incidents=incidents)}
