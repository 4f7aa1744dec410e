"""The queue's "Link to an incident" bulk action runs the one batch-first linking service."""

from __future__ import annotations

import uuid

import pytest

from helpdesk.bulk_actions import bulk_action_get, bulk_action_run, bulk_selection_resolve
from incidents.models import IncidentLink
from incidents.services import incident_link_tickets

pytestmark = pytest.mark.django_db


def test_bulk_link_to_an_incident_reports_each_ticket(declare, agent, customer, make_ticket):
    # given an open incident, one ticket already linked, one new and one resolved
    incident = declare()
    linked, fresh, done = (make_ticket(customer, category="outage") for _ in range(3))
    incident_link_tickets(incident=incident, tickets=[linked], actor=agent)
    type(done).objects.filter(pk=done.pk).update(status="resolved")
    selection = bulk_selection_resolve(actor=agent, selected={t.pk: None for t in (linked, fresh, done)})
    # when the agent links the selection from the queue
    run = bulk_action_run(
        actor=agent,
        action=bulk_action_get(user=agent, name="link_incident"),
        selection=selection,
        params={"incident": incident},
        token=uuid.uuid4(),
    )
    # then the fresh ticket is linked, the linked one said so, the resolved one refused with the service's reason
    assert run.label == "Link to the incident “Dashboard down”"
    assert {r["reference"]: r["text"] for r in run.report["done"]} == {
        linked.reference: "Already linked to Dashboard down",
        fresh.reference: "Linked to Dashboard down",
    }
    assert [r["reference"] for r in run.report["refused"]] == [done.reference]
    assert set(IncidentLink.objects.filter(incident=incident).values_list("ticket_id", flat=True)) == {
        linked.pk,
        fresh.pk,
    }
