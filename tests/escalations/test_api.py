"""The escalation API: the same services and messages as the screens, the same visibility rule."""

from django.test import Client

from escalations.models import Escalation


def body(**overrides):
    data = {
        "escalation_type": "technical",
        "mode": "functional",
        "reason": "Needs logs",
        "dossier_problem": "Export fails",
        "dossier_tried": "Retried",
        "dossier_desired_outcome": "Working export",
        "dossier_mood": "calm",
    }
    data.update(overrides)
    return data


def test_escalate_accept_further_and_decide_through_the_api(
    config, customer, agent, specialist, manager, make_ticket, login
):
    ticket = make_ticket(customer, category="outage")
    agent_client = login(agent)
    # escalate; a duplicate is a 409 with the service's words
    created = agent_client.post(f"/api/tickets/{ticket.reference}/escalate/", body(), content_type="application/json")
    assert created.status_code == 201 and created.json()["to_team"] == "Technical"
    again = agent_client.post(f"/api/tickets/{ticket.reference}/escalate/", body(), content_type="application/json")
    assert again.status_code == 409 and "This ticket is already escalated to Technical" in str(again.json())
    pk = created.json()["id"]
    # accept, then a second accept is a 409 naming the owner
    spec = login(specialist, Client())
    assert spec.post(f"/api/escalations/{pk}/accept/").json()["accepted_by"] == "Priya Shah"
    late = login(manager, Client()).post(f"/api/escalations/{pk}/accept/")
    assert late.status_code == 409 and "Priya Shah accepted this escalation" in str(late.json())
    # escalate further with £400, then the manager approves it
    further = spec.post(
        f"/api/escalations/{pk}/escalate-further/",
        {"reason": "Needs a manager", "compensation_amount": "400.00"},
        content_type="application/json",
    )
    assert further.status_code == 201 and further.json()["level"] == 2 and further.json()["previous"] == pk
    compensation = Escalation.objects.get(pk=further.json()["id"]).compensation_requests.get()
    own = spec.post(f"/api/approvals/{compensation.pk}/approve/", {}, content_type="application/json")
    assert own.status_code == 403
    decided = login(manager, Client()).post(
        f"/api/approvals/{compensation.pk}/approve/", {}, content_type="application/json"
    )
    assert decided.json()["status"] == "approved"


def test_api_validation_uses_the_services_messages(config, customer, agent, make_ticket, login):
    ticket = make_ticket(customer, category="outage")
    response = login(agent).post(
        f"/api/tickets/{ticket.reference}/escalate/",
        body(dossier_tried=""),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {"dossier_tried": ["List what was already tried, even if nothing was."]}


def test_api_hides_restricted_escalations_and_refuses_customers(
    config, customer, agent, agent2, compliance_officer, make_ticket, escalate, login
):
    ticket = make_ticket(customer, category="data-privacy")
    escalation = escalate(ticket, agent, "compliance", "functional")
    outsider = login(agent2)
    assert outsider.get("/api/escalations/").json()["results"] == []
    assert outsider.get(f"/api/escalations/{escalation.pk}/").status_code == 404
    assert outsider.post(f"/api/escalations/{escalation.pk}/accept/").status_code == 404
    insider = login(compliance_officer, Client())
    assert [e["id"] for e in insider.get("/api/escalations/?status=open").json()["results"]] == [escalation.pk]
    assert login(customer, Client()).get("/api/escalations/").status_code == 403


def test_return_and_resolve_through_the_api(config, customer, agent, specialist, make_ticket, escalate, login):
    # given two escalations to Technical
    returned = escalate(make_ticket(customer, category="outage"), agent)
    resolved = escalate(make_ticket(customer, category="outage", subject="Second outage"), agent)
    api = login(specialist)
    # when the specialist returns one with guidance, and accepts and resolves the other
    back = api.post(
        f"/api/escalations/{returned.pk}/return/",
        {"guidance": "Restart the sync first."},
        content_type="application/json",
    )
    api.post(f"/api/escalations/{resolved.pk}/accept/")
    done = api.post(
        f"/api/escalations/{resolved.pk}/resolve/",
        {"summary": "Replaced the cache node."},
        content_type="application/json",
    )
    # then both are recorded with the service's words
    assert (back.status_code, back.json()["status"], back.json()["return_guidance"]) == (
        200,
        "returned",
        "Restart the sync first.",
    )
    assert (done.status_code, done.json()["status"], done.json()["resolution_summary"]) == (
        200,
        "resolved",
        "Replaced the cache node.",
    )
    # and an empty summary is refused by name
    again = escalate(make_ticket(customer, category="outage", subject="Third"), agent)
    api.post(f"/api/escalations/{again.pk}/accept/")
    empty = api.post(f"/api/escalations/{again.pk}/resolve/", {"summary": " "}, content_type="application/json")
    assert (empty.status_code, empty.json()) == (
        400,
        {"summary": ["Write the resolution summary: what was done for the customer."]},
    )


def test_a_conflict_has_the_same_json_shape_from_escalations_and_from_helpdesk(
    config, customer, agent, specialist, manager, make_ticket, login
):
    # given an escalation someone accepted first, and a ticket someone changed first
    ticket = make_ticket(customer, category="outage")
    agent_client = login(agent)
    pk = agent_client.post(f"/api/tickets/{ticket.reference}/escalate/", body(), content_type="application/json")
    pk = pk.json()["id"]
    login(specialist, Client()).post(f"/api/escalations/{pk}/accept/")
    ticket.refresh_from_db()
    seen = ticket.version
    url = f"/api/tickets/{ticket.reference}/"
    patch = {"priority": "high"}
    assert agent_client.patch(url, patch, content_type="application/json", HTTP_IF_MATCH=f'"{seen}"').status_code == 200

    # when the late ones act
    late_accept = login(manager, Client()).post(f"/api/escalations/{pk}/accept/")
    stale_patch = login(manager, Client()).patch(
        url, {"priority": "low"}, content_type="application/json", HTTP_IF_MATCH=f'"{seen}"'
    )

    # then both answer {"detail": words, "code": "conflict"} (the ticket adds its current version)
    assert late_accept.status_code == 409
    assert "Priya Shah accepted this escalation" in late_accept.json()["detail"]
    assert stale_patch.status_code == 412
    assert stale_patch.json()["code"] == late_accept.json()["code"] == "conflict"
    assert set(stale_patch.json()) - {"current_version"} == set(late_accept.json()) == {"detail", "code"}
