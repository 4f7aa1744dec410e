"""Data-protection requests: a second person approves (never the requester), bad input is refused with clear
words, a compliance escalation's screen carries the request out, and every model holding customer data is covered."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied

from helpdesk.errors import Conflict, Invalid, NotAllowed
from helpdesk.models import AuditAction, AuditEvent, Ticket
from privacy.models import DataRequest, RequestKind, RequestStatus
from privacy.registry import HOLDINGS, NOT_PERSONAL, unclassified_models
from privacy.services import data_request_create, data_request_decide


def test_every_model_with_a_key_to_a_person_or_a_ticket_is_exported_or_declared_not_personal():
    assert unclassified_models() == []
    labels = {model._meta.label for model in apps.get_models()}
    # every name in the lists is a real model (a rename cannot silently drop coverage)
    assert set(HOLDINGS) - labels == set()
    assert set(NOT_PERSONAL) - labels == set()


def test_a_new_model_with_a_key_to_a_ticket_is_reported_until_classified(monkeypatch):
    from privacy import registry

    monkeypatch.delitem(registry.HOLDINGS, "feedback.Survey")
    assert unclassified_models() == ["feedback.Survey"]


def test_the_requester_cannot_approve_their_own_request(customer, manager, admin_user):
    request = data_request_create(actor=manager, customer=customer, kind=RequestKind.ERASURE)
    with pytest.raises(
        PermissionDenied,
        match=re.escape(
            "You cannot approve or reject your own data-protection request; another manager or administrator must decide."
        ),
    ):
        data_request_decide(request=request, actor=manager, approve=True)
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    assert not AuditEvent.objects.filter(action__in=[AuditAction.APPROVAL, AuditAction.ERASURE]).exists()


def test_only_a_manager_or_admin_approves(customer, manager, agent):
    request = data_request_create(actor=manager, customer=customer, kind=RequestKind.EXPORT)
    with pytest.raises(NotAllowed, match="Only a manager or an administrator may approve"):
        data_request_decide(request=request, actor=agent, approve=True)


def test_a_decision_is_taken_once(customer, manager, admin_user, second_admin):
    request = data_request_create(actor=manager, customer=customer, kind=RequestKind.EXPORT)
    data_request_decide(request=request, actor=admin_user, approve=False, note="Identity not verified.")
    with pytest.raises(Conflict, match="already been decided"):
        data_request_decide(request=request, actor=second_admin, approve=True)
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.decision_note) == (
        RequestStatus.REJECTED,
        admin_user,
        "Identity not verified.",
    )


def test_bad_input_is_refused_with_clear_words(customer, agent, manager, admin_user):
    with pytest.raises(Invalid, match=re.escape("Unknown request kind 'delete': choose export or erasure.")):
        data_request_create(actor=manager, customer=customer, kind="delete")
    with pytest.raises(Invalid, match=re.escape("Data requests are about a customer account, not a staff member.")):
        data_request_create(actor=manager, customer=agent, kind=RequestKind.EXPORT)
    with pytest.raises(NotAllowed, match="Only managers, administrators and the handlers of a compliance escalation"):
        data_request_create(actor=agent, customer=customer, kind=RequestKind.EXPORT)
    request = data_request_create(actor=manager, customer=customer, kind=RequestKind.EXPORT)
    with pytest.raises(Conflict, match="already waiting for approval"):
        data_request_create(actor=admin_user, customer=customer, kind=RequestKind.EXPORT)
    with pytest.raises(Invalid, match=re.escape("Say why the request is rejected.")):
        data_request_decide(request=request, actor=admin_user, approve=False, note="  ")
    assert DataRequest.objects.count() == 1


def test_a_compliance_escalation_carries_out_an_erasure_with_a_second_persons_approval(
    customer, agent, compliance_officer, manager, make_ticket, escalate, config, client
):
    # given: a compliance escalation accepted by the compliance team
    ticket = make_ticket(customer, subject="Please delete my data", category="data-privacy")
    escalation = escalate(ticket, agent, escalation_type="compliance")
    from escalations.services import escalation_accept

    escalation_accept(escalation=escalation, actor=compliance_officer)
    client.force_login(compliance_officer)
    page = client.get(f"/escalations/{escalation.pk}/")
    assert "Ask to erase their data" in page.content.decode()

    # when: the compliance officer asks from the escalation's screen
    response = client.post(
        f"/privacy/customers/{customer.pk}/requests/",
        {"kind": "erasure", "reason": "DSR-42", "escalation": escalation.pk},
    )
    assert response.status_code == 302 and response["Location"] == f"/escalations/{escalation.pk}/"
    request = DataRequest.objects.get()
    assert (request.requested_by, request.escalation, request.status) == (
        compliance_officer,
        escalation,
        RequestStatus.PENDING,
    )
    # the requester sees no approve button; a manager does
    assert "Approve" not in client.get(f"/escalations/{escalation.pk}/").content.decode()
    client.force_login(manager)
    assert 'value="approve"' in client.get(f"/escalations/{escalation.pk}/").content.decode()
    client.post(
        f"/privacy/requests/{request.pk}/decide/",
        {"decision": "approve", "note": "", "next": f"/escalations/{escalation.pk}/"},
    )

    # then
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE
    assert Ticket.objects.get(pk=ticket.pk).subject == "[erased]"
    assert AuditEvent.objects.filter(action=AuditAction.ERASURE).count() == 1


def test_the_escalation_screen_offers_nothing_on_other_types(
    customer, agent, specialist, make_ticket, escalate, config, client
):
    ticket = make_ticket(customer, subject="Outage", category="outage")
    escalation = escalate(ticket, agent, escalation_type="technical")
    client.force_login(specialist)
    page = client.get(f"/escalations/{escalation.pk}/").content.decode()
    assert "Data-protection request" not in page


def test_a_non_compliance_escalation_cannot_carry_a_request(customer, agent, manager, make_ticket, escalate, config):
    escalation = escalate(make_ticket(customer, category="outage"), agent, escalation_type="technical")
    with pytest.raises(
        Invalid, match=re.escape("Only a compliance escalation can carry out a data-protection request.")
    ):
        data_request_create(actor=manager, customer=customer, kind=RequestKind.EXPORT, escalation=escalation)


def test_admins_use_the_customer_screen(customer, manager, admin_user, client):
    client.force_login(admin_user)
    page = client.get(f"/privacy/customers/{customer.pk}/")
    assert page.status_code == 200 and "Ask for an export or an erasure" in page.content.decode()
    found = client.get("/privacy/requests/", {"q": "customer@example"}).content.decode()
    assert f"/privacy/customers/{customer.pk}/" in found
    client.post(f"/privacy/customers/{customer.pk}/requests/", {"kind": "export", "reason": "DSR-9"})
    request = DataRequest.objects.get()
    # the admin cannot approve their own; the screen says so and the service refuses
    response = client.post(f"/privacy/requests/{request.pk}/decide/", {"decision": "approve"}, follow=True)
    assert (
        "You cannot approve or reject your own data-protection request; another manager or administrator must decide."
        in response.content.decode()
    )
    client.force_login(manager)
    client.post(f"/privacy/requests/{request.pk}/decide/", {"decision": "approve"})
    request.refresh_from_db()
    assert request.status == RequestStatus.READY


def test_bad_urls_and_roles_are_refused_not_500(customer, agent, manager, client):
    client.force_login(manager)
    assert client.get("/privacy/customers/999999/").status_code == 404
    assert client.get("/privacy/requests/999999/download/").status_code == 404
    assert client.get(f"/privacy/customers/{agent.pk}/").status_code == 404  # staff are not data subjects here
    response = client.post(f"/privacy/customers/{customer.pk}/requests/", {"kind": "nope"}, follow=True)
    assert response.status_code == 200 and "The request was not made" in response.content.decode()
    client.force_login(agent)
    assert client.get(f"/privacy/customers/{customer.pk}/").status_code == 403
    client.force_login(customer)
    assert client.get("/privacy/requests/").status_code == 403


def test_the_workspace_links_managers_to_the_customers_data_protection_page(
    customer, agent, manager, make_ticket, client
):
    ticket = make_ticket(customer)
    client.force_login(manager)
    page = client.get(f"/tickets/{ticket.reference}/").content.decode()
    assert f'href="/privacy/customers/{customer.pk}/"' in page
    client.force_login(agent)
    assert "/privacy/customers/" not in client.get(f"/tickets/{ticket.reference}/").content.decode()
