"""The whole product in the API: lists agree with details and never show a restricted ticket, list queries do not
grow with the rows, and the behaviour of the new resources (downloads, uploads, article revisions with If-Match,
notifications, strict parameters and fields)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.client import MULTIPART_CONTENT
from django.test.utils import CaptureQueriesContext

from helpdesk.models import Attachment, Ticket
from helpdesk.selectors import ticket_is_visible_to
from tests.helpdesk.api.conftest import text_file

# path -> model whose rows the list serves; staff-only lists answer 403 to customers
PRODUCT_LISTS = {
    "/api/calls/": "escalations.Call",
    "/api/callbacks/": "escalations.Callback",
    "/api/vendor-cases/": "escalations.VendorCase",
    "/api/rcas/": "feedback.RootCauseAnalysis",
    "/api/corrective-actions/": "feedback.CorrectiveAction",
    "/api/follow-ups/": "feedback.FollowUpTask",
    "/api/survey-results/": "feedback.Survey",
    "/api/contacts/": "helpdesk.User",
    "/api/attachments/": "helpdesk.Attachment",
    "/api/notifications/": "helpdesk.Notification",
    "/api/organizations/": "helpdesk.Organization",
}
# Email and webhook rows of the outbox are never anyone's in-app list: asking for each of them proves nothing more.
CANDIDATES = {"/api/notifications/": {"channel": "in_app"}}
FOR_CUSTOMERS = {"/api/attachments/", "/api/notifications/", "/api/organizations/"}


def _ids(api, path: str) -> tuple[set[int], str]:
    ids, page, text = set(), 1, ""
    while True:
        response = api.get(path, {"page": page, "page_size": 2})
        assert response.status_code == 200, (path, response.content[:300])
        text += response.content.decode()
        body = response.json()
        ids |= {row["id"] for row in body["results"]}
        if not body["next"]:
            return ids, text
        page += 1


def test_product_lists_equal_the_details_and_hide_restricted_tickets(people, tickets, product, api_as):
    from django.apps import apps

    # given the product's rows, one of each kind on a restricted ticket (read only: one data set for every role)
    # (the other roles see as one of these does: customer2 as customer, specialist as agent, admin as manager)
    for role in ["customer", "agent", "compliance", "manager"]:
        api = api_as(people[role])
        user = people[role]
        hidden = [t.reference for t in Ticket.objects.all() if not ticket_is_visible_to(user=user, ticket=t)]
        for path, model in PRODUCT_LISTS.items():
            if user.is_customer and path not in FOR_CUSTOMERS:
                # then a staff-only list refuses customers outright
                assert api.get(path).status_code == 403, (role, path)
                continue
            # when the role pages through the list and asks for every row's detail
            listed, text = _ids(api, path)
            readable = {
                pk
                for pk in apps.get_model(model).objects.filter(**CANDIDATES.get(path, {})).values_list("pk", flat=True)
                if api.get(f"{path}{pk}/").status_code == 200
            }
            # then both are the same set, and no ticket the role may not see is named in it
            assert listed == readable, (role, path)
            assert listed or path == "/api/notifications/", (role, path)
            assert not [reference for reference in hidden if reference in text], (role, path)


# (path, who reads it): the reader sees at least two rows, so a per-row query would show
QUERY_LISTS = [(path, "customer" if path == "/api/notifications/" else "manager") for path in PRODUCT_LISTS] + [
    ("/api/kb/articles/", "manager")
]


def test_list_queries_do_not_grow_with_the_rows(people, product, api_as):
    # given the product's rows and a reader for each list
    counts = {}
    for path, role in QUERY_LISTS:
        api = api_as(people[role])
        api.get(path)  # the token's first use of the minute records last_used_at
        # when the list is read one row per page, then every row in one page
        with CaptureQueriesContext(connection) as one:
            assert api.get(path, {"page_size": 1}).status_code == 200
        with CaptureQueriesContext(connection) as many:
            response = api.get(path, {"page_size": 100})
        assert len(response.json()["results"]) >= 2, path
        counts[path] = (len(one), len(many))
    # then the number of queries is the same, whatever the number of rows
    assert {path: pair for path, pair in counts.items() if pair[0] != pair[1]} == {}


@pytest.fixture
def replies_with_files(people, tickets):
    """The customer's public reply with a file and an agent's internal note with a file, on the customer's ticket."""
    from helpdesk.services import ticket_add_internal_note, ticket_reply

    mine = tickets["mine"]
    ticket_reply(ticket=mine, author=people["customer"], body="Here it is.", files=[text_file("invoice.txt")])
    ticket_add_internal_note(ticket=mine, author=people["agent"], body="Ledger.", files=[text_file("ledger.txt")])
    return {a.original_name: a for a in Attachment.objects.all()}


def test_attachment_download_is_the_file_as_a_download(people, replies_with_files, api_as):
    # given the customer's own public attachment
    attachment = replies_with_files["invoice.txt"]
    # when the customer downloads it through the API
    response = api_as(people["customer"]).get(f"/api/attachments/{attachment.pk}/download/")
    # then it is the stored bytes, as a download that is neither sniffed nor run
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"Screenshot notes: the invoice total is wrong.\n"
    assert response["Content-Disposition"] == 'attachment; filename="invoice.txt"'
    assert response["Content-Type"] == "text/plain"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_customers_never_list_internal_attachments_nor_staff_fields(people, replies_with_files, api_as):
    # given a public attachment and one on an internal note, on the customer's ticket
    # when the customer lists attachments
    rows = api_as(people["customer"]).get("/api/attachments/").json()["results"]
    # then only public ones, without who uploaded them or the public flag
    assert [row["name"] for row in rows] == ["invoice.txt"]
    assert all(
        set(row) == {"id", "ticket", "name", "content_type", "size", "created_at", "download_url"} for row in rows
    )


