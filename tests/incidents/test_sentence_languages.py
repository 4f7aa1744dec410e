"""An incident's per-ticket sentences are one language throughout: a refusal shown to staff in their language with
the status label inside it; a release outcome stored for the audit trail in the product's language."""

from __future__ import annotations

import pytest
from django.utils import translation

from helpdesk.models import Status
from helpdesk.services import ticket_change_status
from incidents.models import IncidentResolution, IncidentStatus
from incidents.services import LinkResult, incident_link_tickets, incident_resolve

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("fr", "Le ticket est au statut « résolu »."),
        ("es", "El ticket está en estado «resuelto»."),
        ("en-gb", "The ticket is resolved."),
    ],
)
def test_a_refused_link_says_the_status_in_one_language(declare, manager, customer, make_ticket, language, sentence):
    incident = declare()
    closed = make_ticket(customer, subject="Dashboard gone")
    ticket_change_status(ticket=closed, actor=manager, status=Status.RESOLVED)
    with translation.override(language):
        [result] = incident_link_tickets(incident=incident, tickets=[closed], actor=manager)
    assert (result.outcome, result.reason) == (LinkResult.REFUSED, sentence)


def test_a_release_outcome_stays_english_under_a_french_manager(declare, manager, agent, customer, make_ticket):
    incident = declare(status=IncidentStatus.IDENTIFIED)
    ticket = make_ticket(customer, subject="Dashboard blank", category="outage")
    ticket_change_status(ticket=ticket, actor=agent, status=Status.OPEN)
    incident_link_tickets(incident=incident, tickets=[ticket], actor=agent)
    with translation.override("fr"):
        [result] = incident_resolve(incident=incident, actor=manager, resolution=IncidentResolution.RETURN)
    assert result.outcome == "Returned to open."
