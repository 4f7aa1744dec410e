"""One sign-in lockout guards every way in: the HTML form (/login/), the Django admin's login and /api/auth/login/."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from helpdesk.models import User

LOCKED = "Too many failed sign-in attempts. Try again in 15 minute(s)."


@pytest.fixture(autouse=True)
def _lockout(settings):
    settings.LOGIN_LOCKOUT_FAILURES = 3
    settings.LOGIN_LOCKOUT_MINUTES = 15
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "10000/min"},
    }


def _api(client: Client, username: str, password: str):
    body = json.dumps({"username": username, "password": password})
    return client.post("/api/auth/login/", body, content_type="application/json")


def _form(client: Client, username: str, password: str):
    return client.post("/login/", {"username": username, "password": password})


def _admin(client: Client, username: str, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _form_errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def test_username_locked_through_the_api_cannot_sign_in_through_the_form_or_the_admin(people):
    # given three wrong passwords for the admin through the API
    assert [_api(Client(), "admin", "wrong").status_code for _ in range(3)] == [401, 401, 401]
    # when the right password is tried on the sign-in page and on the admin's login
    form_client, admin_client = Client(), Client()
    form = _form(form_client, "admin", "pw-admin")
    admin = _admin(admin_client, "admin", "pw-admin")
    # then both refuse it with the lockout message
    assert not _signed_in(form_client)
    assert _form_errors(form) == [LOCKED]
    assert LOCKED.encode() in form.content
    assert not _signed_in(admin_client)
    assert _form_errors(admin) == [LOCKED]


def test_username_locked_through_the_form_cannot_sign_in_through_the_api_or_the_admin(people):
    # given three wrong passwords on the sign-in page
    for _ in range(3):
        response = _form(Client(), "admin", "wrong")
        assert response.status_code == 200
        assert "Please enter a correct username and password" in _form_errors(response)[0]
    # when the right password is tried through the API and the admin's login
    api = _api(Client(), "admin", "pw-admin")
    admin_client = Client()
    admin = _admin(admin_client, "admin", "pw-admin")
    # then both refuse it
    assert api.status_code == 429
    assert api.json() == {"detail": LOCKED, "code": "locked"}
    assert not _signed_in(admin_client)
    assert _form_errors(admin) == [LOCKED]


def test_username_locked_through_the_admin_cannot_sign_in_through_the_form_or_the_api(people):
    # given three wrong passwords on the admin's login
    for _ in range(3):
        assert _admin(Client(), "admin", "wrong").status_code == 200
    # when the right password is tried on the sign-in page and through the API
    form_client = Client()
    form = _form(form_client, "admin", "pw-admin")
    api = _api(Client(), "admin", "pw-admin")
    # then both refuse it
    assert not _signed_in(form_client)
    assert _form_errors(form) == [LOCKED]
    assert api.status_code == 429


def test_the_form_signs_in_again_once_the_lock_expires_and_a_success_clears_the_count(people):
    # given a username locked on the sign-in page
    for _ in range(3):
        _form(Client(), "customer", "wrong")
    # when the lock has expired
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        client = Client()
        response = _form(client, "customer", "pw-customer")
        # then the right password signs in, and the count starts again from zero
        assert response.status_code == 302
        assert _signed_in(client)
        assert [_api(Client(), "customer", "wrong").status_code for _ in range(2)] == [401, 401]
        assert _api(Client(), "customer", "pw-customer").status_code == 200


def test_the_lockout_does_not_reveal_whether_the_username_exists(people):
    # given the same three wrong guesses for a real username and for one that does not exist
    for username in ("customer", "nobody-at-all"):
        for _ in range(3):
            _form(Client(), username, "wrong")
    # when each is tried again, on the form and through the API
    real_form, ghost_form = _form(Client(), "customer", "x"), _form(Client(), "nobody-at-all", "x")
    real_api, ghost_api = _api(Client(), "customer", "x"), _api(Client(), "nobody-at-all", "x")
    # then the answers are the same
    assert _form_errors(real_form) == _form_errors(ghost_form) == [LOCKED]
    assert (real_api.status_code, real_api.json()) == (ghost_api.status_code, ghost_api.json())
    assert real_api.json() == {"detail": LOCKED, "code": "locked"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_parallel_burst_through_every_entry_point_gets_at_most_the_limit_of_password_checks(
    people, settings, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (real row locks across threads): run with "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_auth"
        )
    # given a lockout after 5 failures, and every password check counted
    settings.LOGIN_LOCKOUT_FAILURES = 5
    checks: list[str] = []
    count_lock = threading.Lock()
    real_check_password = User.check_password

    def counting_check_password(user, raw_password):
        with count_lock:
            checks.append(raw_password)
        return real_check_password(user, raw_password)

    monkeypatch.setattr(User, "check_password", counting_check_password)
    entry_points = [_form, _admin, _api]
    burst = 15
    barrier = threading.Barrier(burst)

    def guess(index: int):
        try:
            client = Client()
            barrier.wait()
            entry_points[index % 3](client, "admin", f"wrong-{index}")
        finally:
            connection.close()

    # when 15 wrong passwords arrive at once, through the form, the admin's login and the API, each on its connection
    threads = [threading.Thread(target=guess, args=(i,)) for i in range(burst)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then only 5 passwords were checked
    assert len(checks) == 5
    # and the right password is refused everywhere while the lock holds
    form_client, admin_client = Client(), Client()
    assert _form_errors(_form(form_client, "admin", "pw-admin")) == [LOCKED]
    assert _form_errors(_admin(admin_client, "admin", "pw-admin")) == [LOCKED]
    assert _api(Client(), "admin", "pw-admin").status_code == 429
    assert not _signed_in(form_client)
    assert not _signed_in(admin_client)
    assert len(checks) == 5
    # and once the lock has expired it signs in again
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert _api(Client(), "admin", "pw-admin").status_code == 200