def test_an_upload_goes_through_the_file_rules_of_the_screens(people, tickets, api_as):
    # given a customer's ticket
    api = api_as(people["customer"])
    path = f"/api/tickets/{tickets['mine'].reference}/attachments/"
    # when a page disguised as a picture, a staff-only field and a proper file are sent
    fake = api.post(path, {"file": text_file("cat.png", b"<html>"), "body": "See"}, content_type=MULTIPART_CONTENT)
    internal = api.post(path, {"file": text_file(), "body": "See", "internal": "true"}, content_type=MULTIPART_CONTENT)
    good = api.post(path, {"file": text_file(), "body": "The invoice."}, content_type=MULTIPART_CONTENT)
    # then the first two are refused by name, and the third is a public reply carrying the file
    assert fake.status_code == 400
    assert fake.json() == {"attachments": ["The content of “cat.png” does not match its .png extension."]}
    assert internal.json() == {"internal": ["Customers cannot set this field."]}
    assert good.status_code == 201
    stored = Attachment.objects.get(pk=good.json()["id"])
    assert (stored.is_public, stored.event.kind, stored.uploaded_by) == (True, "customer_message", people["customer"])


def test_a_json_upload_is_refused_with_415(people, tickets, api_as):
    response = api_as(people["agent"]).post(f"/api/tickets/{tickets['mine'].reference}/attachments/", {"body": "x"})
    assert response.status_code == 415


def test_article_writes_carry_the_revision_as_version(people, api_as, categories):
    # given a manager's new article
    api = api_as(people["manager"])
    created = api.post("/api/kb/articles/", {"title": "Refunds", "body": "Ask billing.", "category": "billing"})
    assert created.status_code == 201
    assert created["ETag"] == '"1"'
    path = f"/api/kb/articles/{created.json()['id']}/"
    # when it is edited with the version it was read at, and again with that stale version
    edited = api.patch(path, {"body": "Ask billing, then finance.", "note": "Finance too"}, version=1)
    stale = api.patch(path, {"title": "Old"}, version=1)
    # then the first is revision 2, the second a 412 that names the current revision
    assert edited.status_code == 200
    assert (edited["ETag"], edited.json()["revision"], edited.json()["body"]) == (
        '"2"',
        2,
        "Ask billing, then finance.",
    )
    assert stale.status_code == 412
    assert stale.json() == {
        "detail": "Someone saved revision 2 while you were editing revision 1. Review their changes and save again.",
        "code": "conflict",
        "current_version": 2,
    }
    revisions = api.get(f"{path}revisions/").json()["results"]
    assert [(r["number"], r["note"]) for r in revisions] == [(2, "Finance too"), (1, "Created")]


def test_customers_read_articles_without_staff_fields_or_version(people, world, api_as):
    response = api_as(people["customer"]).get(f"/api/kb/articles/{world['public_article'].pk}/")
    assert response.status_code == 200
    assert "ETag" not in response
    assert not {"body", "revision", "status", "owner"} & set(response.json())


def test_notifications_are_marked_read_one_or_all(people, tickets, api_as):
    from helpdesk.services import ticket_reply

    # given the customer's unread notifications of two replies
    for ticket in (tickets["mine"], tickets["restricted"]):
        ticket_reply(ticket=ticket, author=people["manager"], body="We are on it.")
    api = api_as(people["customer"])
    unread = api.get("/api/notifications/", {"unread": "true"}).json()["count"]
    assert unread >= 2
    first = people["customer"].notifications.filter(channel="in_app").first()
    # when one is marked read, then all
    one = api.post(f"/api/notifications/{first.pk}/read/")
    after_one = api.get("/api/notifications/", {"unread": "true"}).json()["count"]
    rest = api.post("/api/notifications/mark-read/", {})
    # then the counts follow
    assert one.json()["read_at"] is not None
    assert after_one == unread - 1
    assert rest.json() == {"marked": unread - 1}
    assert api.get("/api/notifications/", {"unread": "true"}).json()["count"] == 0


@pytest.mark.parametrize(
    ("path", "params", "body"),
    [
        (
            "/api/calls/",
            {"colour": "red"},
            {
                "detail": "Unknown query parameter(s): colour. Allowed: direction, "
                "ordering, outcome, page, page_size, ticket."
            },
        ),
        (
            "/api/callbacks/",
            {"ordering": "reason"},
            {
                "ordering": [
                    "Cannot order by 'reason'. Allowed: window_start, window_end, created_at (prefix with '-' for descending)."
                ]
            },
        ),
    ],
)
def test_list_parameters_are_allowlisted(path, params, body, people, api_as):
    response = api_as(people["agent"]).get(path, params)
    assert response.status_code == 400
    assert response.json() == body


def test_unknown_body_fields_are_named(people, tickets, api_as):
    response = api_as(people["agent"]).post(
        "/api/calls/",
        {
            "ticket": tickets["mine"].reference,
            "direction": "inbound",
            "number": "1",
            "summary": "Hi",
            "outcome": "resolved",
            "agent": 3,
        },
    )
    assert response.status_code == 400
    assert response.json() == {"agent": ["Unknown field."]}


def test_read_only_tokens_cannot_write_the_new_resources(people, tickets, api_as):
    from helpdesk.api.services import api_token_create

    _token, raw = api_token_create(user=people["agent"], name="reader", read_only=True)
    api = api_as(None)
    api.headers = {"Authorization": f"Bearer {raw}"}
    response = api.post("/api/calls/", {"ticket": tickets["mine"].reference})
    assert response.status_code == 403
    assert api.get("/api/calls/").status_code == 200
