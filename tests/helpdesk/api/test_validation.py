"""Mass assignment, bad query strings, content types, optimistic locking and CSRF."""

from __future__ import annotations

import pytest
from django.test import Client

from helpdesk.models import Role, Ticket

CUSTOMER_FORBIDDEN = ["Customers cannot set this field."]


def test_customer_cannot_set_staff_fields_on_create(people, tickets, api_as):
    # given a customer
    api = api_as(people["customer"])
    # when they try to set staff-only fields while opening a ticket
    response = api.post(
        "/api/tickets/",
        {
            "subject": "Help",
            "description": "Please",
            "status": "resolved",
            "priority": "urgent",
            "assignee": people["agent"].pk,
            "team": "managers",
            "restricted": True,
        },
    )
    # then each field is named in a 400 and nothing is created
    assert response.status_code == 400
    assert response.json() == {
        "assignee": CUSTOMER_FORBIDDEN,
        "priority": CUSTOMER_FORBIDDEN,
        "restricted": CUSTOMER_FORBIDDEN,
        "status": CUSTOMER_FORBIDDEN,
        "team": CUSTOMER_FORBIDDEN,
    }
    assert not Ticket.objects.filter(subject="Help").exists()


def test_customer_cannot_patch_ticket_fields(people, tickets, api_as):
    ticket = tickets["mine"]
    response = api_as(people["customer"]).patch(
        f"/api/tickets/{ticket.reference}/", {"status": "resolved", "priority": "urgent"}, version=ticket.version
    )
    assert response.status_code == 400
    assert response.json() == {"priority": CUSTOMER_FORBIDDEN, "status": CUSTOMER_FORBIDDEN}
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("new", "normal")


@pytest.mark.parametrize("role", ["customer", "agent", "manager"])
def test_nobody_can_raise_their_own_role(role, people, api_as):
    user = people[role]
    response = api_as(user).patch("/api/me/", {"role": "admin", "is_superuser": True, "is_staff": True})
    assert response.status_code == 400
    message = ["Nobody can change their own role or permissions."]
    assert response.json() == {"is_staff": message, "is_superuser": message, "role": message}
    user.refresh_from_db()
    assert user.role == role and not user.is_superuser


def test_profile_fields_can_be_changed(people, api_as):
    response = api_as(people["customer"]).patch("/api/me/", {"first_name": "Danielle"})
    assert response.status_code == 200
    assert response.json()["first_name"] == "Danielle"
    assert response.json()["role"] == Role.CUSTOMER


def test_staff_cannot_set_read_only_or_unknown_ticket_fields(people, tickets, api_as):
    ticket = tickets["mine"]
    response = api_as(people["agent"]).patch(
        f"/api/tickets/{ticket.reference}/",
        {"restricted": True, "reference": "HD-1", "version": 99, "colour": "red"},
        version=ticket.version,
    )
    assert response.status_code == 400
    assert response.json() == {
        "colour": ["Unknown field."],
        "reference": ["This field is read-only."],
        "restricted": ["The restricted flag is set by the compliance workflow, not by a ticket update."],
        "version": ["This field is read-only."],
    }


def test_staff_create_names_forbidden_fields(people, tickets, api_as):
    response = api_as(people["agent"]).post(
        "/api/tickets/",
        {"customer": people["customer"].pk, "subject": "x", "description": "y", "assignee": people["agent"].pk},
    )
    assert response.status_code == 400
    assert response.json() == {"assignee": ["A new ticket is routed by its category; reassign it with PATCH."]}


