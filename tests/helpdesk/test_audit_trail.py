"""What the account-level audit trail records: sign-ins (form, admin, API), refused sign-ins, sign-outs, Django admin
configuration changes (old and new values, secrets masked), role and team changes, and approvals."""

import json

import pytest
from django.contrib import admin
from django.forms import MultiWidget

from helpdesk.admin_services import AuditedAdminMixin
from helpdesk.models import AuditEvent, Plan, TeamMembership, WebhookEndpoint

pytestmark = pytest.mark.django_db


def rows(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- sign-in, refused sign-in, sign-out --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "via"),
    [("/login/", "web"), ("/admin/login/?next=/admin/", "admin")],
)
def test_a_form_sign_in_and_sign_out_are_recorded(client, admin_user, path, via):
    # when the admin signs in through the form, then signs out
    response = client.post(path, {"username": "admin", "password": "pw-admin"}, REMOTE_ADDR="10.0.0.7")
    assert response.status_code == 302, response
    client.post("/logout/")
    # then both are on the trail, with who, from where and through which door
    (signed_in,) = rows("sign_in")
    assert (signed_in.actor, signed_in.actor_label, signed_in.ip_address) == (admin_user, "admin", "10.0.0.7")
    assert (signed_in.target_type, signed_in.target_id, signed_in.detail) == ("user", str(admin_user.pk), {"via": via})
    (signed_out,) = rows("sign_out")
    assert (signed_out.actor, signed_out.detail) == (admin_user, {"via": "web"})


@pytest.mark.parametrize("path", ["/login/", "/admin/login/?next=/admin/"])
def test_a_refused_form_sign_in_keeps_the_username_never_the_password(client, agent, path):
    response = client.post(path, {"username": "agent", "password": "Guess-Me-42"})
    assert response.status_code == 200
    (refused,) = rows("sign_in_failed")
    assert refused.actor is None
    assert (refused.target_type, refused.target_id) == ("username", "agent")
    assert refused.detail["username"] == "agent" and refused.detail["locked"] is False
    assert not rows("sign_in")
    assert "Guess-Me-42" not in json.dumps(list(AuditEvent.objects.values()), default=str)


def test_api_session_sign_in_refusal_and_lockout_are_recorded(client, agent, settings):
    settings.LOGIN_LOCKOUT_FAILURES = 2
    # given a wrong password twice (the second locks the username), then the right one while locked
    for password in ("nope-1", "nope-2", "pw-agent"):
        client.post("/api/auth/login/", {"username": "agent", "password": password}, content_type="application/json")
    refused = rows("sign_in_failed")
    assert [(row.detail["username"], row.detail["via"]) for row in refused] == [("agent", "api")] * 3
    assert [row.detail["locked"] for row in refused][-1] is True
    assert not rows("sign_in")


def test_api_session_sign_in_is_recorded(client, agent):
    response = client.post(
        "/api/auth/login/", {"username": "agent", "password": "pw-agent"}, content_type="application/json"
    )
    assert response.status_code == 200
    (signed_in,) = rows("sign_in")
    assert (signed_in.actor, signed_in.detail) == (agent, {"via": "api"})


def test_an_unknown_username_is_recorded_as_typed(client, db):
    client.post("/login/", {"username": "mallory", "password": "x"})
    (refused,) = rows("sign_in_failed")
    assert refused.detail["username"] == "mallory"


# --- Django admin ----------------------------------------------------------------------------------------------


def admin_form_data(response) -> dict:
    """The POST data an admin change page would send as shown (form and inline formsets)."""
    data: dict = {}

    def put(form, name):
        value = form[name].value()
        if value is None or value is False:
            return
        if value is True:
            value = "on"
        widget = form.fields[name].widget
        if isinstance(widget, MultiWidget):  # e.g. a split date and time: one input per part
            for index, part in enumerate(widget.decompress(value)):
                data[f"{form.add_prefix(name)}_{index}"] = str(part)
            return
        data[form.add_prefix(name)] = value

    form = response.context["adminform"].form
    for name in form.fields:
        put(form, name)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            data[f"{formset.prefix}-{name}"] = formset.management_form[name].value()
        for inline_form in formset.forms:
            for name in inline_form.fields:
                put(inline_form, name)
    return data


def test_every_registered_model_admin_is_audited():
    unaudited = sorted(
        f"{model._meta.label}: {type(model_admin).__name__}"
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, AuditedAdminMixin)
    )
    assert unaudited == []


