"""Major incidents in the API: staff read, managers act, customers are refused; linking reports each ticket and never
names one the caller may not see; an update is sent once per idempotency key; resolving releases the tickets."""

from __future__ import annotations

import pytest

from helpdesk.models import Status
from incidents.models import IncidentDelivery, IncidentLink, IncidentUpdate

pytestmark = pytest.mark.django_db


def _declare(api):
    return api.post(
        "/api/incidents/",
        {
            "title": "Dashboard down",
            "customer_message": "Our dashboard is not loading. We are on it.",
            "category": "outage",
        },
    )


def test_roles_read_and_declare(api_as, people, tickets):
    # a manager declares
    response = _declare(api_as(people["manager"]))
    assert response.status_code == 201, response.content
    incident = response.json()
    assert (incident["title"], incident["status"], incident["linked_count"]) == ("Dashboard down", "investigating", 0)
    # an agent reads but may not declare; a customer may do neither
    agent = api_as(people["agent"])
    assert [i["id"] for i in agent.get("/api/incidents/").json()["results"]] == [incident["id"]]
    assert _declare(agent).status_code == 403
    customer = api_as(people["customer"])
    assert customer.get("/api/incidents/").status_code == 403
    assert customer.get(f"/api/incidents/{incident['id']}/").status_code == 403
    # unknown fields are named
    refused = api_as(people["manager"]).post("/api/incidents/", {"title": "x", "customer_message": "y", "colour": 1})
    assert refused.status_code == 400 and "colour" in refused.content.decode()


def test_link_reports_each_reference_and_hides_what_the_caller_may_not_see(api_as, people, tickets):
    incident = _declare(api_as(people["manager"])).json()
    agent = api_as(people["agent"])
    # when an agent links their visible ticket, the restricted one (not theirs to see) and a made-up reference
    response = agent.post(
        f"/api/incidents/{incident['id']}/link/",
        {"tickets": [tickets["other_org"].reference, tickets["restricted"].reference, "HD-0000-000000"]},
    )
    # then one outcome per reference, the hidden ticket refused exactly like a missing one
    assert response.status_code == 200, response.content
    assert [(r["ticket"], r["outcome"], r["reason"]) for r in response.json()] == [
        (tickets["other_org"].reference, "linked", ""),
        (tickets["restricted"].reference, "refused", "No such ticket."),
        ("HD-0000-000000", "refused", "No such ticket."),
    ]
    assert list(IncidentLink.objects.values_list("ticket_id", flat=True)) == [tickets["other_org"].pk]
    assert agent.get(f"/api/incidents/{incident['id']}/").json()["linked_count"] == 1


def test_an_update_is_sent_once_per_key_and_resolving_releases_the_tickets(api_as, people, tickets, settings):
    settings.INCIDENT_INLINE_DELIVERY_MAX = 0
    manager = api_as(people["manager"])
    incident = _declare(manager).json()
    manager.post(f"/api/incidents/{incident['id']}/link/", {"tickets": [tickets["mine"].reference]})
    body = {
        "message": "A fix is being deployed.",
        "status": "identified",
        "idempotency_key": "2f1c0e39-7a36-4c37-9a3c-6f9f7a0c1e01",
    }
    # when the same update is posted twice
    first = manager.post(f"/api/incidents/{incident['id']}/updates/", body)
    assert first.status_code == 201, first.content
    again = manager.post(f"/api/incidents/{incident['id']}/updates/", body)
    # then one update; an agent may read it but not post one
    assert (first.status_code, again.status_code, first.json()["id"]) == (201, 201, again.json()["id"])
    assert IncidentUpdate.objects.count() == 1
    assert [u["message"] for u in api_as(people["agent"]).get(f"/api/incidents/{incident['id']}/updates/").json()] == [
        "A fix is being deployed."
    ]
    assert api_as(people["agent"]).post(f"/api/incidents/{incident['id']}/updates/", body).status_code == 403
    # when the manager resolves, resolving the tickets
    resolved = manager.post(f"/api/incidents/{incident['id']}/resolve/", {"resolution": "resolve"})
    assert resolved.status_code == 200, resolved.content
    assert [r["ticket"] for r in resolved.json()] == [tickets["mine"].reference]
    tickets["mine"].refresh_from_db()
    assert tickets["mine"].status == Status.RESOLVED
    # and a resolved incident takes no more updates
    late = manager.post(
        f"/api/incidents/{incident['id']}/updates/",
        {"message": "More.", "idempotency_key": "5b0d8b1e-4a1f-4a3e-8f0e-2f3a9d6c7b02"},
    )
    assert late.status_code == 409
    assert IncidentDelivery.objects.filter(update__incident_id=incident["id"]).count() <= 1