def test_staff_creates_ticket_for_a_customer(people, tickets, api_as):
    response = api_as(people["agent"]).post(
        "/api/tickets/",
        {
            "customer": people["customer"].pk,
            "subject": "Phoned in",
            "description": "Card declined",
            "priority": "high",
            "channel": "phone",
            "category": "billing",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["priority"], body["channel"], body["team"], body["customer"]["id"]) == (
        "high",
        "phone",
        "frontline",
        people["customer"].pk,
    )
    assert response["Location"] == f"/api/tickets/{body['reference']}/"
    assert response["ETag"] == f'"{body["version"]}"'


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"status": "bogus"}, {"status": ["Select a valid choice. bogus is not one of the available choices."]}),
        (
            {"team": "nowhere"},
            {"team": ["Select a valid choice. That choice is not one of the available choices."]},
        ),
        (
            {"ordering": "password"},
            {
                "ordering": [
                    "Cannot order by 'password'. Allowed: created_at, updated_at, status, reference, sla_due_at "
                    "(prefix with '-' for descending)."
                ]
            },
        ),
        ({"page": "0"}, {"page": ["Must be a whole number from 1."]}),
        ({"page": "abc"}, {"page": ["Must be a whole number from 1."]}),
        ({"page": "99"}, {"page": ["Page 99 is beyond the last page (1)."]}),
        ({"page_size": "101"}, {"page_size": ["Must be a whole number from 1 to 100."]}),
        ({"page_size": "-5"}, {"page_size": ["Must be a whole number from 1 to 100."]}),
        (
            {"colour": "red"},
            {
                "detail": "Unknown query parameter(s): colour. Allowed: assignee, category, channel, ordering, page, "
                "page_size, priority, status, team."
            },
        ),
    ],
)
def test_bad_query_values_are_a_400_with_a_clear_message(params, error, people, tickets, api_as):
    response = api_as(people["agent"]).get("/api/tickets/", params)
    assert response.status_code == 400
    assert response.json() == error