def test_an_admin_change_records_old_and_new_values(client, admin_user, plans):
    plan = plans["pro"]
    client.force_login(admin_user)
    page = client.get(f"/admin/helpdesk/plan/{plan.pk}/change/")
    data = {**admin_form_data(page), "name": "Pro Plus", "rank": "5"}
    response = client.post(f"/admin/helpdesk/plan/{plan.pk}/change/", data, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 302, response.context["adminform"].form.errors
    (change,) = rows("config_changed")
    assert (change.actor, change.target_type, change.target_id) == (admin_user, "helpdesk.plan", str(plan.pk))
    assert change.ip_address == "10.9.9.9"
    assert change.detail == {
        "operation": "changed",
        "model": "helpdesk.plan",
        "object": "Pro Plus",
        "fields": {"name": {"old": "Pro", "new": "Pro Plus"}, "rank": {"old": 2, "new": 5}},
    }


def test_an_admin_add_and_delete_are_recorded(client, admin_user, plans):
    client.force_login(admin_user)
    page = client.get("/admin/helpdesk/plan/add/")
    data = {**admin_form_data(page), "code": "gold", "name": "Gold", "rank": "9"}
    assert client.post("/admin/helpdesk/plan/add/", data).status_code == 302
    gold = Plan.objects.get(code="gold")
    assert client.post(f"/admin/helpdesk/plan/{gold.pk}/delete/", {"post": "yes"}).status_code == 302
    added, deleted = rows("config_changed")
    assert added.detail["operation"] == "added"
    assert added.detail["fields"]["name"] == {"old": None, "new": "Gold"}
    assert (deleted.detail["operation"], deleted.target_id) == ("deleted", str(gold.pk))
    assert deleted.detail["values"]["code"] == "gold"


def test_a_webhook_secret_change_is_recorded_masked(client, admin_user, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    endpoint = WebhookEndpoint.objects.create(name="CRM", url="http://127.0.0.1:9/hook", secret="old-secret-AAAA")
    client.force_login(admin_user)
    page = client.get(f"/admin/helpdesk/webhookendpoint/{endpoint.pk}/change/")
    data = {**admin_form_data(page), "secret": "new-secret-BBBB", "name": "CRM sync"}
    response = client.post(f"/admin/helpdesk/webhookendpoint/{endpoint.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    (change,) = rows("config_changed")
    assert change.detail["fields"] == {
        "name": {"old": "CRM", "new": "CRM sync"},
        "secret": {"old": "[masked]", "new": "[masked]"},
    }
    trail = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert "old-secret-AAAA" not in trail and "new-secret-BBBB" not in trail


def test_a_role_change_in_admin_is_a_role_change_on_the_person(client, admin_user, agent):
    client.force_login(admin_user)
    page = client.get(f"/admin/helpdesk/user/{agent.pk}/change/")
    data = {**admin_form_data(page), "role": "specialist"}
    response = client.post(f"/admin/helpdesk/user/{agent.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    (change,) = rows("role_changed")
    assert (change.actor, change.target_type, change.target_id) == (admin_user, "user", str(agent.pk))
    assert change.detail == {
        "user": "agent",
        "via": "admin",
        "changes": {"role": {"old": "agent", "new": "specialist"}},
    }


def test_deactivating_in_admin_is_recorded_as_a_deactivation(client, admin_user, agent):
    client.force_login(admin_user)
    page = client.get(f"/admin/helpdesk/user/{agent.pk}/change/")
    data = admin_form_data(page)
    data.pop("is_active")
    assert client.post(f"/admin/helpdesk/user/{agent.pk}/change/", data).status_code == 302
    (change,) = rows("user_deactivated")
    assert change.detail["changes"] == {"is_active": {"old": True, "new": False}}


def test_a_team_membership_added_and_removed_in_admin_is_a_role_change(client, admin_user, teams, agent, agent2):
    team = teams["technical"]
    client.force_login(admin_user)
    # when the admin adds Agent 2 to the Technical team on the team's page
    page = client.get(f"/admin/helpdesk/team/{team.pk}/change/")
    data = admin_form_data(page)
    prefix = page.context["inline_admin_formsets"][0].formset.prefix
    total = int(data[f"{prefix}-TOTAL_FORMS"])
    data.update({f"{prefix}-TOTAL_FORMS": str(total + 1), f"{prefix}-{total}-user": str(agent2.pk)})
    assert client.post(f"/admin/helpdesk/team/{team.pk}/change/", data).status_code == 302
    # and then removes them again
    page = client.get(f"/admin/helpdesk/team/{team.pk}/change/")
    data = admin_form_data(page)
    membership = TeamMembership.objects.get(team=team, user=agent2)
    index = next(
        i for i, f in enumerate(page.context["inline_admin_formsets"][0].formset.forms) if f.instance == membership
    )
    data[f"{prefix}-{index}-DELETE"] = "on"
    assert client.post(f"/admin/helpdesk/team/{team.pk}/change/", data).status_code == 302
    # then the person's trail says so, both times
    added, removed = rows("role_changed")
    assert (added.target_id, added.detail["changes"]["team"]["team"]) == (str(agent2.pk), "Technical")
    assert [added.detail["changes"]["team"]["operation"], removed.detail["changes"]["team"]["operation"]] == [
        "added",
        "deleted",
    ]
    assert not TeamMembership.objects.filter(team=team, user=agent2).exists()


def test_revoking_a_token_in_admin_is_recorded(client, admin_user, agent):
    from helpdesk.api.services import api_token_create

    token, _ = api_token_create(user=agent, name="CI")
    client.force_login(admin_user)
    client.post("/admin/helpdesk/apitoken/", {"action": "revoke", "_selected_action": [str(token.pk)]}, follow=False)
    (change,) = rows("config_changed")
    assert (change.detail["operation"], change.target_id) == ("revoked", str(token.pk))


# --- approvals -------------------------------------------------------------------------------------------------


def test_approving_compensation_records_who_approved_what(config, manager, specialist, customer, make_ticket):
    from escalations.compensation import compensation_decide, compensation_request_create

    ticket = make_ticket(customer)
    request = compensation_request_create(
        ticket=ticket, actor=specialist, amount="900.00", currency="GBP", reason="Double charge."
    )
    assert not rows("approval")
    compensation_decide(request=request, actor=manager, approve=True)
    (approval,) = rows("approval")
    assert (approval.actor, approval.target_type, approval.target_id) == (
        manager,
        "compensation_request",
        str(request.pk),
    )
    assert approval.detail["decision"] == "approved"
    assert (approval.detail["ticket"], approval.detail["amount"], approval.detail["currency"]) == (
        ticket.reference,
        "900.00",
        "GBP",
    )
    assert approval.detail["requested_by"] == "specialist"
