"""Staff sessions end when idle (60 min) and after a shift (12 h); customers keep theirs for 14 days."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

START = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
IDLE_MESSAGE = "You were signed out after 60 minute(s) without activity. Please sign in again."
LIFETIME_MESSAGE = "For security, staff sessions end 12 hour(s) after signing in. Please sign in again."


@pytest.fixture
def traveller():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _sign_in(user) -> Client:
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": "pw-" + user.username})
    assert response.status_code == 302
    return client


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_staff_session_ends_after_an_hour_without_activity(agent, traveller):
    # given an agent who signed in at 08:00 and was active at 08:30
    client = _sign_in(agent)
    traveller.shift(timedelta(minutes=30))
    assert client.get("/tickets/").status_code == 200
    # when they come back 59 minutes later, the session is still there
    traveller.shift(timedelta(minutes=59))
    assert client.get("/tickets/").status_code == 200
    # when they then leave it for a full hour
    traveller.shift(timedelta(minutes=60))
    response = client.get("/tickets/?scope=all")
    # then they are signed out and sent to sign in, told why, and brought back afterwards
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/tickets/%3Fscope%3Dall"
    assert not _signed_in(client)
    page = client.get(response["Location"])
    assert _messages(page) == [IDLE_MESSAGE]
    assert IDLE_MESSAGE.encode() in page.content


def test_a_staff_session_ends_after_twelve_hours_even_when_busy(agent, traveller):
    # given an agent who signed in at 08:00; the stored session itself is dropped an idle hour after 20:00
    client = _sign_in(agent)
    assert client.session.get_expiry_date() == START + timedelta(hours=13)
    # when they work all day, every 50 minutes
    for _ in range(14):
        traveller.shift(timedelta(minutes=50))
        assert client.get("/tickets/").status_code == 200
    assert START + timedelta(hours=11, minutes=40) == datetime.now(UTC)
    # then at 20:00 the session ends anyway
    traveller.shift(timedelta(minutes=20))
    response = client.get("/tickets/")
    assert response.status_code == 302
    assert not _signed_in(client)
    assert _messages(client.get(response["Location"])) == [LIFETIME_MESSAGE]


def test_the_staff_timeouts_come_from_settings(agent, traveller, settings):
    # given a 10-minute idle timeout
    settings.STAFF_SESSION_IDLE_MINUTES = 10
    client = _sign_in(agent)
    # when the agent is away for 10 minutes
    traveller.shift(timedelta(minutes=10))
    response = client.get("/tickets/")
    # then they are signed out
    assert response.status_code == 302
    assert _messages(client.get(response["Location"])) == [
        "You were signed out after 10 minute(s) without activity. Please sign in again."
    ]


def test_a_customer_session_lasts_fourteen_days(customer, traveller):
    # given a customer who signed in and then did nothing for 13 days
    client = _sign_in(customer)
    traveller.shift(timedelta(days=13))
    # then they are still signed in
    assert client.get("/tickets/").status_code == 200
    assert _signed_in(client)
    # and after 14 days of the session the stored session has expired
    traveller.shift(timedelta(days=1, minutes=1))
    assert client.get("/tickets/").status_code == 302
    assert not _signed_in(client)


def test_background_polls_do_not_keep_a_staff_session_alive(agent, customer, make_ticket, traveller):
    # given an agent with a ticket's workspace open, which polls presence every 15 s
    ticket = make_ticket(customer)
    client = _sign_in(agent)
    assert client.get(f"/tickets/{ticket.reference}/").status_code == 200
    poll = f"/tickets/{ticket.reference}/presence/"
    htmx = {"HX-Request": "true", "HX-Current-URL": f"http://testserver/tickets/{ticket.reference}/"}
    for _ in range(3):
        traveller.shift(timedelta(minutes=15))
        assert client.post(poll, headers=htmx).status_code == 200
    # when the agent has done nothing but poll for an hour
    traveller.shift(timedelta(minutes=15))
    response = client.post(poll, headers=htmx)
    # then the poll sends the whole page to sign in (not a fragment), and back to the workspace afterwards
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/login/?next=/tickets/{ticket.reference}/"
    assert not _signed_in(client)


def test_an_expired_staff_session_on_the_api_is_answered_401(agent, traveller):
    # given an agent signed in through the API
    client = Client()
    body = json.dumps({"username": agent.username, "password": "pw-" + agent.username})
    assert client.post("/api/auth/login/", body, content_type="application/json").status_code == 200
    assert client.get("/api/me/").status_code == 200
    # when the session has been idle for an hour
    traveller.shift(timedelta(hours=1))
    response = client.get("/api/me/")
    # then the API answers as it does to anyone not signed in, and the session is gone
    assert response.status_code == 401
    assert not _signed_in(client)


def test_a_staff_session_from_before_the_rule_starts_its_clocks_at_the_next_request(agent, login, client, traveller):
    # given a signed-in agent whose session carries no sign-in time (as sessions made before this rule)
    login(agent)
    session = client.session
    for key in ("helpdesk_signed_in_at", "helpdesk_last_seen_at"):
        session.pop(key, None)
    session.save()
    # when they come back, the clocks start then
    assert client.get("/tickets/").status_code == 200
    traveller.shift(timedelta(minutes=59))
    assert client.get("/tickets/").status_code == 200
    # and the idle timeout applies from there
    traveller.shift(timedelta(minutes=60))
    assert client.get("/tickets/").status_code == 302
