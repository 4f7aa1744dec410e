"""The OpenAPI schema validates and carries examples; the docs page lists every operation without third-party JS."""

from __future__ import annotations

import re

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema


def test_schema_validates_against_the_openapi_3_specification(db):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)  # raises on any violation
    assert schema["openapi"].startswith("3.")


def test_schema_endpoint_serves_operations_examples_and_security(client, db):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    operations = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    assert {
        ("GET", "/api/tickets/"),
        ("POST", "/api/tickets/"),
        ("GET", "/api/tickets/{reference}/"),
        ("PATCH", "/api/tickets/{reference}/"),
        ("GET", "/api/tickets/{reference}/events/"),
        ("POST", "/api/tickets/{reference}/replies/"),
        ("POST", "/api/tickets/{reference}/notes/"),
        ("GET", "/api/teams/"),
        ("POST", "/api/auth/login/"),
        ("POST", "/api/tokens/"),
        ("DELETE", "/api/tokens/{id}/"),
        ("POST", "/api/tickets/{reference}/escalate/"),
        ("GET", "/api/tickets/{reference}/sla/"),
        ("POST", "/api/tickets/{reference}/request-manager/"),
        ("GET", "/api/escalations/"),
        ("GET", "/api/escalations/{id}/"),
        ("POST", "/api/escalations/{id}/accept/"),
        ("POST", "/api/escalations/{id}/return/"),
        ("POST", "/api/escalations/{id}/resolve/"),
        ("POST", "/api/escalations/{id}/escalate-further/"),
        ("GET", "/api/approvals/"),
        ("POST", "/api/approvals/{id}/approve/"),
        ("POST", "/api/approvals/{id}/reject/"),
        ("GET", "/api/sla-policies/"),
        ("PATCH", "/api/sla-policies/{id}/"),
        ("GET", "/api/kb/articles/"),
        ("GET", "/api/kb/articles/{id}/"),
        ("GET", "/api/surveys/{token}/"),
        ("POST", "/api/surveys/{token}/"),
        ("GET", "/api/metrics/"),
    } <= operations
    # the public survey needs no credentials; every write documents its refusals
    assert "security" not in schema["paths"]["/api/surveys/{token}/"]["post"]
    accept = schema["paths"]["/api/escalations/{id}/accept/"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404", "409", "415"} <= set(accept)
    assert "429" in schema["paths"]["/api/tickets/{reference}/request-manager/"]["post"]["responses"]
    patch = schema["paths"]["/api/tickets/{reference}/"]["patch"]
    assert {"200", "400", "412", "415", "428"} <= set(patch["responses"])
    assert any(p["name"] == "If-Match" and p["required"] for p in patch["parameters"])
    assert "examples" in patch["requestBody"]["content"]["application/json"]
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal token from your profile page: `Authorization: Bearer hd_…`.",
    }
    ticket = schema["components"]["schemas"]["StaffTicket"]
    assert "team" not in ticket["required"] and "reference" in ticket["required"]


