"""The role x ticket matrix: the detail page answers 200 exactly when the ticket is in tickets_visible_to, and the
list counts agree with detail access."""

import pytest

from helpdesk.models import Ticket
from helpdesk.selectors import tickets_visible_to


def _listed(response) -> int:
    """How many tickets a list page counts: the staff queue's capped count (its pages are keyset pages), or the
    customer list's paginator."""
    context = response.context
    return context["paginator"].count if "paginator" in context else context["page"].paginator.count


@pytest.fixture
def world(customer, customer2, agent, specialist, compliance_officer, manager, admin_user, teams, make_ticket):
    from helpdesk.models import User
    from helpdesk.notifications import notification_enqueue

    colleague = User.objects.create_user(
        username="colleague", password="pw-colleague", role="customer", organization=customer.organization
    )
    tickets = {
        "mine": make_ticket(customer, subject="Mine"),
        "colleague": make_ticket(colleague, subject="My colleague's"),
        "other_org": make_ticket(customer2, subject="Other organisation"),
        "restricted": make_ticket(customer, subject="GDPR erasure", category="data-privacy"),
        # a compliance matter the colleague raised (e.g. about the customer): theirs alone on the customer side
        "colleague_restricted": make_ticket(colleague, subject="Access request about a co-worker"),
    }
    # Before the request was restricted its raiser's colleague could see it, and had an in-app notice about it.
    notification_enqueue(
        kind="old", subject="GDPR erasure", recipients=[colleague], ticket=tickets["restricted"], email=False
    )
    for name in ("restricted", "colleague_restricted"):
        Ticket.objects.filter(pk=tickets[name].pk).update(restricted=True, team=teams["compliance"])
    users = {
        "customer": customer,
        "colleague": colleague,
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
    # customers: their own organisation; a restricted request only to the customer who raised it (ticket.customer)
    "customer": {"mine", "colleague", "restricted"},
    "colleague": {"mine", "colleague", "colleague_restricted"},
    "customer2": {"other_org"},
    # staff: restricted tickets only to the handling team, tier 3 and admins
    "agent": {"mine", "colleague", "other_org"},
    "specialist": {"mine", "colleague", "other_org"},
    "compliance": {"mine", "colleague", "other_org", "restricted", "colleague_restricted"},
    "manager": {"mine", "colleague", "other_org", "restricted", "colleague_restricted"},
    "admin": {"mine", "colleague", "other_org", "restricted", "colleague_restricted"},
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
    listed = _listed(client.get("/tickets/", {"scope": "all"}))
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


def test_a_restricted_request_reaches_only_the_customer_who_raised_it(world, client, login, manager, settings):
    """A colleague in the same organisation gets a miss everywhere: portal, search, API, notifications, survey."""
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    from feedback.models import Survey
    from feedback.services import survey_path, surveys_send_due
    from helpdesk.models import Notification, NotificationChannel
    from helpdesk.notifications import notification_enqueue
    from helpdesk.selectors import notification_unread_count, notifications_visible_to
    from helpdesk.services import ticket_change_status

    users, tickets = world
    raiser, colleague = users["customer"], users["colleague"]
    colleague.email = "colleague@northwind.test"
    colleague.save(update_fields=["email"])
    ticket = tickets["restricted"]
    # given an in-app notice the colleague had about the request (from before it was restricted: see ``world``)
    assert Notification.objects.filter(
        channel=NotificationChannel.IN_APP, kind="old", recipient=colleague, ticket=ticket
    ).exists()
    # and a notice now queued for both contacts
    notification_enqueue(kind="reply", subject="GDPR erasure: update", recipients=[raiser, colleague], ticket=ticket)
    # and the request resolved and its survey sent by the sweep
    settings.FEEDBACK_SURVEY_SAMPLE_RATE = 1.0
    ticket_change_status(ticket=ticket, actor=manager, status="resolved")
    surveys_send_due(now=timezone.now() + timedelta(hours=3))
    survey_url = survey_path(survey=Survey.objects.get(ticket=ticket))

    def reach(user) -> dict[str, object]:
        c = Client()
        assert c.login(username=user.username, password="pw-" + user.username)
        api_list = c.get("/api/tickets/").json()["results"]
        return {
            "portal detail": c.get(f"/tickets/{ticket.reference}/").status_code,
            "portal list": ticket.reference.encode() in c.get("/tickets/").content,
            "search": ticket.reference.encode() in c.get("/tickets/", {"q": "GDPR"}).content,
            "API detail": c.get(f"/api/tickets/{ticket.reference}/").status_code,
            "API list": ticket.reference in {row["reference"] for row in api_list},
            "notifications queued": Notification.objects.filter(ticket=ticket, recipient=user)
            .exclude(kind="old")
            .exists(),
            "in-app list": notifications_visible_to(user).filter(ticket=ticket).exists(),
            "survey page": c.get(survey_url).status_code,
        }

    # when the raising customer and their colleague each try every way in
    # then the raising customer still reaches it everywhere
    assert reach(raiser) == {
        "portal detail": 200,
        "portal list": True,
        "search": True,
        "API detail": 200,
        "API list": True,
        "notifications queued": True,
        "in-app list": True,
        "survey page": 200,
    }
    # and the colleague gets a miss everywhere
    assert reach(colleague) == {
        "portal detail": 404,
        "portal list": False,
        "search": False,
        "API detail": 404,
        "API list": False,
        "notifications queued": False,
        "in-app list": False,
        "survey page": 404,
    }
    assert not Notification.objects.filter(to_address=colleague.email).exists()
    assert notification_unread_count(colleague) == 0
    # and the colleague's portal count leaves it out
    login(colleague)
    assert _listed(client.get("/tickets/")) == len(EXPECTED["colleague"])
