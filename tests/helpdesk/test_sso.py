"""Single sign-on end to end: the real redirect flow between the Django test client and an OpenID Connect provider
running on loopback (tests/oidc_provider.py), with the provider's answers spoiled on purpose for the refusals."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpdesk.mfa import MFA_SESSION_KEY, MfaMethod
from helpdesk.models import AuditAction, AuditEvent, Role, SsoIdentity, User
from helpdesk.sso import (
    NO_GROUP_REFUSAL,
    SIGNED_OUT_MESSAGE,
    SSO_SESSION_KEY,
    access_for_groups,
    parse_group_map,
)
from tests.oidc_provider import OidcProvider

GROUP_MAP = (
    "helpdesk-agents=agent:Frontline,"
    "helpdesk-specialists=specialist:Technical|compliance,"
    "helpdesk-managers=manager:Managers,"
    "helpdesk-admins=admin"
)


@pytest.fixture
def provider():
    with OidcProvider(client_id="helpdesk-web", client_secret="client-s3cret") as running:
        yield running


@pytest.fixture
def sso(settings, provider, teams):
    settings.OIDC_ENABLED = True
    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_RP_CLIENT_ID = "helpdesk-web"
    settings.OIDC_RP_CLIENT_SECRET = "client-s3cret"
    settings.OIDC_GROUP_MAP = GROUP_MAP
    settings.OIDC_REVALIDATE_MINUTES = 5
    return provider


def start(client, provider, *, next_url: str = "") -> str:
    """Our /sso/login/ sends the browser to the provider, which signs in ``provider.signed_in`` and sends it back:
    returns the callback path and query the browser would open."""
    response = client.get("/sso/login/" + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 302
    authorize = response["Location"]
    assert authorize.startswith(f"{provider.issuer}/authorize?")
    asked = parse_qs(urlsplit(authorize).query)
    assert asked["code_challenge_method"] == ["S256"] and asked["nonce"] and asked["state"]
    back = requests.get(authorize, allow_redirects=False, timeout=5)
    assert back.status_code == 302
    callback = urlsplit(back.headers["Location"])
    assert callback.path == "/sso/callback/"
    return f"{callback.path}?{callback.query}"


def sign_in(client, provider, *, next_url: str = ""):
    return client.get(start(client, provider, next_url=next_url))


def signed_in_user(client) -> User | None:
    response = client.get("/tickets/")
    return response.wsgi_request.user if response.status_code == 200 else None


def refusal_shown(client, response, text: str) -> None:
    assert response.status_code == 302 and response["Location"] == "/login/"
    page = client.get("/login/")
    assert text in page.content.decode()


def team_names(user: User) -> set[str]:
    return set(user.teams.values_list("name", flat=True))


def test_sso_is_off_by_default_no_button_and_no_route(client, db):
    # given SSO off (the default)
    # when / then
    assert "Sign in with single sign-on" not in client.get("/login/").content.decode()
    assert client.get("/sso/login/").status_code == 404
    assert client.get("/sso/callback/?code=x&state=y").status_code == 404


def test_login_page_offers_single_sign_on_when_enabled(client, sso):
    page = client.get("/login/?next=/tickets/").content.decode()

    assert "Sign in with single sign-on" in page
    assert 'href="/sso/login/?next=/tickets/"' in page


def test_first_sign_in_creates_the_staff_user_with_the_mapped_role_and_team(client, sso):
    # given a person in the agents group (and a group we do not map)
    sso.add_user("idp-ana", groups=["helpdesk-agents", "all-staff"], email="ana@corp.test", given_name="Ana")
    sso.signed_in = "idp-ana"

    # when they sign in with single sign-on
    response = sign_in(client, sso, next_url="/tickets/")

    # then an agent account in Frontline exists, signed in, with no usable password
    assert response.status_code == 302 and response["Location"] == "/tickets/"
    user = User.objects.get(sso_identity__issuer=sso.issuer, sso_identity__subject="idp-ana")
    assert (user.username, user.email, user.first_name, user.role) == ("ana", "ana@corp.test", "Ana", Role.AGENT)
    assert team_names(user) == {"Frontline"}
    assert not user.has_usable_password() and not user.is_staff and not user.is_superuser
    assert signed_in_user(client) == user
    assert client.session[MFA_SESSION_KEY] == MfaMethod.SSO
    assert client.session[SSO_SESSION_KEY]["subject"] == "idp-ana"
    assert AuditEvent.objects.filter(action=AuditAction.SSO_SIGN_IN, actor=user).count() == 1


def test_an_sso_manager_is_not_asked_for_a_local_second_factor_where_managers_require_one(client, sso, settings):
    # given managers must use two-step sign-in, and a manager who signs in through the provider (which did the MFA)
    settings.MFA_REQUIRED_ROLES = ["manager", "admin"]
    sso.add_user("idp-mo", groups=["helpdesk-managers"], email="mo@corp.test")
    sso.signed_in = "idp-mo"
    sign_in(client, sso)

    # then their screens open: not sent to set up an authenticator app, not signed out
    response = client.get("/tickets/")
    assert response.status_code == 200
    assert signed_in_user(client) == User.objects.get(username="mo")


def test_a_group_change_moves_the_user_on_their_next_sign_in(client, sso):
    # given an agent who signed in once and signed out
    sso.add_user("idp-ana", groups=["helpdesk-agents"], email="ana@corp.test")
    sso.signed_in = "idp-ana"
    sign_in(client, sso)
    client.post("/logout/")
    user = User.objects.get(username="ana")

    # when the provider moves them to the specialists and managers groups and they sign in again
    sso.users["idp-ana"]["groups"] = ["helpdesk-specialists", "helpdesk-managers"]
    sign_in(client, sso)

    # then the same account is now a manager (the highest mapped role) in every mapped team, not Frontline
    user.refresh_from_db()
    assert User.objects.filter(email="ana@corp.test").count() == 1
    assert user.role == Role.MANAGER
    assert team_names(user) == {"Technical", "Compliance", "Managers"}
    change = AuditEvent.objects.filter(action=AuditAction.ROLE_CHANGED, target_id=str(user.pk)).latest("id")
    assert change.detail == {
        "reason": "single sign-on",
        "old_role": "agent",
        "new_role": "manager",
        "old_teams": ["Frontline"],
        "new_teams": ["Compliance", "Managers", "Technical"],
    }
    assert signed_in_user(client) == user


def test_an_unknown_group_only_is_refused_and_no_account_is_created(client, sso):
    # given a person whose only groups are not mapped
    sso.add_user("idp-max", groups=["marketing", "helpdesk-agents-old"], email="max@corp.test")
    sso.signed_in = "idp-max"
    users_before = User.objects.count()

    # when they try single sign-on
    response = sign_in(client, sso)

    # then they are told why, nothing is created, and the refusal is audited
    refusal_shown(client, response, "not in any group that may use the helpdesk")
    assert NO_GROUP_REFUSAL.startswith("Your identity provider account is not in any group")
    assert User.objects.count() == users_before
    assert not SsoIdentity.objects.exists()
    assert signed_in_user(client) is None
    refused = AuditEvent.objects.get(action=AuditAction.SSO_REFUSED)
    assert (refused.target_type, refused.target_id) == ("sso_subject", "idp-max")
    assert refused.detail == {"code": "no_mapped_group", "groups": ["marketing", "helpdesk-agents-old"]}


def test_sso_never_signs_in_an_existing_customer_by_their_email(client, sso, customer):
    # given a customer account, and a provider account with the same email in the agents group
    sso.add_user("idp-dana", groups=["helpdesk-agents"], email=customer.email)
    sso.signed_in = "idp-dana"

    # when that person uses single sign-on
    response = sign_in(client, sso)

    # then they are refused and the customer stays a customer, unlinked
    refusal_shown(client, response, "already exists and is not linked to single sign-on")
    customer.refresh_from_db()
    assert customer.role == Role.CUSTOMER and not SsoIdentity.objects.exists()
    assert signed_in_user(client) is None


def test_an_administrator_only_through_an_explicit_admin_mapping(client, sso, admin_user):
    # given a person in the admins group, and a superuser linked to the provider but only in the agents group
    sso.add_user("idp-root", groups=["helpdesk-admins"], email="root@corp.test")
    sso.add_user("idp-super", groups=["helpdesk-agents"], email="super@corp.test")
    SsoIdentity.objects.create(user=admin_user, issuer=sso.issuer, subject="idp-super")

    # when each signs in
    sso.signed_in = "idp-root"
    sign_in(client, sso)
    root = User.objects.get(sso_identity__subject="idp-root")
    client.post("/logout/")
    sso.signed_in = "idp-super"
    response = sign_in(client, sso)

    # then the mapped one is an administrator (Django admin access, never a superuser) and the superuser whose
    # groups map lower is refused, keeping their powers untouched
    assert (root.role, root.is_staff, root.is_superuser) == (Role.ADMIN, True, False)
    assert response["Location"] == "/login/"
    admin_user.refresh_from_db()
    assert admin_user.is_superuser and admin_user.role == Role.ADMIN
    assert AuditEvent.objects.filter(action=AuditAction.SSO_REFUSED, detail__code="admin_not_mapped").count() == 1


@pytest.mark.parametrize("tamper", ["signature", "key", "nonce", "audience", "issuer"])
def test_an_id_token_that_fails_a_check_is_refused(client, sso, tamper):
    # given a provider answer spoiled on purpose: a forged payload under the real signature, a signature by a key
    # that is not in the JWKS, the wrong nonce, another client's audience, another issuer
    sso.add_user("idp-eve", groups=["helpdesk-agents"], email="eve@corp.test")
    sso.signed_in = "idp-eve"
    sso.tamper = tamper

    # when the browser comes back with the code
    response = sign_in(client, sso)

    # then nothing is signed in or created
    refusal_shown(client, response, "Single sign-on did not complete")
    assert not User.objects.filter(email="eve@corp.test").exists()
    assert signed_in_user(client) is None
    assert AuditEvent.objects.get(action=AuditAction.SSO_REFUSED).detail["code"] == "token_rejected"


def test_a_wrong_pkce_verifier_is_refused_by_the_provider(client, sso):
    # given a sign-in started normally, whose PKCE verifier is then replaced in our session
    sso.add_user("idp-eve", groups=["helpdesk-agents"], email="eve@corp.test")
    sso.signed_in = "idp-eve"
    callback = start(client, sso)
    session = client.session
    for pending in session["oidc_states"].values():
        pending["code_verifier"] = "x" * 64
    session.save()

    # when the code is redeemed
    response = client.get(callback)

    # then the provider's refusal (invalid_grant) reaches the person as a refusal, not an error page
    refusal_shown(client, response, "Single sign-on did not complete")
    assert not User.objects.filter(email="eve@corp.test").exists()
    assert ("POST", "/token") in sso.requests


def test_a_callback_with_a_state_we_never_issued_is_refused(client, sso):
    sso.add_user("idp-eve", groups=["helpdesk-agents"], email="eve@corp.test")
    sso.signed_in = "idp-eve"
    start(client, sso)  # a real flow is pending in this session

    response = client.get("/sso/callback/?code=stolen&state=forged")

    refusal_shown(client, response, "Single sign-on did not complete")
    assert AuditEvent.objects.get(action=AuditAction.SSO_REFUSED).detail == {"code": "state_mismatch"}
    assert ("POST", "/token") not in sso.requests


def test_provider_refusal_is_explained(client, sso):
    # given nobody signed in at the provider (it answers access_denied)
    response = sign_in(client, sso)

    refusal_shown(client, response, "Single sign-on did not complete")
    assert AuditEvent.objects.get(action=AuditAction.SSO_REFUSED).detail == {
        "code": "provider_refused",
        "error": "access_denied",
    }


def _signed_in_agent(client, sso) -> User:
    sso.add_user("idp-ana", groups=["helpdesk-agents"], email="ana@corp.test")
    sso.signed_in = "idp-ana"
    sign_in(client, sso)
    return User.objects.get(username="ana")


def test_deactivated_at_the_provider_means_signed_out_on_the_next_request_after_the_interval(client, sso):
    # given an agent signed in with SSO
    start_at = timezone.now()
    with time_machine.travel(start_at, tick=False) as clock:
        user = _signed_in_agent(client, sso)
        # when the provider deactivates them
        sso.users["idp-ana"]["active"] = False
        token_calls = sso.requests.count(("POST", "/token"))

        # then within the re-check interval nothing asks the provider yet
        clock.move_to(start_at + timedelta(minutes=4))
        assert signed_in_user(client) == user
        assert sso.requests.count(("POST", "/token")) == token_calls

        # and on the first request after it, the refresh is refused and they are signed out, told why
        clock.move_to(start_at + timedelta(minutes=5, seconds=1))
        response = client.get("/tickets/")
        assert response.status_code == 302 and response["Location"] == "/login/?next=/tickets/"
        assert SIGNED_OUT_MESSAGE in client.get("/login/").content.decode()
        assert signed_in_user(client) is None
        signed_out = AuditEvent.objects.get(action=AuditAction.SIGN_OUT, actor=user)
        assert signed_out.detail["code"] == "revalidation_failed"
        # and they cannot come back through the provider either
        refusal_shown(client, sign_in(client, sso), "Single sign-on did not complete")


def test_a_form_post_is_rechecked_too_and_not_carried_out(client, sso):
    start_at = timezone.now()
    with time_machine.travel(start_at, tick=False) as clock:
        user = _signed_in_agent(client, sso)
        sso.users["idp-ana"]["active"] = False
        clock.move_to(start_at + timedelta(minutes=6))

        response = client.post("/me/availability/")

        assert response.status_code == 302 and response["Location"] == "/login/"
        user.refresh_from_db()
        assert user.is_available is True


def test_an_active_session_is_refreshed_and_follows_group_changes(client, sso):
    start_at = timezone.now()
    with time_machine.travel(start_at, tick=False) as clock:
        user = _signed_in_agent(client, sso)
        first_refresh_token = client.session[SSO_SESSION_KEY]["refresh_token"]

        # when the provider moves them to the specialists and the interval passes
        sso.users["idp-ana"]["groups"] = ["helpdesk-specialists"]
        clock.move_to(start_at + timedelta(minutes=6))

        # then the next request refreshes the tokens, keeps them signed in and moves them
        assert signed_in_user(client) == user
        user.refresh_from_db()
        assert user.role == Role.SPECIALIST and team_names(user) == {"Technical", "Compliance"}
        assert client.session[SSO_SESSION_KEY]["refresh_token"] != first_refresh_token

        # and when they leave every helpdesk group, the next check after the interval signs them out
        sso.users["idp-ana"]["groups"] = ["marketing"]
        clock.move_to(start_at + timedelta(minutes=12))
        assert signed_in_user(client) is None
        user.refresh_from_db()
        assert user.role == Role.SPECIALIST  # a refusal changes nothing


def test_a_password_session_is_never_sent_to_the_provider(client, sso, agent):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.force_login(agent)
        clock.shift(timedelta(minutes=30))
        assert signed_in_user(client) == agent
    assert sso.requests == []


def test_group_map_parsing():
    grants = parse_group_map(" a=agent:Frontline | Billing , m=manager, x=admin:")

    assert {g: (grant.role, grant.teams) for g, grant in grants.items()} == {
        "a": (Role.AGENT, ("Frontline", "Billing")),
        "m": (Role.MANAGER, ()),
        "x": (Role.ADMIN, ()),
    }
    assert access_for_groups(["m", "a", "other"], grants) == (Role.MANAGER, ("Frontline", "Billing"))
    assert access_for_groups(["other"], grants) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("support=customer", "OIDC_GROUP_MAP entry 'support=customer': the role must be one of"),
        ("support", "OIDC_GROUP_MAP entry 'support' is not group=role[:team|team]."),
        ("a=agent,a=manager", "OIDC_GROUP_MAP names the group 'a' twice."),
    ],
)
def test_group_map_errors_name_the_entry(text, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("|", r"\|").replace("]", r"\]")):
        parse_group_map(text)


def test_startup_check_refuses_a_bad_configuration(settings, db):
    settings.OIDC_ENABLED = True
    settings.OIDC_ISSUER = "https://idp.example.test"
    settings.OIDC_RP_CLIENT_ID = "helpdesk-web"
    settings.OIDC_RP_CLIENT_SECRET = ""
    settings.OIDC_GROUP_MAP = "helpdesk-agents=customer"

    with pytest.raises(SystemCheckError) as failure:
        call_command("check")

    assert "OIDC_ENABLED is on but OIDC_CLIENT_SECRET is empty." in str(failure.value)
    assert "the role must be one of admin, agent, manager, specialist" in str(failure.value)


def test_within_the_interval_the_recheck_costs_no_query_and_no_provider_call(client, sso, django_assert_num_queries):
    # given an agent signed in with SSO, and the same page's query count without the SSO session record
    start_at = timezone.now()
    with time_machine.travel(start_at, tick=False) as clock:
        _signed_in_agent(client, sso)
        clock.move_to(start_at + timedelta(minutes=1))
        client.get("/tickets/")  # warm up (last-seen stamp)
        calls = len(sso.requests)
        session = client.session
        record = session.pop(SSO_SESSION_KEY)
        session.save()
        with CaptureQueriesContext(connection) as without:
            client.get("/tickets/")
        session = client.session
        session[SSO_SESSION_KEY] = record
        session.save()

        # when the page is requested again within the interval
        with django_assert_num_queries(len(without.captured_queries)):
            response = client.get("/tickets/")

        # then it costs the same queries and nothing at the provider
        assert response.status_code == 200
        assert len(sso.requests) == calls


@pytest.mark.parametrize("how", ["htmx", "api"])
def test_htmx_fragments_and_api_calls_are_rechecked_too(client, sso, how):
    start_at = timezone.now()
    with time_machine.travel(start_at, tick=False) as clock:
        _signed_in_agent(client, sso)
        sso.users["idp-ana"]["active"] = False
        clock.move_to(start_at + timedelta(minutes=6))

        if how == "htmx":
            response = client.get(
                "/tickets/", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/tickets/?page=2"}
            )
            # the whole page goes to sign in, and comes back where the fragment was
            assert response.status_code == 200
            assert response["HX-Redirect"] == "/login/?next=/tickets/%3Fpage%3D2"
        else:
            response = client.get("/api/tickets/")
            assert response.status_code in {401, 403}
        assert signed_in_user(client) is None


def test_without_a_refresh_token_the_recheck_asks_userinfo(client, sso):
    sso.issue_refresh_tokens = False
    start_at = timezone.now()
    with time_machine.travel(start_at, tick=False) as clock:
        user = _signed_in_agent(client, sso)
        assert client.session[SSO_SESSION_KEY]["refresh_token"] == ""
        clock.move_to(start_at + timedelta(minutes=6))
        userinfo_calls = sso.requests.count(("GET", "/userinfo"))
        assert signed_in_user(client) == user
        assert sso.requests.count(("GET", "/userinfo")) == userinfo_calls + 1

        sso.users["idp-ana"]["active"] = False
        clock.move_to(start_at + timedelta(minutes=12))
        assert signed_in_user(client) is None


def test_a_locally_deactivated_account_is_refused(client, sso):
    user = _signed_in_agent(client, sso)
    client.post("/logout/")
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = sign_in(client, sso)

    refusal_shown(client, response, "This helpdesk account is deactivated.")
    assert signed_in_user(client) is None
