"""The queue's "Link to an incident" bulk action: the batch-first ``incident_link_tickets`` behind the core's bulk
action registry (``helpdesk.bulk_actions``), so the queue, the incident page's suggestions and the workspace link
tickets by one rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms

from helpdesk.bulk_actions import BulkAction, BulkParamsForm, TicketOutcome
from helpdesk.models import Ticket, User
from incidents.selectors import incidents_open_for_linking
from incidents.services import LinkResult, incident_link_tickets


class LinkToIncidentForm(BulkParamsForm):
    incident = forms.ModelChoiceField(
        queryset=incidents_open_for_linking(), label="Incident", empty_label="Choose an open incident"
    )


def _run(*, tickets: Sequence[Ticket], versions: Mapping[int, int], actor: User, params: dict) -> list[TicketOutcome]:
    results = incident_link_tickets(incident=params["incident"], tickets=list(tickets), actor=actor)
    words = {LinkResult.LINKED: "Linked", LinkResult.ALREADY_LINKED: "Already linked"}
    return [
        TicketOutcome(
            r.ticket.pk,
            r.ticket.reference,
            r.outcome != LinkResult.REFUSED,
            words.get(r.outcome, r.reason)
            + (f" to {params['incident'].title}" if r.outcome != LinkResult.REFUSED else ""),
        )
        for r in results
    ]


def _describe(params: dict[str, Any]) -> str:
    return f"Link to the incident “{params['incident'].title}”"


LINK_TO_INCIDENT = BulkAction(
    name="link_incident",
    label="Link to an incident",
    form_class=LinkToIncidentForm,
    run=_run,
    describe=_describe,
    order=60,
)
