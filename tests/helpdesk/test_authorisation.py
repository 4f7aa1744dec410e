"""The role x ticket matrix: the detail page answers 200 exactly when the ticket is in tickets_visible_to, and the
list counts agree with detail access."""

import pytest

from helpdesk.models import Ticket
from helpdesk.selectors import tickets_visible_to


@pytest.fixture
def world(customer, customer2, agent, specialist, compliance_officer, manager, admin_user, teams, make_ticket):
    from helpdesk.models import User

    colleague = User.objects.create_user(
        username="colleague", password="pw-colleague", role="customer", organization=customer.organization
    )
    tickets = {
        "mine": make_ticket(customer, subject="Mine"),
        "colleague": make_ticket(colleague, subject="My colleague's"),
        "other_org": make_ticket(customer2, subject="Other organisation"),
        "restricted": make_ticket(customer, subject="GDPR erasure", category="data-privacy"),
    }
    restricted = tickets["restricted"]
    Ticket.objects.filter(pk=restricted.pk).update(restricted=True, team=teams["compliance"])
    users = {
        "customer": customer,
        "customer2": customer2,
        "agent": agent,
        "specialist": specialist,
        "compliance": compliance_officer,
        "manager": manager,
        "admin": admin_user,
    }
    return users, tickets


EXPECTED = {
    # role: tickets whose detail page they may open
    "customer": {"mine", "colleague", "restricted"},  # own organisation; restricted hides internals, not the request
    "customer2": {"other_org"},
    "agent": {"mine", "colleague", "other_org"},
    "specialist": {"mine", "colleague", "other_org"},
    "compliance": {"mine", "colleague", "other_org", "restricted"},
    "manager": {"mine", "colleague", "other_org", "restricted"},
    "admin": {"mine", "colleague", "other_org", "restricted"},
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_role_ticket_matrix(world, client, login, role):
    users, tickets = world
    user = users[role]
    login(user)
    visible = set(tickets_visible_to(user).values_list("reference", flat=True))
    for name, ticket in tickets.items():
        status = client.get(f"/tickets/{ticket.reference}/").status_code
        # then the detail page agrees with the selector, and both agree with the product rule
        assert status == (200 if ticket.reference in visible else 404), (role, name, status)
        assert (status == 200) == (name in EXPECTED[role]), (role, name, status)
    # and the list shows exactly the visible tickets (all scope for staff, own organisation for customers)
    listed = client.get("/tickets/", {"scope": "all"}).context["page"].paginator.count
    assert listed == len(EXPECTED[role])


def test_unknown_reference_is_404_not_500(world, client, login):
    users, _ = world
    login(users["agent"])
    assert client.get("/tickets/HD-1999-999999/").status_code == 404


def test_anonymous_is_sent_to_login(world, client):
    _, tickets = world
    response = client.get(f"/tickets/{tickets['mine'].reference}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_customer_never_sees_internal_events(world, client, login, agent):
    from helpdesk import services

    users, tickets = world
    services.ticket_add_internal_note(ticket=tickets["mine"], author=agent, body="Customer is difficult")
    login(users["customer"])
    response = client.get(f"/tickets/{tickets['mine'].reference}/")
    assert b"Customer is difficult" not in response.content
    login(users["agent"])
    assert b"Customer is difficult" in client.get(f"/tickets/{tickets['mine'].reference}/").content
