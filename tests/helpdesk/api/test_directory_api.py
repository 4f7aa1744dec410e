"""Organisations, contacts and vendor cases written through the API: the directory's and the vendor services, the
administrators-only rule of the admin's screens, fields named in every refusal, and the If-Match content tag."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from escalations.models import VendorCase
from helpdesk.models import AuditEvent, Organization, TicketEvent, User


def _etag(response) -> str:
    return response["ETag"].strip('"')


# --- organisations -----------------------------------------------------------------------------------------------


def test_an_administrator_adds_and_changes_an_organisation(people, plans, api_as):
    api = api_as(people["admin"])
    # when the admin adds an organisation
    created = api.post(
        "/api/organizations/",
        {"name": "  Acme   Ltd ", "plan": "pro", "email_domain": "Acme.TEST", "timezone": "Europe/Paris"},
    )
    # then it is stored tidied, with an ETag and a Location, and audited
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["name"], body["plan"], body["email_domain"], body["timezone"]) == (
        "Acme Ltd",
        "pro",
        "acme.test",
        "Europe/Paris",
    )
    assert created["Location"] == f"/api/organizations/{body['id']}/"
    assert AuditEvent.objects.filter(
        target_type="helpdesk.organization", target_id=str(body["id"]), detail__operation="added"
    ).exists()
    path = f"/api/organizations/{body['id']}/"
    tag = _etag(api.get(path))
    assert tag == _etag(created)
    # when it changes the plan without If-Match, with the tag, then with the same (now stale) tag
    missing = api.patch(path, {"plan": "enterprise"})
    saved = api.patch(path, {"plan": "enterprise"}, headers={"If-Match": f'"{tag}"'})
    stale = api.patch(path, {"phone": "+33 1 00 00 00 00"}, headers={"If-Match": f'"{tag}"'})
    # then 428, 200 with a new tag, 412 naming the current one; the stale write changed nothing
    assert missing.status_code == 428
    assert saved.status_code == 200, saved.content
    assert saved.json()["plan"] == "enterprise"
    assert _etag(saved) != tag
    assert stale.status_code == 412
    assert stale.json()["current_etag"] == _etag(saved)
    assert Organization.objects.get(pk=body["id"]).phone == ""


@pytest.mark.parametrize("role", ["agent", "specialist", "manager", "customer"])
def test_only_administrators_write_organisations(role, people, plans, api_as):
    api = api_as(people[role])
    organization = people["customer"].organization
    assert api.post("/api/organizations/", {"name": "Other", "plan": "pro"}).status_code == 403
    response = api.patch(f"/api/organizations/{organization.pk}/", {"phone": "1"}, headers={"If-Match": '"0"'})
    assert response.status_code == 403
    assert not Organization.objects.filter(name="Other").exists()


def test_organisation_refusals_name_the_fields(people, plans, api_as):
    api = api_as(people["admin"])
    taken = people["customer"].organization.name.upper()
    cases = {
        "unknown": ({"name": "A", "plan": "pro", "sla": "gold"}, {"sla"}),
        "duplicate": ({"name": taken, "plan": "pro"}, {"name"}),
        "timezone": ({"name": "B", "plan": "pro", "timezone": "Mars/Olympus"}, {"timezone"}),
        "domain": ({"name": "C", "plan": "pro", "email_domain": "a@b c"}, {"email_domain"}),
        "plan": ({"name": "D", "plan": "platinum"}, {"plan"}),
        "missing": ({"plan": "pro"}, {"name"}),
    }
    for case, (body, fields) in cases.items():
        response = api.post("/api/organizations/", body)
        assert response.status_code == 400, (case, response.content)
        assert set(response.json()) == fields, (case, response.json())
    organization = people["customer"].organization
    path = f"/api/organizations/{organization.pk}/"
    bad_tag = api.patch(path, {"phone": "1"}, headers={"If-Match": "3"})
    assert bad_tag.status_code == 400
    assert "If-Match" in bad_tag.json()


def test_the_admin_screen_saves_through_the_same_rules(client, people, plans):
    # given an administrator in the Django admin
    client.force_login(people["admin"])
    taken = people["customer"].organization.name
    # when they add an organisation whose name differs from an existing one only in case, then a good one
    refused = client.post(
        "/admin/helpdesk/organization/add/",
        {"name": taken.lower(), "plan": plans["pro"].pk, "timezone": "Europe/London"},
    )
    added = client.post(
        "/admin/helpdesk/organization/add/",
        {"name": "Globex", "plan": plans["pro"].pk, "timezone": "Europe/London", "email_domain": "GLOBEX.test"},
    )
    # then the first is refused on the form with the directory's words, the second saved by the service (tidied)
    assert refused.status_code == 200
    assert "already exists" in refused.content.decode()
    assert added.status_code == 302
    assert Organization.objects.get(name="Globex").email_domain == "globex.test"


# --- contacts ----------------------------------------------------------------------------------------------------


def test_an_administrator_adds_and_changes_a_contact(people, org2, api_as):
    api = api_as(people["admin"])
    organization = people["customer"].organization
    created = api.post(
        "/api/contacts/",
        {"email": "lee@northwind.test", "organization": organization.pk, "first_name": "Lee", "last_name": "Chan"},
    )
    assert created.status_code == 201, created.content
    contact = User.objects.get(pk=created.json()["id"])
    assert contact.is_customer and not contact.has_usable_password()
    assert contact.username == "lee@northwind.test"
    path = f"/api/contacts/{contact.pk}/"
    tag = _etag(api.get(path))
    moved = api.patch(path, {"organization": org2.pk}, headers={"If-Match": f'"{tag}"'})
    stale = api.patch(path, {"phone": "1"}, headers={"If-Match": f'"{tag}"'})
    assert moved.status_code == 200, moved.content
    assert moved.json()["organization"] == org2.pk
    assert stale.status_code == 412
    # moving a contact changes which tickets they see: audited as an access change
    assert AuditEvent.objects.filter(action="role_changed", target_id=str(contact.pk)).count() == 2


def test_contact_refusals_name_the_fields_and_staff_may_not_write(people, api_as):
    admin = api_as(people["admin"])
    organization = people["customer"].organization.pk
    taken = admin.post("/api/contacts/", {"email": people["customer"].email.upper(), "organization": organization})
    role = admin.post("/api/contacts/", {"email": "x@y.test", "organization": organization, "role": "admin"})
    bad_email = admin.post("/api/contacts/", {"email": "not an address", "organization": organization})
    assert taken.status_code == 400 and set(taken.json()) == {"email"}, taken.content
    assert role.status_code == 400 and set(role.json()) == {"role"}
    assert bad_email.status_code == 400 and set(bad_email.json()) == {"email"}
    for who in ("agent", "manager"):
        response = api_as(people[who]).post("/api/contacts/", {"email": "z@y.test", "organization": organization})
        assert response.status_code == 403
    staff = admin.patch(f"/api/contacts/{people['agent'].pk}/", {"phone": "1"}, headers={"If-Match": '"0"'})
    assert staff.status_code == 404  # staff accounts are not contacts
    assert not User.objects.filter(email__in=["x@y.test", "z@y.test"]).exists()


# --- vendor cases ------------------------------------------------------------------------------------------------


def test_staff_record_the_vendors_answer_and_close_the_case(people, product, api_as):
    api = api_as(people["agent"])
    case = product["vendor_cases"]["visible"]
    VendorCase.objects.filter(pk=case.pk).update(reminded_at=timezone.now())
    path = f"/api/vendor-cases/{case.pk}/"
    tag = _etag(api.get(path))
    later = timezone.now() + timedelta(days=3)
    events_before = TicketEvent.objects.filter(ticket=case.ticket).count()
    # when the agent records the vendor's reference and the next follow-up
    saved = api.patch(
        path, {"external_reference": "VND-991", "follow_up_at": later.isoformat()}, headers={"If-Match": f'"{tag}"'}
    )
    # then the case has them, the reminder is re-armed, and the ticket's timeline says so (internally)
    assert saved.status_code == 200, saved.content
    case.refresh_from_db()
    assert (case.external_reference, case.reminded_at) == ("VND-991", None)
    event = TicketEvent.objects.filter(ticket=case.ticket).order_by("-pk").first()
    assert TicketEvent.objects.filter(ticket=case.ticket).count() == events_before + 1
    assert event is not None and not event.is_public and "VND-991" in event.body
    # and a stale tag, a past date and, once closed, any change are refused
    stale = api.patch(path, {"contact": "Ops desk"}, headers={"If-Match": f'"{tag}"'})
    assert stale.status_code == 412
    tag = _etag(saved)
    past = api.patch(path, {"follow_up_at": "2020-01-01T00:00:00Z"}, headers={"If-Match": f'"{tag}"'})
    assert past.status_code == 400 and set(past.json()) == {"follow_up_at"}
    closed = api.patch(path, {"close": True}, headers={"If-Match": f'"{tag}"'})
    assert closed.status_code == 200 and closed.json()["closed_at"]
    again = api.patch(path, {"contact": "Ops desk"}, headers={"If-Match": f'"{_etag(closed)}"'})
    assert again.status_code == 409


def test_a_restricted_vendor_case_is_not_found_for_other_teams_and_fields_are_named(people, product, api_as):
    case = product["vendor_cases"]["restricted"]
    api = api_as(people["agent"])
    hidden = api.patch(f"/api/vendor-cases/{case.pk}/", {"contact": "x"}, headers={"If-Match": '"0123456789abcdef"'})
    assert hidden.status_code == 404
    assert case.ticket.reference not in hidden.content.decode()
    visible = product["vendor_cases"]["visible"]
    renamed = api.patch(f"/api/vendor-cases/{visible.pk}/", {"vendor_name": "Other"}, headers={"If-Match": '"0"'})
    assert renamed.status_code == 400 and set(renamed.json()) == {"vendor_name"}
    customer = api_as(people["customer"]).patch(f"/api/vendor-cases/{visible.pk}/", {"contact": "x"})
    assert customer.status_code == 403


def test_a_customer_reads_their_organisation_without_its_staff_tag(people, api_as):
    # the content tag covers staff-only fields (domain, time zone, phone): staff get it, a customer does not
    path = f"/api/organizations/{people['customer'].organization_id}/"
    assert "ETag" not in api_as(people["customer"]).get(path)
    assert len(_etag(api_as(people["agent"]).get(path))) == 16