def test_docs_page_lists_operations_server_side_without_third_party_js(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<code>PATCH /api/tickets/{reference}/</code>" in html
    assert "Change status, priority, category, team or assignee (staff)" in html
    assert "<code>POST /api/surveys/{token}/</code>" in html and "<code>GET /api/metrics/</code>" in html
    # the public survey is documented as needing no credentials
    survey = html.split("<code>POST /api/surveys/{token}/</code></h2>", 1)[1].split("</section>", 1)[0]
    assert "<dt>Authentication</dt><dd>none</dd>" in survey
    # no script or stylesheet from anywhere but our own static files (htmx comes from django-htmx, served locally)
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources and all(src.startswith("/static/") for src in sources), sources


def test_schema_generates_without_warnings_and_validates(db, tmp_path):
    from django.core.management import call_command

    # --fail-on-warn turns any drf-spectacular warning (an unresolvable type, an example it cannot place) into an error
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3.")


def test_session_reads_need_no_csrf_but_writes_do(people, tickets, client):
    # given a browser session that fetched a page (and so holds the CSRF cookie)
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(people["customer"])
    assert browser.get("/api/tickets/").status_code == 200
    browser.get("/profile/")
    token = browser.cookies["csrftoken"].value
    # when it posts with the token in X-CSRFToken, as htmx does
    response = browser.post(
        f"/api/tickets/{tickets['mine'].reference}/replies/",
        {"body": "Thanks"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    # then the write goes through
    assert response.status_code == 201


PRODUCT_OPERATIONS = {
    ("GET", "/api/incidents/"),
    ("POST", "/api/incidents/"),
    ("GET", "/api/incidents/{id}/"),
    ("POST", "/api/incidents/{id}/link/"),
    ("GET", "/api/incidents/{id}/updates/"),
    ("POST", "/api/incidents/{id}/updates/"),
    ("POST", "/api/incidents/{id}/resolve/"),
    ("GET", "/api/calls/"),
    ("POST", "/api/calls/"),
    ("GET", "/api/calls/{id}/"),
    ("GET", "/api/callbacks/"),
    ("POST", "/api/callbacks/"),
    ("GET", "/api/callbacks/{id}/"),
    ("POST", "/api/callbacks/{id}/complete/"),
    ("GET", "/api/attachments/"),
    ("GET", "/api/attachments/{id}/"),
    ("GET", "/api/attachments/{id}/download/"),
    ("POST", "/api/tickets/{reference}/attachments/"),
    ("GET", "/api/notifications/"),
    ("GET", "/api/notifications/{id}/"),
    ("POST", "/api/notifications/{id}/read/"),
    ("POST", "/api/notifications/mark-read/"),
    ("GET", "/api/organizations/"),
    ("GET", "/api/organizations/{id}/"),
    ("GET", "/api/contacts/"),
    ("GET", "/api/contacts/{id}/"),
    ("GET", "/api/vendor-cases/"),
    ("GET", "/api/vendor-cases/{id}/"),
    ("POST", "/api/kb/articles/"),
    ("PATCH", "/api/kb/articles/{id}/"),
    ("POST", "/api/kb/articles/{id}/status/"),
    ("GET", "/api/kb/articles/{id}/revisions/"),
    ("GET", "/api/rcas/"),
    ("POST", "/api/rcas/"),
    ("GET", "/api/rcas/{id}/"),
    ("POST", "/api/rcas/{id}/review/"),
    ("GET", "/api/corrective-actions/"),
    ("GET", "/api/corrective-actions/{id}/"),
    ("POST", "/api/corrective-actions/{id}/complete/"),
    ("GET", "/api/follow-ups/"),
    ("GET", "/api/follow-ups/{id}/"),
    ("POST", "/api/follow-ups/{id}/complete/"),
    ("GET", "/api/survey-results/"),
    ("GET", "/api/survey-results/{id}/"),
}


def test_the_whole_product_is_in_the_schema_and_in_docs_api_md(client, db):
    from pathlib import Path

    # given the live schema and the written API reference
    schema = client.get("/api/schema/", {"format": "json"}).json()
    docs = (Path(__file__).resolve().parents[3] / "docs" / "API.md").read_text()
    operations = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    # then every new operation is in both
    assert operations >= PRODUCT_OPERATIONS
    assert [path for _method, path in sorted(PRODUCT_OPERATIONS) if path not in docs] == []
    # and the upload is the one multipart body, the article PATCH a precondition like the ticket's
    upload = schema["paths"]["/api/tickets/{reference}/attachments/"]["post"]
    assert list(upload["requestBody"]["content"]) == ["multipart/form-data"]
    patch = schema["paths"]["/api/kb/articles/{id}/"]["patch"]
    assert {"200", "400", "403", "404", "412", "415", "428"} <= set(patch["responses"])
    assert any(p["name"] == "If-Match" and p["required"] for p in patch["parameters"])
    # and customers' reduced shapes are documented as such
    assert "Staff only." in schema["components"]["schemas"]["StaffAttachment"]["properties"]["is_public"]["description"]
