"""Two-step sign-in (helpdesk/mfa.py): enrolment, the code at every way in (form, admin, API session), one refusal
whichever factor failed, counted by the username lockout, recovery codes once each, enrolment enforced for the
roles that require it, the single sign-on hook, and read-only personal API tokens."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.db import connection
from django.test import Client, RequestFactory
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpdesk.api.services import api_token_create
from helpdesk.mfa import (
    MFA_SESSION_KEY,
    MfaEnrolmentMiddleware,
    MfaMethod,
    mfa_enrol_confirm,
    mfa_enrol_start,
    mfa_mark_satisfied,
    mfa_second_factor,
)
from helpdesk.models import AuditAction, AuditEvent, User
from helpdesk.signin import INVALID_LOGIN_MESSAGE
from tests.helpdesk.totp import totp_code
from tests.threads import run_together

LOCKED = "Too many failed sign-in attempts. Try again in 15 minute(s)."
API_REFUSAL = {"detail": "Wrong username, password or code.", "code": "invalid_login"}


@pytest.fixture(autouse=True)
def _lockout(settings):
    """A lockout after 3 failures, and API throttles that neither get in the way nor outlive the test."""
    cache.clear()
    settings.LOGIN_LOCKOUT_FAILURES = 3
    settings.LOGIN_LOCKOUT_MINUTES = 15
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "10000/min"},
    }
    yield
    cache.clear()


@pytest.fixture
def require_mfa(settings):
    settings.MFA_REQUIRED_ROLES = ["manager", "admin"]


def _enrol(user) -> tuple[str, list[str]]:
    """Enrol ``user`` through the services; their secret and recovery codes."""
    pending = mfa_enrol_start(user=user)
    codes = mfa_enrol_confirm(user=user, code=totp_code(pending.secret))
    return pending.secret, codes


def _next_code(user, secret: str) -> str:
    return totp_code(secret, after_step=TOTPDevice.objects.get(user=user, confirmed=True).last_t)


def _form(client: Client, username: str, password: str, code: str = ""):
    return client.post("/login/", {"username": username, "password": password, "otp_token": code})


def _admin(client: Client, username: str, password: str, code: str = ""):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password, "otp_token": code})


def _api(client: Client, username: str, password: str, code: str | None = None):
    body = {"username": username, "password": password} | ({"code": code} if code is not None else {})
    return client.post("/api/auth/login/", json.dumps(body), content_type="application/json")


def _errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def _signed_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def _actions(user) -> list[str]:
    """The user's MFA audit rows (sign-ins and sign-outs are audited too, by helpdesk.audit's receivers)."""
    rows = AuditEvent.objects.filter(target_type="user", target_id=str(user.pk)).exclude(
        action__in=[AuditAction.SIGN_IN, AuditAction.SIGN_OUT]
    )
    return list(rows.values_list("action", flat=True))


# --- enrolment ----------------------------------------------------------------------------------------------


def test_manager_enrols_from_the_profile_page_with_a_server_drawn_qr_code(client, manager):
    # given a signed-in manager without two-step sign-in
    client.force_login(manager)
    assert b"Set up an authenticator app" in client.get("/profile/").content
    # when they open the set-up page
    page = client.get("/profile/two-step/")
    # then it shows an inline SVG QR code and the key, the same on a reload, and nothing is on yet
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    secret = page.context["pending"].secret
    assert b'<svg viewBox="' in page.content and page.context["pending"].secret_grouped.encode() in page.content
    assert client.get("/profile/two-step/").context["pending"].secret == secret
    assert not TOTPDevice.objects.filter(user=manager, confirmed=True).exists()
    # when they enter a wrong code
    wrong = client.post("/profile/two-step/", {"code": "000000" if totp_code(secret) != "000000" else "111111"})
    # then it is refused next to the field, and still not on
    assert wrong.status_code == 400
    assert wrong.context["error"].startswith("That code did not match.")
    assert not TOTPDevice.objects.filter(user=manager, confirmed=True).exists()
    # when they enter the code their app shows
    done = client.post("/profile/two-step/", {"code": totp_code(secret)})
    # then it is on, they see ten recovery codes once, the session counts as verified, and it is audited
    assert done.status_code == 200 and done["Cache-Control"] == "no-store"
    codes = done.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10 and all(len(code) == 11 for code in codes)
    assert TOTPDevice.objects.filter(user=manager, confirmed=True).count() == 1
    assert StaticToken.objects.filter(device__user=manager).count() == 10
    assert client.session[MFA_SESSION_KEY] == MfaMethod.ENROLLED
    assert _actions(manager) == [AuditAction.MFA_ENROLLED]
    profile = client.get("/profile/")
    assert b"10 unused recovery codes left." in profile.content


def test_customers_cannot_enrol(client, customer):
    client.force_login(customer)
    assert client.get("/profile/two-step/").status_code == 403
    assert b"Two-step sign-in" not in client.get("/profile/").content


# --- one sign-in flow: form, admin, API session ---------------------------------------------------------------


def test_the_form_needs_the_code_and_refuses_every_wrong_factor_with_the_same_words(client, manager):
    # given a manager with two-step sign-in
    secret, _codes = _enrol(manager)
    # when they sign in with the password alone, with a wrong code, or with a wrong password and the right code
    no_code = _form(Client(), "manager", "pw-manager")
    wrong_code = _form(Client(), "manager", "pw-manager", "123456" if totp_code(secret) != "123456" else "654321")
    # then each is refused with the one message, which names no factor as the wrong one
    assert _errors(no_code) == _errors(wrong_code) == [INVALID_LOGIN_MESSAGE]
    assert not _signed_in(client)
    # when they sign in with the password and a current code (the counts were cleared by nothing yet: 2 failures)
    response = _form(client, "manager", "pw-manager", _next_code(manager, secret))
    # then they are in, the session is verified, and the refusals were audited as second-factor failures
    assert response.status_code == 302 and _signed_in(client)
    assert client.session[MFA_SESSION_KEY] == MfaMethod.TOTP
    assert _actions(manager).count(AuditAction.MFA_FAILED) == 2


def test_a_wrong_password_reads_the_same_as_a_wrong_code(manager):
    secret, _codes = _enrol(manager)
    wrong_password = _form(Client(), "manager", "nope", totp_code(secret))
    wrong_code = _form(Client(), "manager", "pw-manager", "99999x")
    assert _errors(wrong_password) == _errors(wrong_code) == [INVALID_LOGIN_MESSAGE]


def test_wrong_codes_count_in_the_one_username_lockout_across_entry_points(manager):
    # given a manager with two-step sign-in and the right password
    secret, _codes = _enrol(manager)
    # when three wrong codes are tried (form, admin, API): the password is right each time
    assert _errors(_form(Client(), "manager", "pw-manager", "000000x")) == [INVALID_LOGIN_MESSAGE]
    assert _errors(_admin(Client(), "manager", "pw-manager", "000000x")) != []
    assert _api(Client(), "manager", "pw-manager", "000000x").status_code == 401
    # then the username is locked, even for the right password and the right code, on every entry point
    client = Client()
    assert _errors(_form(client, "manager", "pw-manager", _next_code(manager, secret))) == [LOCKED]
    assert not _signed_in(client)
    assert _api(Client(), "manager", "pw-manager", _next_code(manager, secret)).status_code == 429


def test_admin_login_asks_for_the_code(admin_user):
    secret, _codes = _enrol(admin_user)
    page = Client().get("/admin/login/")
    assert b'name="otp_token"' in page.content and b"Authentication code" in page.content
    refused = _admin(Client(), "admin", "pw-admin")
    assert _errors(refused) == [INVALID_LOGIN_MESSAGE]
    client = Client()
    response = _admin(client, "admin", "pw-admin", _next_code(admin_user, secret))
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_api_session_login_needs_the_code_with_one_json_refusal(manager):
    # given a manager with two-step sign-in
    secret, _codes = _enrol(manager)
    # when the API is asked without a code, with a wrong one, and with a wrong password
    without = _api(Client(), "manager", "pw-manager")
    wrong = _api(Client(), "manager", "pw-manager", "000000x")
    # then both are 401 with the same JSON body
    assert without.status_code == wrong.status_code == 401
    assert without.json() == wrong.json() == API_REFUSAL
    # when the right code is sent
    client = Client()
    ok = _api(client, "manager", "pw-manager", _next_code(manager, secret))
    # then the session starts, verified
    assert ok.status_code == 200 and ok.json()["username"] == "manager"
    assert client.session[MFA_SESSION_KEY] == MfaMethod.TOTP
    # and a malformed code is a 400 naming the field
    too_long = _api(Client(), "manager", "pw-manager", "1" * 40)
    assert too_long.status_code == 400 and "code" in json.dumps(too_long.json())


def test_users_without_two_step_sign_in_keep_signing_in_with_a_password(client, agent):
    assert _form(client, "agent", "pw-agent").status_code == 302
    assert _signed_in(client) and MFA_SESSION_KEY not in client.session
    assert _api(Client(), "agent", "pw-agent").status_code == 200


def test_a_code_is_accepted_once(manager):
    secret, _codes = _enrol(manager)
    code = _next_code(manager, secret)
    assert _api(Client(), "manager", "pw-manager", code).status_code == 200
    assert _api(Client(), "manager", "pw-manager", code).json() == API_REFUSAL


# --- recovery codes ----------------------------------------------------------------------------------------


def test_a_recovery_code_signs_in_once(manager):
    # given a manager with two-step sign-in and their recovery codes
    _secret, codes = _enrol(manager)
    # when they sign in with one (typed in capitals, without the dash)
    client = Client()
    response = _form(client, "manager", "pw-manager", codes[0].replace("-", "").upper())
    # then they are in, the code is gone, and its use is audited with what is left
    assert response.status_code == 302 and client.session[MFA_SESSION_KEY] == MfaMethod.RECOVERY
    event = AuditEvent.objects.get(action=AuditAction.RECOVERY_CODE_USED)
    assert event.detail == {"remaining": 9} and event.actor == manager
    # when the same code is used again, through any way in
    again = _form(Client(), "manager", "pw-manager", codes[0])
    # then it is refused with the one message; another unused code still works
    assert _errors(again) == [INVALID_LOGIN_MESSAGE]
    assert _api(Client(), "manager", "pw-manager", codes[0]).status_code == 401
    assert _api(Client(), "manager", "pw-manager", codes[1]).status_code == 200


def test_new_recovery_codes_replace_the_old_ones(client, manager):
    secret, old = _enrol(manager)
    client.force_login(manager)
    mfa_mark_satisfied_session(client)
    refused = client.post("/profile/two-step/recovery-codes/", {"code": "000000x"}, follow=True)
    assert b"That code is not valid." in refused.content
    page = client.post("/profile/two-step/recovery-codes/", {"code": _next_code(manager, secret)})
    new = page.context["codes"]
    assert page.status_code == 200 and set(new).isdisjoint(old)
    assert _api(Client(), "manager", "pw-manager", old[0]).status_code == 401
    assert _api(Client(), "manager", "pw-manager", new[0]).status_code == 200


def mfa_mark_satisfied_session(client: Client) -> None:
    session = client.session
    session[MFA_SESSION_KEY] = MfaMethod.TOTP
    session.save()


# --- removal ---------------------------------------------------------------------------------------------------


def test_removing_needs_a_current_code_and_is_audited(client, agent):
    # given an agent (optional for the role) with two-step sign-in, signed in with it
    secret, _codes = _enrol(agent)
    client.force_login(agent)
    mfa_mark_satisfied_session(client)
    # when they try to remove it with a wrong code
    refused = client.post("/profile/two-step/remove/", {"code": "000000x"}, follow=True)
    # then it stays, and the wrong code is audited
    assert b"That code is not valid." in refused.content
    assert TOTPDevice.objects.filter(user=agent).exists()
    # when they give a current code
    done = client.post("/profile/two-step/remove/", {"code": _next_code(agent, secret)}, follow=True)
    # then it is gone with its recovery codes, and they sign in with the password alone
    assert b"you sign in with your password alone" in done.content
    assert not TOTPDevice.objects.filter(user=agent).exists()
    assert not StaticToken.objects.filter(device__user=agent).exists()
    assert _actions(agent) == [AuditAction.MFA_ENROLLED, AuditAction.MFA_FAILED, AuditAction.MFA_REMOVED]
    assert _api(Client(), "agent", "pw-agent").status_code == 200


def test_an_administrator_resets_a_lost_phone_from_django_admin(client, admin_user, manager, require_mfa):
    _enrol(admin_user)
    _enrol(manager)
    client.force_login(admin_user)
    mfa_mark_satisfied_session(client)
    response = client.post(
        "/admin/helpdesk/user/", {"action": "reset_two_step", "_selected_action": [manager.pk]}, follow=True
    )
    assert b"Two-step sign-in reset for 1 user(s)." in response.content
    assert not TOTPDevice.objects.filter(user=manager).exists()
    event = AuditEvent.objects.get(action=AuditAction.MFA_REMOVED)
    assert event.actor == admin_user and event.target_id == str(manager.pk) and event.detail["admin_reset"] is True
    # django-otp's own device admins, which show secrets, are not registered
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404


# --- enforcement for the roles that require it ------------------------------------------------------------------


def test_an_admin_without_two_step_sign_in_is_sent_to_enrol_first(client, admin_user, require_mfa):
    # given an admin who signed in with a password and has not enrolled
    assert _admin(client, "admin", "pw-admin").status_code == 302
    # when they open Django admin, a screen, or the API with their session
    admin_page = client.get("/admin/")
    screen = client.get("/tickets/")
    htmx = client.get("/tickets/", headers={"HX-Request": "true"})
    api = client.get("/api/tickets/")
    # then each sends them to set it up first
    assert admin_page.status_code == screen.status_code == 302
    assert admin_page["Location"] == screen["Location"] == "/profile/two-step/"
    assert htmx["HX-Redirect"] == "/profile/two-step/"
    assert api.status_code == 403 and api.json()["code"] == "mfa_enrolment_required"
    # when they enrol
    page = client.get("/profile/two-step/")
    assert b"Your role requires two-step sign-in" in page.content
    client.post("/profile/two-step/", {"code": totp_code(page.context["pending"].secret)})
    # then Django admin opens
    assert client.get("/admin/").status_code == 200


def test_the_enrolment_page_s_own_fragments_and_push_stream_get_no_content_not_a_redirect(
    client, admin_user, require_mfa
):
    # given an admin who must enrol, on the enrolment page
    assert _admin(client, "admin", "pw-admin").status_code == 302
    # when that page loads a fragment of its own (the navigation's saved views) and opens the push stream
    fragment = client.get(
        "/queue/views/nav/", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/profile/two-step/"}
    )
    stream = client.get("/live/stream/", headers={"Accept": "text/event-stream"})
    # then both get nothing (no redirect to the page itself, which would reload it for ever; no events before the
    # second factor), while a fragment asked from another page still sends the browser to enrol
    assert (fragment.status_code, fragment.get("HX-Redirect")) == (204, None)
    assert (stream.status_code, stream.content) == (204, b"")
    elsewhere = client.get(
        "/queue/views/nav/", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/tickets/"}
    )
    assert elsewhere["HX-Redirect"] == "/profile/two-step/"


def test_agents_are_not_required_to_enrol(client, agent, require_mfa):
    client.force_login(agent)
    assert client.get("/tickets/").status_code == 200


def test_personal_api_tokens_are_not_asked_for_two_step_sign_in(client, manager, require_mfa):
    _token, raw = api_token_create(user=manager, name="CRM")
    response = client.get("/api/tickets/", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200


def test_a_session_that_skipped_the_code_is_signed_out(client, manager, require_mfa):
    # given an enrolled manager whose session never passed the code (e.g. signed in before they enrolled elsewhere)
    _enrol(manager)
    client.force_login(manager)
    # when they open a screen, then they are signed out and asked to sign in again with the code
    response = client.get("/tickets/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert not _signed_in(client)


def test_single_sign_on_marks_the_session_verified_through_the_hook(client, manager, require_mfa):
    # given a session started by a sign-in whose identity provider did the second factor
    _enrol(manager)
    client.force_login(manager)
    request = RequestFactory().get("/")
    request.session = client.session
    mfa_mark_satisfied(request, method=MfaMethod.SSO)
    request.session.save()
    # then no local code is asked
    assert client.get("/tickets/").status_code == 200


def test_the_middleware_costs_no_query_for_a_verified_session_or_a_role_without_the_rule(
    manager, agent, require_mfa, django_assert_num_queries
):
    middleware = MfaEnrolmentMiddleware(lambda request: "passed")
    verified = RequestFactory().get("/tickets/")
    verified.user, verified.session = manager, {MFA_SESSION_KEY: MfaMethod.TOTP}
    optional = RequestFactory().get("/tickets/")
    optional.user, optional.session = agent, {}
    with django_assert_num_queries(0):
        assert middleware(verified) == "passed"
        assert middleware(optional) == "passed"


# --- read-only personal API tokens ---------------------------------------------------------------------------


def test_a_read_only_token_reads_but_every_change_is_refused(client, agent, customer, make_ticket):
    ticket = make_ticket(customer)
    _token, raw = api_token_create(user=agent, name="Dashboard", read_only=True)
    auth = {"Authorization": f"Bearer {raw}"}
    assert client.get(f"/api/tickets/{ticket.reference}/", headers=auth).status_code == 200
    note = client.post(
        f"/api/tickets/{ticket.reference}/notes/", {"body": "hi"}, content_type="application/json", headers=auth
    )
    create = client.post("/api/tokens/", {"name": "escalate me"}, content_type="application/json", headers=auth)
    assert note.status_code == create.status_code == 403
    assert note.json()["detail"] == "This token is read-only: it may only read (GET, HEAD, OPTIONS)."
    assert ticket.events.filter(kind="internal_note").count() == 0


def test_read_only_tokens_are_created_and_listed_as_such(client, agent):
    client.force_login(agent)
    page = client.post("/profile/", {"name": "Reports", "read_only": "on"})
    assert page.status_code == 200 and b"Read-only</td>" in page.content
    api = client.post("/api/tokens/", {"name": "Sync", "read_only": False}, content_type="application/json")
    assert api.status_code == 201 and api.json()["read_only"] is False
    listed = {row["name"]: row["read_only"] for row in client.get("/api/tokens/").json()["results"]}
    assert listed == {"Reports": True, "Sync": False}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_recovery_code_or_one_totp_code_used_in_parallel_lets_exactly_one_in(manager, settings):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (real row locks across threads): run with "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_mfa"
        )
    # given a manager with two-step sign-in, and a lockout that does not get in the way
    settings.LOGIN_LOCKOUT_FAILURES = 50
    secret, codes = _enrol(manager)

    def second_factor(code: str):
        return lambda: mfa_second_factor(user=User.objects.get(pk=manager.pk), code=code)

    # when eight sign-ins whose password was right give the same recovery code at the same instant
    recovery = run_together(*(second_factor(codes[0]) for _ in range(8)))
    # then exactly one passes, and the code is gone
    assert sorted(map(str, recovery)) == ["None"] * 7 + [MfaMethod.RECOVERY]
    assert not StaticToken.objects.filter(token=codes[0].replace("-", "")).exists()
    # when eight give the same authenticator code at the same instant
    totp = run_together(*(second_factor(_next_code(manager, secret)) for _ in range(8)))
    # then exactly one passes
    assert sorted(map(str, totp)) == ["None"] * 7 + [MfaMethod.TOTP]
    # and through the API, where the lockout's row lock also orders them, a replayed recovery code is refused
    api = run_together(*(lambda: _api(Client(), "manager", "pw-manager", codes[1]).status_code for _ in range(4)))
    assert sorted(api) == [200, 401, 401, 401]
