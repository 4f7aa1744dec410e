"""Personal tokens (hashed, shown once, revocation at once), throttles, and the sign-in lockout."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from helpdesk.models import ApiToken, LoginFailure


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def test_token_is_shown_once_stored_hashed_and_revocation_is_immediate(people, api_as):
    # given a signed-in customer who creates a token
    session = api_as(people["customer"], session=True)
    created = session.post("/api/tokens/", {"name": "CRM sync"})
    assert created.status_code == 201
    raw = created.json()["token"]
    assert created["Cache-Control"] == "no-store"
    # then only its digest is stored, and the list never shows it again
    row = ApiToken.objects.get(pk=created.json()["id"])
    assert row.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert "token" not in session.get("/api/tokens/").json()["results"][0]
    # when the token is used, it works (Bearer and Token keywords)
    bearer = Client(headers={"Authorization": f"Bearer {raw}"})
    assert bearer.get("/api/me/").json()["username"] == "customer"
    assert Client(headers={"Authorization": f"Token {raw}"}).get("/api/me/").status_code == 200
    row.refresh_from_db()
    assert row.last_used_at is not None
    # when it is revoked
    assert session.delete(f"/api/tokens/{row.pk}/").status_code == 204
    # then the very next request with it is a 401
    response = bearer.get("/api/me/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked token."}


def test_cannot_revoke_someone_elses_token(people, api_as):
    from helpdesk.api.services import api_token_create

    theirs, _raw = api_token_create(user=people["agent"], name="theirs")
    response = api_as(people["customer"]).delete(f"/api/tokens/{theirs.pk}/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_malformed_authorization_header_is_401(db):
    response = Client(headers={"Authorization": "Bearer a b"}).get("/api/me/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Malformed Authorization header: expected 'Bearer <token>'."}


def test_token_creation_is_throttled(people, api_as, settings):
    _rates(settings, token_create="2/hour")
    api = api_as(people["agent"], session=True)
    statuses = [api.post("/api/tokens/", {"name": f"t{i}"}).status_code for i in range(3)]
    assert statuses == [201, 201, 429]
    # listing is not throttled by that scope
    assert api.get("/api/tokens/").status_code == 200


def test_profile_page_creates_shows_once_and_revokes(people, client, login):
    # given a signed-in agent on the profile page
    login(people["agent"])
    page = client.get("/profile/")
    assert page.status_code == 200
    assert b"Personal API tokens" in page.content
    # when they create a token
    response = client.post("/profile/", {"name": "Phone system"})
    # then it is shown once, not cached, and works
    assert response.status_code == 200
    raw = response.context["new_token"]
    assert raw.encode() in response.content
    assert response["Cache-Control"] == "no-store"
    assert raw.encode() not in client.get("/profile/").content
    token = ApiToken.objects.get(user=people["agent"], name="Phone system")
    assert Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/me/").status_code == 200
    # when they revoke it
    response = client.post(f"/profile/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/me/").status_code == 401


def test_profile_page_needs_a_name(people, client, login):
    login(people["agent"])
    response = client.post("/profile/", {"name": "  "})
    assert response.status_code == 400
    assert response.context["error"] == "Give the token a name, e.g. the integration that will use it."


def _login(client, username, password):
    return client.post(
        "/api/auth/login/", json.dumps({"username": username, "password": password}), content_type="application/json"
    )


def test_login_starts_a_session(people):
    client = Client()
    response = _login(client, "customer", "pw-customer")
    assert response.status_code == 200
    assert response.json()["username"] == "customer"
    assert client.get("/api/me/").status_code == 200


def test_login_locks_after_repeated_failures_then_unlocks(people, settings):
    settings.LOGIN_LOCKOUT_FAILURES = 3
    settings.LOGIN_LOCKOUT_MINUTES = 15
    client = Client()
    # given three wrong passwords
    assert [_login(client, "customer", "wrong").status_code for _ in range(3)] == [401, 401, 401]
    # then even the right password is refused while locked
    locked = _login(client, "customer", "pw-customer")
    assert locked.status_code == 429
    assert locked.json() == {"detail": "Too many failed sign-in attempts. Try again in 15 minute(s).", "code": "locked"}
    assert int(locked["Retry-After"]) > 800
    # and after the lock expires the right password works again, and clears the count
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert _login(client, "customer", "pw-customer").status_code == 200
    assert LoginFailure.objects.get(username="customer").failures == 0


def test_login_is_throttled_per_client(people, settings):
    _rates(settings, login="3/min")
    client = Client()
    statuses = [_login(client, f"nobody{i}", "x").status_code for i in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_login_throttle_is_not_dodged_with_x_forwarded_for(people, settings):
    _rates(settings, login="2/min")
    statuses = [
        Client(headers={"X-Forwarded-For": f"203.0.113.{i}"})
        .post("/api/auth/login/", json.dumps({"username": "x", "password": "y"}), content_type="application/json")
        .status_code
        for i in range(3)
    ]
    assert statuses == [401, 401, 429]


def test_login_accepts_json_only(people):
    response = Client().post("/api/auth/login/", {"username": "customer", "password": "pw-customer"})
    assert response.status_code == 415


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_lockout_holds_under_a_parallel_burst(people, settings):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (real row locks across threads): run with "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/hd_api"
        )
    # given a lockout after 5 failures and no client throttle in the way
    settings.LOGIN_LOCKOUT_FAILURES = 5
    _rates(settings, login="10000/min")
    burst = 24
    barrier = threading.Barrier(burst)
    statuses: list[int] = []
    lock = threading.Lock()

    def guess():
        try:
            client = Client()
            barrier.wait()
            status = _login(client, "customer", "wrong-guess").status_code
            with lock:
                statuses.append(status)
        finally:
            connection.close()

    # when 24 wrong guesses arrive at the same moment, each on its own connection
    threads = [threading.Thread(target=guess) for _ in range(burst)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then exactly 5 passwords were checked and every other guess was refused by the lock
    assert sorted(statuses) == [401] * 5 + [429] * (burst - 5)
    assert LoginFailure.objects.get(username="customer").locked_until > timezone.now()
    assert _login(Client(), "customer", "pw-customer").status_code == 429
