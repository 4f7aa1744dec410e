"""Role × endpoint × verb: every endpoint, every role, the expected status; and lists agree with details."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test.client import MULTIPART_CONTENT

from helpdesk.api.services import api_token_create
from helpdesk.models import Ticket

ROLES = ["customer", "customer2", "agent", "specialist", "manager", "admin", "anonymous"]


def _ticket_patch(api, tickets, people):
    ticket = Ticket.objects.get(pk=tickets["mine"].pk)
    return api.patch(f"/api/tickets/{ticket.reference}/", {"priority": "high"}, version=ticket.version)


def _ticket_create(api, tickets, people):
    return api.post(
        "/api/tickets/",
        {"subject": "Refund", "description": "Please refund.", "customer": people["customer"].pk}
        if api.role not in ("customer", "customer2")
        else {"subject": "Refund", "description": "Please refund."},
    )


# (name, call, {role: expected status})
MATRIX = [
    ("GET tickets", lambda api, t, p: api.get("/api/tickets/"), dict.fromkeys(ROLES[:-1], 200) | {"anonymous": 401}),
    ("POST tickets", _ticket_create, dict.fromkeys(ROLES[:-1], 201) | {"anonymous": 401}),
    (
        "GET ticket",
        lambda api, t, p: api.get(f"/api/tickets/{t['mine'].reference}/"),
        dict.fromkeys(ROLES, 200) | {"customer2": 404, "anonymous": 401},
    ),
    (
        "GET restricted ticket",
        lambda api, t, p: api.get(f"/api/tickets/{t['restricted'].reference}/"),
        {
            "customer": 200,
            "customer2": 404,
            "agent": 404,
            "specialist": 404,
            "manager": 200,
            "admin": 200,
            "anonymous": 401,
        },
    ),
    (
        "PATCH ticket",
        _ticket_patch,
        dict.fromkeys(ROLES, 200) | {"customer": 400, "customer2": 404, "anonymous": 401},
    ),
    (
        "GET events",
        lambda api, t, p: api.get(f"/api/tickets/{t['mine'].reference}/events/"),
        dict.fromkeys(ROLES, 200) | {"customer2": 404, "anonymous": 401},
    ),
    (
        "POST replies",
        lambda api, t, p: api.post(f"/api/tickets/{t['mine'].reference}/replies/", {"body": "Any news?"}),
        dict.fromkeys(ROLES, 201) | {"customer2": 404, "anonymous": 401},
    ),
    (
        "POST notes",
        lambda api, t, p: api.post(f"/api/tickets/{t['mine'].reference}/notes/", {"body": "Checked the ledger."}),
        dict.fromkeys(ROLES, 201) | {"customer": 403, "customer2": 403, "anonymous": 401},
    ),
    (
        "GET teams",
        lambda api, t, p: api.get("/api/teams/"),
        dict.fromkeys(ROLES, 200) | {"customer": 403, "customer2": 403, "anonymous": 401},
    ),
    (
        "POST teams",
        lambda api, t, p: api.post("/api/teams/", {"name": "Night shift", "slug": "night", "tier": 1}),
        dict.fromkeys(ROLES, 403) | {"admin": 201, "anonymous": 401},
    ),
    (
        "PATCH team",
        lambda api, t, p: api.patch(f"/api/teams/{t['mine'].team_id}/", {"email": "front@example.test"}),
        dict.fromkeys(ROLES, 403) | {"admin": 200, "anonymous": 401},
    ),
    (
        "DELETE team",
        lambda api, t, p: api.delete(f"/api/teams/{t['restricted'].team_id}/"),
        dict.fromkeys(ROLES, 403) | {"admin": 204, "anonymous": 401},
    ),
    ("GET me", lambda api, t, p: api.get("/api/me/"), dict.fromkeys(ROLES, 200) | {"anonymous": 401}),
    (
        "PATCH me",
        lambda api, t, p: api.patch("/api/me/", {"phone": "+44 20 7946 0000"}),
        dict.fromkeys(ROLES, 200) | {"anonymous": 401},
    ),
    ("GET tokens", lambda api, t, p: api.get("/api/tokens/"), dict.fromkeys(ROLES, 200) | {"anonymous": 401}),
    (
        "POST tokens",
        lambda api, t, p: api.post("/api/tokens/", {"name": "CRM"}),
        dict.fromkeys(ROLES, 201) | {"anonymous": 401},
    ),
    (
        "DELETE token",
        lambda api, t, p: api.delete(f"/api/tokens/{api.spare_token_id}/"),
        dict.fromkeys(ROLES, 204) | {"anonymous": 401},
    ),
    (
        "POST login",
        lambda api, t, p: api.post("/api/auth/login/", {"username": "customer", "password": "pw-customer"}),
        dict.fromkeys(ROLES, 200),
    ),
    ("GET schema", lambda api, t, p: api.get("/api/schema/", {"format": "json"}), dict.fromkeys(ROLES, 200)),
    ("GET docs", lambda api, t, p: api.get("/api/docs/"), dict.fromkeys(ROLES, 200)),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "call", "expected"), MATRIX, ids=[row[0] for row in MATRIX])
def test_role_endpoint_verb_matrix(role, name, call, expected, people, tickets, api_as):
    # given a client signed in (with a personal token) as the role, or anonymous
    api = api_as(people[role])
    api.role = role
    api.spare_token_id = api_token_create(user=people[role], name="spare")[0].pk if people[role] else 0
    # when it calls the endpoint
    response = call(api, tickets, people)
    # then the status is the expected one
    assert response.status_code == expected[role], (name, role, response.content[:300])


def test_anonymous_gets_401_with_a_bearer_challenge(api_as, tickets):
    response = api_as(None).get("/api/tickets/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def _all_references(api) -> set[str]:
    references, page = set(), 1
    while True:
        response = api.get("/api/tickets/", {"page": page, "page_size": 2})
        assert response.status_code == 200
        body = response.json()
        references |= {row["reference"] for row in body["results"]}
        if not body["next"]:
            return references
        page += 1


@pytest.mark.parametrize("role", [*ROLES[:-1], "compliance"])
def test_list_equals_the_details_that_return_200(role, people, tickets, make_ticket, api_as):
    # given more tickets, some visible to this role and some not
    make_ticket(people["customer"], subject="Second Northwind ticket")
    make_ticket(people["customer2"], subject="Second Bluebird ticket")
    api = api_as(people[role])
    # when the role pages through the list and asks for every ticket's detail
    listed = _all_references(api)
    readable = {
        reference
        for reference in Ticket.objects.values_list("reference", flat=True)
        if api.get(f"/api/tickets/{reference}/").status_code == 200
    }
    # then both are the same set, and it is not trivially empty
    assert listed == readable
    assert listed


# --- the other apps' endpoints (escalations, approvals, SLA, knowledge base, surveys, metrics) ---------------------

STAFF = ["agent", "specialist", "manager", "admin"]
CUSTOMERS = ["customer", "customer2"]


def _staff(staff_status, *, customers=403, anonymous=401, **overrides):
    """Customers refused (403), anonymous 401, every staff role ``staff_status`` unless overridden."""
    return (
        dict.fromkeys(CUSTOMERS, customers) | dict.fromkeys(STAFF, staff_status) | {"anonymous": anonymous} | overrides
    )


DOSSIER = {
    "escalation_type": "technical",
    "mode": "functional",
    "reason": "Needs the platform team",
    "dossier_problem": "Invoice page errors",
    "dossier_tried": "Reloaded, second browser",
    "dossier_desired_outcome": "A working invoice page",
    "dossier_mood": "calm",
}
NEW_POLICY = {
    "name": "Basic urgent",
    "plan": "basic",
    "priority": "urgent",
    "calendar": "Always",
    "first_response_minutes": 30,
    "resolution_minutes": 240,
}
SURVEY_ANSWERS = {"csat": 5, "fixed": True, "explain_count": 1}

# (name, call(api, tickets, world), {role: expected status})
APP_MATRIX = [
    ("GET escalations", lambda api, t, w: api.get("/api/escalations/"), _staff(200)),
    (
        "GET escalation",
        lambda api, t, w: api.get(f"/api/escalations/{w['escalation'].pk}/"),
        _staff(200),
    ),
    (
        "GET restricted escalation",
        lambda api, t, w: api.get(f"/api/escalations/{w['restricted_escalation'].pk}/"),
        _staff(200, agent=404, specialist=404),
    ),
    (
        "POST escalation accept",
        lambda api, t, w: api.post(f"/api/escalations/{w['escalation'].pk}/accept/"),
        _staff(200, agent=403),
    ),
    (
        "POST escalation return",
        lambda api, t, w: api.post(f"/api/escalations/{w['escalation'].pk}/return/", {"guidance": "See KB-12."}),
        _staff(200, agent=403),
    ),
    (
        "POST escalation resolve (still open)",
        lambda api, t, w: api.post(f"/api/escalations/{w['escalation'].pk}/resolve/", {"summary": "Fixed."}),
        _staff(400, agent=403),
    ),
    (
        "POST escalation escalate-further",
        lambda api, t, w: api.post(
            f"/api/escalations/{w['escalation'].pk}/escalate-further/", {"reason": "Needs authority"}
        ),
        _staff(201, agent=403),
    ),
    (
        "POST ticket escalate",
        lambda api, t, w: api.post(f"/api/tickets/{t['mine'].reference}/escalate/", DOSSIER),
        _staff(201),
    ),
    (
        "GET ticket sla",
        lambda api, t, w: api.get(f"/api/tickets/{t['mine'].reference}/sla/"),
        _staff(200, customer=200, customer2=404),
    ),
    (
        "POST ticket request-manager (too early)",
        lambda api, t, w: api.post(f"/api/tickets/{t['mine'].reference}/request-manager/", {"reason": "Slow."}),
        _staff(403, customer=400, customer2=404),
    ),
    ("GET approvals", lambda api, t, w: api.get("/api/approvals/"), _staff(200)),
    ("GET approval", lambda api, t, w: api.get(f"/api/approvals/{w['compensation'].pk}/"), _staff(200)),
    (
        "POST approval approve",
        lambda api, t, w: api.post(f"/api/approvals/{w['compensation'].pk}/approve/", {}),
        # the agent asked for it, and the specialist's £250 limit does not cover £400
        _staff(403, manager=200, admin=200),
    ),
    (
        "POST approval reject",
        lambda api, t, w: api.post(f"/api/approvals/{w['compensation'].pk}/reject/", {"note": "Covered already."}),
        _staff(200, agent=403),
    ),
    ("GET sla-policies", lambda api, t, w: api.get("/api/sla-policies/"), _staff(200)),
    (
        "GET sla-policy",
        lambda api, t, w: api.get(f"/api/sla-policies/{w['sla_policy'].pk}/"),
        _staff(200),
    ),
    ("POST sla-policies", lambda api, t, w: api.post("/api/sla-policies/", NEW_POLICY), _staff(403, admin=201)),
    (
        "PATCH sla-policy",
        lambda api, t, w: api.patch(f"/api/sla-policies/{w['sla_policy'].pk}/", {"warn_percent": 75}),
        _staff(403, admin=200),
    ),
    (
        "DELETE sla-policy",
        lambda api, t, w: api.delete(f"/api/sla-policies/{w['sla_policy'].pk}/"),
        _staff(403, admin=204),
    ),
    ("GET kb articles", lambda api, t, w: api.get("/api/kb/articles/"), _staff(200, customers=200)),
    (
        "GET kb articles search",
        lambda api, t, w: api.get("/api/kb/articles/", {"search": "password"}),
        _staff(200, customers=200),
    ),
    (
        "GET kb public article",
        lambda api, t, w: api.get(f"/api/kb/articles/{w['public_article'].pk}/"),
        _staff(200, customers=200),
    ),
    (
        "GET kb internal article",
        lambda api, t, w: api.get(f"/api/kb/articles/{w['internal_article'].pk}/"),
        _staff(200, customers=404),
    ),
    (
        "GET kb draft article",
        lambda api, t, w: api.get(f"/api/kb/articles/{w['draft_article'].pk}/"),
        _staff(200, customers=404, agent=404, specialist=404),
    ),
    (
        "GET survey (public)",
        lambda api, t, w: api.get(f"/api/surveys/{w['survey_token']}/"),
        _staff(200, customers=200, anonymous=200),
    ),
    (
        "POST survey (public)",
        lambda api, t, w: api.post(f"/api/surveys/{w['survey_token']}/", SURVEY_ANSWERS),
        _staff(201, customers=201, anonymous=201),
    ),
    (
        "GET metrics",
        lambda api, t, w: api.get("/api/metrics/"),
        _staff(200, agent=403, specialist=403),
    ),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "call", "expected"), APP_MATRIX, ids=[row[0] for row in APP_MATRIX])
def test_role_endpoint_verb_matrix_of_the_other_apps(role, name, call, expected, people, tickets, world, api_as):
    # given a client signed in (with a personal token) as the role, or anonymous, and every app's data
    api = api_as(people[role])
    # when it calls the endpoint
    response = call(api, tickets, world)
    # then the status is the expected one
    assert response.status_code == expected[role], (name, role, response.content[:300])


def _all_ids(api, path: str) -> set[int]:
    ids, page = set(), 1
    while True:
        response = api.get(path, {"page": page, "page_size": 1})
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        ids |= {row["id"] for row in body["results"]}
        if not body["next"]:
            return ids
        page += 1


def _all_pks(model_path: str) -> list[int]:
    from django.apps import apps

    return list(apps.get_model(model_path).objects.values_list("pk", flat=True))


OTHER_LISTS = [
    ("/api/escalations/", "escalations.Escalation", [*STAFF, "compliance"]),
    ("/api/approvals/", "escalations.CompensationRequest", [*STAFF, "compliance"]),
    ("/api/sla-policies/", "escalations.SLAPolicy", STAFF),
    ("/api/kb/articles/", "knowledge_base.Article", [*ROLES[:-1], "compliance"]),
]


@pytest.mark.parametrize(
    ("path", "model", "role"),
    [(path, model, role) for path, model, roles in OTHER_LISTS for role in roles],
)
def test_other_lists_equal_the_details_that_return_200(path, model, role, people, world, api_as):
    # given every app's data, some of it hidden from this role (restricted tickets, internal articles, drafts)
    api = api_as(people[role])
    # when the role pages through the list and asks for every row's detail
    listed = _all_ids(api, path)
    readable = {pk for pk in _all_pks(model) if api.get(f"{path}{pk}/").status_code == 200}
    # then both are the same set, and it is not trivially empty
    assert listed == readable
    assert listed


# --- the whole product: calls, callbacks, attachments, notifications, organisations, contacts, vendor cases, KB
# writes, RCAs, corrective actions, follow-ups and survey results. One data set (``product``) for every row and role:
# each call runs in a savepoint that is rolled back, so a write by one role never changes what the next role meets,
# and the data is built once instead of once per row (the suite's time budget).

SIGNED_IN = [*CUSTOMERS, *STAFF]


def _everyone(signed_in_status, *, anonymous=401, **overrides):
    return dict.fromkeys(SIGNED_IN, signed_in_status) | {"anonymous": anonymous} | overrides


HIDDEN_FROM_TEAMS = {"agent": 404, "specialist": 404}  # a restricted ticket's rows: its team, managers and admins
CALL = {"direction": "outbound", "number": "+44 20 7946 0001", "summary": "Chased the refund.", "outcome": "resolved"}


def _window():
    from datetime import timedelta

    from django.utils import timezone

    start = timezone.now() + timedelta(hours=2)
    return {"window_start": start.isoformat(), "window_end": (start + timedelta(hours=1)).isoformat()}


def _upload(api, reference, **fields):
    from tests.helpdesk.api.conftest import text_file

    return api.post(
        f"/api/tickets/{reference}/attachments/",
        {"file": text_file(), "body": "The file you asked for.", **fields},
        content_type=MULTIPART_CONTENT,
    )


def _rca_body(ticket, owner):
    return {
        "ticket": ticket.reference,
        "cause_category": "knowledge_gap",
        "preventable": True,
        "five_whys": "The article was missing.",
        "actions": [{"description": "Write the article", "owner": owner.pk, "due_date": "2030-01-01"}],
    }


def _saved_view(p, name):
    return f"/api/saved-views/{p['saved_views'][name].pk}/"


# Saved views: staff only; a personal view is its owner's, a team view its members' (the agent leads Frontline;
# the manager is in no team of these), kept by the team's leads and managers (``helpdesk.saved_views``).
SAVED_VIEW_ROWS = [
    ("GET saved-views", lambda api, t, w, p, u: api.get("/api/saved-views/"), _staff(200)),
    (
        "POST saved-views (personal)",
        lambda api, t, w, p, u: api.post("/api/saved-views/", {"name": "Urgent", "query": "priority=urgent"}),
        _staff(201),
    ),
    (
        "POST saved-views (for Frontline)",
        lambda api, t, w, p, u: api.post("/api/saved-views/", {"name": "Urgent", "team": "frontline"}),
        _staff(403, agent=201, manager=201, admin=201),
    ),
    (
        "POST saved-views (bad filter)",
        lambda api, t, w, p, u: api.post("/api/saved-views/", {"name": "Bad", "query": "priority=volcanic"}),
        _staff(400),
    ),
    (
        "GET saved-view (the agent's)",
        lambda api, t, w, p, u: api.get(_saved_view(p, "personal")),
        _staff(404, agent=200),
    ),
    ("GET saved-view (Frontline's)", lambda api, t, w, p, u: api.get(_saved_view(p, "team")), _staff(404, agent=200)),
    (
        "PATCH saved-view (Frontline's)",
        lambda api, t, w, p, u: api.patch(_saved_view(p, "team"), {"name": "Frontline: all"}, version=1),
        _staff(404, agent=200),
    ),
    (
        "PATCH saved-view without If-Match",
        lambda api, t, w, p, u: api.patch(_saved_view(p, "team"), {"name": "Frontline: all"}),
        _staff(404, agent=428),
    ),
    (
        "PATCH saved-view with a stale If-Match",
        lambda api, t, w, p, u: api.patch(_saved_view(p, "team"), {"name": "Frontline: all"}, version=9),
        _staff(404, agent=412),
    ),
    (
        "DELETE saved-view (the agent's)",
        lambda api, t, w, p, u: api.delete(_saved_view(p, "personal")),
        _staff(404, agent=204),
    ),
    (
        "GET saved-view count (the manager's)",
        lambda api, t, w, p, u: api.get(_saved_view(p, "manager") + "count/"),
        _staff(404, manager=200),
    ),
    (
        "GET saved-view tickets (Frontline's)",
        lambda api, t, w, p, u: api.get(_saved_view(p, "team") + "tickets/"),
        _staff(404, agent=200),
    ),
]


def _tagged_patch(api, path, body, *, tag=None):
    """PATCH with If-Match set to the record's current ETag (read as the admin would, so every role sends a fresh
    one), or ``tag`` when given (a stale one)."""
    from escalations.models import VendorCase
    from escalations.services import vendor_case_etag
    from helpdesk.directory import CONTACT_FIELDS, ORGANIZATION_FIELDS, record_etag
    from helpdesk.models import Organization, User

    if tag is None:
        kind, pk = path.strip("/").split("/")[-2:]
        if kind == "organizations":
            tag = record_etag(Organization.objects.get(pk=pk), ORGANIZATION_FIELDS)
        elif kind == "contacts":
            tag = record_etag(User.objects.get(pk=pk), CONTACT_FIELDS)
        else:
            tag = vendor_case_etag(VendorCase.objects.get(pk=pk))
    return api.patch(path, body, headers={"If-Match": f'"{tag}"'})


def _later():
    from datetime import timedelta

    from django.utils import timezone

    return (timezone.now() + timedelta(days=2)).isoformat()


# Organisations and contacts: administrators write (``helpdesk.directory.require_admin``); vendor cases: staff who
# see the ticket (``escalations.services.vendor_case_update``).
DIRECTORY_ROWS = [
    (
        "POST organizations",
        lambda api, t, w, p, u: api.post("/api/organizations/", {"name": "Globex", "plan": "pro"}),
        _staff(403, admin=201),
    ),
    (
        "PATCH organization",
        lambda api, t, w, p, u: _tagged_patch(
            api, f"/api/organizations/{u['customer'].organization_id}/", {"phone": "+44 20 7946 0999"}
        ),
        _staff(403, admin=200),
    ),
    (
        "PATCH organization with a stale If-Match",
        lambda api, t, w, p, u: _tagged_patch(
            api, f"/api/organizations/{u['customer'].organization_id}/", {"phone": "1"}, tag="0123456789abcdef"
        ),
        _staff(403, admin=412),
    ),
    (
        "POST contacts",
        lambda api, t, w, p, u: api.post(
            "/api/contacts/", {"email": "new@northwind.test", "organization": u["customer"].organization_id}
        ),
        _staff(403, admin=201),
    ),
    (
        "PATCH contact",
        lambda api, t, w, p, u: _tagged_patch(api, f"/api/contacts/{u['customer'].pk}/", {"phone": "+44 1"}),
        _staff(403, admin=200),
    ),
    (
        "PATCH vendor-case",
        lambda api, t, w, p, u: _tagged_patch(
            api, f"/api/vendor-cases/{p['vendor_cases']['visible'].pk}/", {"follow_up_at": _later()}
        ),
        _staff(200),
    ),
    (
        "PATCH restricted vendor-case",
        lambda api, t, w, p, u: _tagged_patch(
            api, f"/api/vendor-cases/{p['vendor_cases']['restricted'].pk}/", {"external_reference": "V-1"}
        ),
        _staff(200, **HIDDEN_FROM_TEAMS),
    ),
]

# (name, call(api, tickets, world, product, people), {role: expected status})
PRODUCT_MATRIX = [
    *SAVED_VIEW_ROWS,
    *DIRECTORY_ROWS,
    ("GET calls", lambda api, t, w, p, u: api.get("/api/calls/"), _staff(200)),
    ("GET call", lambda api, t, w, p, u: api.get(f"/api/calls/{p['calls']['visible'].pk}/"), _staff(200)),
    (
        "GET restricted call",
        lambda api, t, w, p, u: api.get(f"/api/calls/{p['calls']['restricted'].pk}/"),
        _staff(200, **HIDDEN_FROM_TEAMS),
    ),
    (
        "POST calls",
        lambda api, t, w, p, u: api.post("/api/calls/", {"ticket": t["mine"].reference, **CALL}),
        _staff(201),
    ),
    (
        "POST calls on a restricted ticket",
        lambda api, t, w, p, u: api.post("/api/calls/", {"ticket": t["restricted"].reference, **CALL}),
        _staff(201, agent=400, specialist=400),
    ),
    (
        "POST calls opening a phone ticket",
        lambda api, t, w, p, u: api.post(
            "/api/calls/",
            {
                "customer": u["customer2"].pk,
                "direction": "inbound",
                **{k: v for k, v in CALL.items() if k != "direction"},
            },
        ),
        _staff(201),
    ),
    ("GET callbacks", lambda api, t, w, p, u: api.get("/api/callbacks/"), _staff(200)),
    ("GET callback", lambda api, t, w, p, u: api.get(f"/api/callbacks/{p['callbacks']['visible'].pk}/"), _staff(200)),
    (
        "GET restricted callback",
        lambda api, t, w, p, u: api.get(f"/api/callbacks/{p['callbacks']['restricted'].pk}/"),
        _staff(200, **HIDDEN_FROM_TEAMS),
    ),
    (
        "POST callbacks",
        lambda api, t, w, p, u: api.post(
            "/api/callbacks/", {"ticket": t["mine"].reference, "reason": "Confirm the refund", **_window()}
        ),
        _staff(201),
    ),
    (
        "POST callback complete",
        lambda api, t, w, p, u: api.post(
            f"/api/callbacks/{p['callbacks']['visible'].pk}/complete/", {"outcome": "resolved", "summary": "Done."}
        ),
        _staff(201),
    ),
    (
        "POST restricted callback complete",
        lambda api, t, w, p, u: api.post(
            f"/api/callbacks/{p['callbacks']['restricted'].pk}/complete/", {"outcome": "resolved", "summary": "Done."}
        ),
        _staff(201, **HIDDEN_FROM_TEAMS),
    ),
    ("GET attachments", lambda api, t, w, p, u: api.get("/api/attachments/"), _everyone(200)),
    (
        "GET public attachment",
        lambda api, t, w, p, u: api.get(f"/api/attachments/{p['attachments']['public'].pk}/"),
        _everyone(200, customer2=404),
    ),
    (
        "GET internal attachment",
        lambda api, t, w, p, u: api.get(f"/api/attachments/{p['attachments']['internal'].pk}/"),
        _staff(200, customers=404),
    ),
    (
        "GET restricted attachment",
        lambda api, t, w, p, u: api.get(f"/api/attachments/{p['attachments']['restricted'].pk}/"),
        _staff(200, customers=404, customer=200, **HIDDEN_FROM_TEAMS),
    ),
    (
        "GET public attachment download",
        lambda api, t, w, p, u: api.get(f"/api/attachments/{p['attachments']['public'].pk}/download/"),
        _everyone(200, customer2=404),
    ),
    (
        "GET internal attachment download",
        lambda api, t, w, p, u: api.get(f"/api/attachments/{p['attachments']['internal'].pk}/download/"),
        _staff(200, customers=404),
    ),
    (
        "GET restricted attachment download",
        lambda api, t, w, p, u: api.get(f"/api/attachments/{p['attachments']['restricted'].pk}/download/"),
        _staff(200, customers=404, customer=200, **HIDDEN_FROM_TEAMS),
    ),
    (
        "POST ticket attachments",
        lambda api, t, w, p, u: _upload(api, t["mine"].reference),
        _everyone(201, customer2=404),
    ),
    (
        "POST ticket attachments internal",
        lambda api, t, w, p, u: _upload(api, t["mine"].reference, internal="true"),
        _staff(201, customer=400, customer2=404),
    ),
    (
        "POST restricted ticket attachments",
        lambda api, t, w, p, u: _upload(api, t["restricted"].reference),
        _staff(201, customers=404, customer=201, **HIDDEN_FROM_TEAMS),
    ),
    ("GET notifications", lambda api, t, w, p, u: api.get("/api/notifications/"), _everyone(200)),
    (
        "GET notification (the customer's)",
        lambda api, t, w, p, u: api.get(f"/api/notifications/{p['customer_notification'].pk}/"),
        _everyone(404, customer=200),
    ),
    (
        "POST notification read (the customer's)",
        lambda api, t, w, p, u: api.post(f"/api/notifications/{p['customer_notification'].pk}/read/"),
        _everyone(404, customer=200),
    ),
    (
        "POST notifications mark-read",
        lambda api, t, w, p, u: api.post("/api/notifications/mark-read/", {}),
        _everyone(200),
    ),
    ("GET organizations", lambda api, t, w, p, u: api.get("/api/organizations/"), _everyone(200)),
    (
        "GET organization (Northwind)",
        lambda api, t, w, p, u: api.get(f"/api/organizations/{u['customer'].organization_id}/"),
        _everyone(200, customer2=404),
    ),
    ("GET contacts", lambda api, t, w, p, u: api.get("/api/contacts/"), _staff(200)),
    ("GET contact", lambda api, t, w, p, u: api.get(f"/api/contacts/{u['customer'].pk}/"), _staff(200)),
    ("GET vendor-cases", lambda api, t, w, p, u: api.get("/api/vendor-cases/"), _staff(200)),
    (
        "GET vendor-case",
        lambda api, t, w, p, u: api.get(f"/api/vendor-cases/{p['vendor_cases']['visible'].pk}/"),
        _staff(200),
    ),
    (
        "GET restricted vendor-case",
        lambda api, t, w, p, u: api.get(f"/api/vendor-cases/{p['vendor_cases']['restricted'].pk}/"),
        _staff(200, **HIDDEN_FROM_TEAMS),
    ),
    ("GET rcas", lambda api, t, w, p, u: api.get("/api/rcas/"), _staff(200)),
    ("GET rca", lambda api, t, w, p, u: api.get(f"/api/rcas/{p['rcas']['visible'].pk}/"), _staff(200)),
    (
        "GET restricted rca",
        lambda api, t, w, p, u: api.get(f"/api/rcas/{p['rcas']['restricted'].pk}/"),
        _staff(200, **HIDDEN_FROM_TEAMS),
    ),
    ("POST rcas", lambda api, t, w, p, u: api.post("/api/rcas/", _rca_body(p["no_rca"], u["agent"])), _staff(201)),
    (
        "POST rca review",
        lambda api, t, w, p, u: api.post(
            f"/api/rcas/{p['rcas']['visible'].pk}/review/", {"cause_category": "training_gap"}
        ),
        _staff(200, agent=403, specialist=403),
    ),
    ("GET corrective-actions", lambda api, t, w, p, u: api.get("/api/corrective-actions/"), _staff(200)),
    (
        "GET restricted corrective-action",
        lambda api, t, w, p, u: api.get(f"/api/corrective-actions/{p['actions']['restricted'].pk}/"),
        _staff(200, **HIDDEN_FROM_TEAMS),
    ),
    (
        "POST corrective-action complete (the agent's)",
        lambda api, t, w, p, u: api.post(f"/api/corrective-actions/{p['actions']['visible'].pk}/complete/"),
        _staff(200, specialist=403),
    ),
    ("GET follow-ups", lambda api, t, w, p, u: api.get("/api/follow-ups/"), _staff(200)),
    (
        "GET restricted follow-up",
        lambda api, t, w, p, u: api.get(f"/api/follow-ups/{p['follow_ups']['restricted'].pk}/"),
        _staff(200, **HIDDEN_FROM_TEAMS),
    ),
    (
        "POST follow-up complete (owner: the frontline lead)",
        lambda api, t, w, p, u: api.post(
            f"/api/follow-ups/{p['follow_ups']['visible'].pk}/complete/", {"outcome": "contacted"}
        ),
        _staff(200, specialist=403),
    ),
    ("GET survey-results", lambda api, t, w, p, u: api.get("/api/survey-results/"), _staff(200)),
    (
        "GET restricted survey-result",
        lambda api, t, w, p, u: api.get(f"/api/survey-results/{p['surveys']['restricted'].pk}/"),
        _staff(200, **HIDDEN_FROM_TEAMS),
    ),
    (
        "POST kb articles",
        lambda api, t, w, p, u: api.post("/api/kb/articles/", {"title": "Refunds", "body": "Ask billing."}),
        _staff(201),
    ),
    (
        "PATCH kb article (the manager's)",
        lambda api, t, w, p, u: api.patch(
            f"/api/kb/articles/{w['public_article'].pk}/", {"title": "Reset a password"}, version=1
        ),
        _staff(200, agent=403, specialist=403),
    ),
    (
        "PATCH kb article without If-Match",
        lambda api, t, w, p, u: api.patch(f"/api/kb/articles/{w['public_article'].pk}/", {"title": "Reset"}),
        _staff(428),
    ),
    (
        "PATCH kb article with a stale If-Match",
        lambda api, t, w, p, u: api.patch(f"/api/kb/articles/{w['public_article'].pk}/", {"title": "Reset"}, version=7),
        _staff(412, agent=403, specialist=403),
    ),
    (
        "POST kb draft to review",
        lambda api, t, w, p, u: api.post(f"/api/kb/articles/{w['draft_article'].pk}/status/", {"status": "in_review"}),
        _staff(200, agent=404, specialist=404),
    ),
    (
        "GET kb article revisions",
        lambda api, t, w, p, u: api.get(f"/api/kb/articles/{w['public_article'].pk}/revisions/"),
        _staff(200),
    ),
]


def test_role_endpoint_verb_matrix_of_the_whole_product(people, tickets, world, product, api_as):
    # given one client per role (a personal token; none for anonymous) and one data set
    clients = {role: api_as(people[role]) for role in ROLES}
    got, expected, bodies = {}, {}, {}
    # when every role calls every endpoint, each call in a savepoint that is rolled back afterwards
    for name, call, statuses in PRODUCT_MATRIX:
        for role in ROLES:
            with transaction.atomic():
                response = call(clients[role], tickets, world, product, people)
                transaction.set_rollback(True)
            got[(name, role)], expected[(name, role)] = response.status_code, statuses[role]
            bodies[(name, role)] = b"" if response.streaming else response.content[:200]
    # then every status is the expected one
    wrong = {key: (status, bodies[key]) for key, status in got.items() if status != expected[key]}
    assert not wrong, wrong