def test_customers_may_not_filter_by_team_or_assignee(people, tickets, api_as):
    response = api_as(people["customer"]).get("/api/tickets/", {"team": "frontline"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Unknown query parameter(s): team.")


def test_filters_and_ordering_work(people, tickets, make_ticket, api_as):
    make_ticket(people["customer"], subject="Urgent one", priority="urgent")
    api = api_as(people["agent"])
    urgent = api.get("/api/tickets/", {"priority": "urgent"}).json()
    assert [row["subject"] for row in urgent["results"]] == ["Urgent one"]
    ordered = api.get("/api/tickets/", {"ordering": "reference"}).json()["results"]
    assert [row["reference"] for row in ordered] == sorted(row["reference"] for row in ordered)
    teams = api.get("/api/tickets/", {"team": "frontline"}).json()["results"]
    assert {row["team"] for row in teams} == {"frontline"}


def test_page_size_is_capped_at_100(people, tickets, api_as):
    response = api_as(people["agent"]).get("/api/tickets/", {"page_size": 100})
    assert response.status_code == 200


def test_wrong_content_type_is_415(people, tickets, api_as):
    api = api_as(people["customer"])
    response = api.post("/api/tickets/", "subject=x&description=y", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json() == {"detail": 'Unsupported media type "application/x-www-form-urlencoded" in request.'}


def test_patch_needs_if_match(people, tickets, api_as):
    response = api_as(people["agent"]).patch(f"/api/tickets/{tickets['mine'].reference}/", {"priority": "high"})
    assert response.status_code == 428
    assert response.json() == {"detail": "Send If-Match with the ticket's version (its ETag) to change it."}


def test_malformed_if_match_is_400(people, tickets, api_as):
    response = api_as(people["agent"]).patch(
        f"/api/tickets/{tickets['mine'].reference}/", {"priority": "high"}, headers={"If-Match": "yesterday"}
    )
    assert response.status_code == 400
    assert response.json() == {"If-Match": ["Must be the ticket version from its ETag, e.g. \"3\"; got 'yesterday'."]}


def test_stale_if_match_is_412_with_the_current_version(people, tickets, api_as):
    # given two agents who both loaded the ticket at the same version
    ticket = tickets["mine"]
    url = f"/api/tickets/{ticket.reference}/"
    first, second = api_as(people["agent"]), api_as(people["manager"])
    seen = first.get(url)["ETag"]
    assert second.get(url)["ETag"] == seen
    version = int(seen.strip('"'))
    # when the first saves and the second saves with the old version
    assert first.patch(url, {"priority": "high"}, version=version).status_code == 200
    response = second.patch(url, {"priority": "low"}, version=version)
    # then the second gets 412 with the current version, and nothing of theirs is saved
    assert response.status_code == 412
    current = Ticket.objects.get(pk=ticket.pk)
    assert response.json() == {
        "detail": "This ticket was changed by Alex Morgan while you were editing it. Nothing of yours was saved: "
        "review the current state and try again.",
        "code": "conflict",
        "current_version": current.version,
    }
    assert response["ETag"] == f'"{current.version}"'
    assert current.priority == "high"


def test_patch_moves_the_ticket_through_the_services(people, tickets, api_as):
    ticket = tickets["mine"]
    url = f"/api/tickets/{ticket.reference}/"
    api = api_as(people["agent"])
    response = api.patch(url, {"status": "open", "assignee": people["agent"].pk}, version=ticket.version)
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["assignee"]["id"]) == ("open", people["agent"].pk)
    assert response["ETag"] == f'"{body["version"]}"'
    kinds = [e["kind"] for e in api.get(f"{url}events/").json()["results"]]
    assert "status_changed" in kinds


def test_illegal_transition_is_a_400_naming_status(people, tickets, api_as):
    ticket = tickets["mine"]
    response = api_as(people["agent"]).patch(
        f"/api/tickets/{ticket.reference}/", {"status": "closed"}, version=ticket.version
    )
    assert response.status_code == 400
    assert response.json() == {"status": ["A ticket cannot go from “New” to “Closed”."]}


def test_moving_team_without_assignee_unassigns(people, tickets, api_as, teams):
    ticket = tickets["mine"]
    response = api_as(people["manager"]).patch(
        f"/api/tickets/{ticket.reference}/", {"team": "technical"}, version=ticket.version
    )
    assert response.status_code == 200
    assert (response.json()["team"], response.json()["assignee"], response.json()["tier"]) == ("technical", None, 2)


def test_customer_sees_only_public_events_and_no_staff_fields(people, tickets, api_as):
    ticket = tickets["mine"]
    api_as(people["agent"]).post(f"/api/tickets/{ticket.reference}/notes/", {"body": "secret note"})
    customer = api_as(people["customer"])
    events = customer.get(f"/api/tickets/{ticket.reference}/events/").json()["results"]
    assert events and all(e["is_public"] for e in events)
    assert "secret note" not in str(events)
    detail = customer.get(f"/api/tickets/{ticket.reference}/").json()
    assert not {"team", "assignee", "restricted", "tier", "customer"} & set(detail)


def test_session_writes_need_csrf(people, tickets):
    # given a browser session without the CSRF token
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["customer"])
    # when it posts to the API
    response = client.post(
        f"/api/tickets/{tickets['mine'].reference}/replies/", {"body": "hi"}, content_type="application/json"
    )
    # then CSRF is enforced
    assert response.status_code == 403
    assert response.json() == {"detail": "CSRF Failed: CSRF cookie not set."}


def test_reply_with_stale_if_match_is_412(people, tickets, api_as):
    # given a customer who saw version 1, and an agent's priority change since (notes do not advance the version)
    ticket = tickets["mine"]
    assert ticket.version == 1
    patched = api_as(people["agent"]).patch(
        f"/api/tickets/{ticket.reference}/", {"priority": "high"}, headers={"If-Match": "1"}
    )
    assert patched.status_code == 200
    # when the customer replies with If-Match: 1
    response = api_as(people["customer"]).post(
        f"/api/tickets/{ticket.reference}/replies/", {"body": "hello"}, headers={"If-Match": "1"}
    )
    # then 412, and without If-Match the reply goes through
    assert response.status_code == 412
    assert response.json()["current_version"] == 2
    ok = api_as(people["customer"]).post(f"/api/tickets/{ticket.reference}/replies/", {"body": "hello"})
    assert ok.status_code == 201
    assert ok.json()["kind"] == "customer_message"


def test_count_is_capped_and_says_so(people, tickets, api_as, monkeypatch):
    from helpdesk.api import pagination

    api = api_as(people["agent"])
    # given a list of more rows than the count cap
    assert api.get("/api/tickets/").json()["count_exact"] is True
    monkeypatch.setattr(pagination, "COUNT_CAP", 1)
    # when it is listed
    body = api.get("/api/tickets/", {"page_size": 1}).json()
    # then the count stops at the cap and says it is not exact, and pages stop there
    assert (body["count"], body["count_exact"], body["next"]) == (1, False, None)
    assert api.get("/api/tickets/", {"page": 2, "page_size": 1}).json() == {
        "page": ["Page 2 is beyond the last page (1)."]
    }


def test_handing_a_restricted_ticket_away_answers_204(people, tickets, api_as):
    # given a compliance officer on a restricted ticket of their team
    ticket = tickets["restricted"]
    api = api_as(people["compliance"])
    # when they hand it to another team they are not in
    response = api.patch(f"/api/tickets/{ticket.reference}/", {"team": "technical"}, version=ticket.version)
    # then it is saved, and they are told they can no longer see it
    assert response.status_code == 204
    ticket.refresh_from_db()
    assert ticket.team.slug == "technical"
    assert api.get(f"/api/tickets/{ticket.reference}/").status_code == 404
