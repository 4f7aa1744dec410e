"""The one permission home (the role predicates on ``User``): the table of who is what, and one test per place that
used to disagree about superusers. The rule: a superuser is an administrator everywhere; an inactive user holds no
powers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from helpdesk.models import Role, Ticket, User
from helpdesk.navigation import nav_for

PREDICATES = [
    "effective_role",
    "is_customer",
    "is_staff_member",
    "tier",
    "is_agent",
    "is_specialist",
    "is_manager",
    "is_tier3",
    "is_admin",
    "can_coach",
    "can_edit_kb",
]

# kind: (role, is_superuser, is_active) -> expected values in PREDICATES' order
TABLE = {
    "customer": ((Role.CUSTOMER, False, True), ("customer", True, False, None, False, False, False, False, False, False, False)),
    "agent": ((Role.AGENT, False, True), ("agent", False, True, 1, True, False, False, False, False, False, False)),
    "specialist": ((Role.SPECIALIST, False, True), ("specialist", False, True, 2, False, True, False, False, False, False, False)),
    "manager": ((Role.MANAGER, False, True), ("manager", False, True, 3, False, False, True, True, False, True, True)),
    "admin": ((Role.ADMIN, False, True), ("admin", False, True, 3, False, False, True, True, True, True, True)),
    "superuser customer": ((Role.CUSTOMER, True, True), ("admin", False, True, 3, False, False, True, True, True, True, True)),
    "superuser agent": ((Role.AGENT, True, True), ("admin", False, True, 3, False, False, True, True, True, True, True)),
    "inactive manager": ((Role.MANAGER, False, False), ("manager", False, True, 3, False, False, False, False, False, False, False)),
    "inactive superuser": ((Role.AGENT, True, False), ("admin", False, True, 3, False, False, False, False, False, False, False)),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(TABLE))
def test_role_predicates_table(kind):
    # given
    (role, is_superuser, is_active), expected = TABLE[kind]
    user = User(username=kind, role=role, is_superuser=is_superuser, is_active=is_active)

    # when
    actual = tuple(getattr(user, name) for name in PREDICATES)

    # then
    assert dict(zip(PREDICATES, actual, strict=True)) == dict(zip(PREDICATES, expected, strict=True))


@pytest.mark.django_db
def test_tier3_q_selects_exactly_the_users_whose_is_manager_holds():
    # given one user of each kind in the table
    for kind, ((role, is_superuser, is_active), _) in TABLE.items():
        User.objects.create_user(
            username=kind.replace(" ", "-"), role=role, is_superuser=is_superuser, is_active=is_active
        )

    # when
    in_query = set(User.objects.filter(User.tier3_q()).values_list("username", flat=True))

    # then
    assert in_query == {u.username for u in User.objects.all() if u.is_manager}
    assert in_query == {"manager", "admin", "superuser-customer", "superuser-agent"}


# --- the former disagreements: a superuser whose role field says something else ---------------------------------


@pytest.fixture
def superuser_agent(db):
    return User.objects.create_user(username="root", password="pw-root", role=Role.AGENT, is_superuser=True)


@pytest.fixture
def superuser_customer(db):
    return User.objects.create_user(username="rootc", password="pw-rootc", role=Role.CUSTOMER, is_superuser=True)


NEW_POLICY = {
    "name": "Basic urgent",
    "plan": "basic",
    "priority": "urgent",
    "calendar": "Always",
    "first_response_minutes": 30,
    "resolution_minutes": 240,
}


@pytest.mark.parametrize("who", ["superuser_agent", "superuser_customer"])
def test_superuser_can_save_an_sla_policy_through_the_api(request, plans, who):
    # given (was a 403: the API's IsAdminOrStaffReadOnly read ``role == admin`` only)
    from escalations.models import BusinessCalendar, SLAPolicy

    BusinessCalendar.objects.create(name="Always", timezone="UTC", is_24x7=True)
    api = APIClient()
    api.force_authenticate(request.getfixturevalue(who))

    # when
    response = api.post("/api/sla-policies/", NEW_POLICY, format="json")

    # then
    assert response.status_code == 201, response.content
    assert SLAPolicy.objects.filter(name="Basic urgent", plan=plans["basic"]).exists()


def test_superuser_can_save_an_sla_policy_through_the_service(plans, superuser_agent):
    # given (sla_policy_save refused anyone whose role was not admin, while reports let superusers apply drafts)
    from escalations.models import BusinessCalendar, SLAPolicy
    from escalations.sla.services import sla_policy_save

    calendar = BusinessCalendar.objects.create(name="Always", timezone="UTC", is_24x7=True)

    # when
    policy = sla_policy_save(
        policy=SLAPolicy(),
        actor=superuser_agent,
        fields={"name": "Basic low", "plan": plans["basic"], "priority": "low", "calendar": calendar},
    )

    # then
    assert policy.pk is not None


@pytest.mark.parametrize(
    "url_name",
    [
        "reports_dashboard",
        "reports_coaching",
        "kb_health",
        "rca_review_queue",
        "escalation_review",
        "compensation_approvals",
    ],
)
def test_superuser_with_role_customer_reaches_the_manager_screens(client, superuser_customer, url_name):
    # given (approvals were refused: staff_required read the role only, manager_required also read is_superuser)
    client.login(username="rootc", password="pw-rootc")

    # when
    response = client.get(reverse(url_name))

    # then
    assert response.status_code == 200


def test_superuser_with_role_customer_sees_every_ticket(make_ticket, customer, customer2, superuser_customer):
    # given (visibility treated the role "customer" first and showed a superuser only their own requests)
    from helpdesk.selectors import tickets_visible_to

    mine = make_ticket(customer, subject="Ours")
    theirs = make_ticket(customer2, subject="Theirs")
    Ticket.objects.filter(pk=theirs.pk).update(restricted=True)

    # when
    visible = set(tickets_visible_to(superuser_customer))

    # then
    assert {mine, theirs} <= visible


def test_superuser_has_the_tier3_approval_limit(superuser_agent, manager):
    # given (the approval limit read the role's tier: a superuser agent could approve only tier 1 amounts)
    from escalations.selectors import approval_limit_for

    # when
    limit = approval_limit_for(user=superuser_agent, currency="GBP")

    # then
    assert limit == approval_limit_for(user=manager, currency="GBP")
    assert limit > Decimal("0")


def test_superuser_sees_the_admin_navigation(superuser_customer, admin_user):
    # given / when
    labels = [item["label"] for item in nav_for(superuser_customer)]

    # then
    assert labels == [item["label"] for item in nav_for(User(role=Role.ADMIN))]
    assert "RCA review" in labels and "My requests" not in labels


def test_inactive_manager_may_not_coach(agent, manager):
    # given
    from django.core.exceptions import PermissionDenied

    from reports.services import coaching_session_record

    manager.is_active = False

    # when / then
    with pytest.raises(PermissionDenied):
        coaching_session_record(agent=agent, manager=manager, held_on=manager.date_joined.date(), notes="Tone.")
