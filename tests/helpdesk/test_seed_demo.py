from django.core.management import call_command

from helpdesk.models import Notification, Organization, Status, Team, Ticket, TicketEvent, User


def test_seed_demo_is_idempotent_and_realistic(db, capsys):
    # when the demo is seeded twice
    call_command("seed_demo", "--password", "pw-demo")
    counts = (User.objects.count(), Team.objects.count(), Ticket.objects.count(), TicketEvent.objects.count())
    call_command("seed_demo", "--password", "pw-demo")
    out = capsys.readouterr().out
    # then nothing is duplicated
    assert (User.objects.count(), Team.objects.count(), Ticket.objects.count(), TicketEvent.objects.count()) == counts
    # and the named logins exist with the given password and the right roles
    expected = {
        "customer": "customer",
        "customer2": "customer",
        "agent": "agent",
        "agent2": "agent",
        "specialist": "specialist",
        "manager": "manager",
        "admin": "admin",
    }
    for username, role in expected.items():
        user = User.objects.get(username=username)
        assert user.role == role and user.check_password("pw-demo")
        assert f"  {username}" in out
    assert (
        User.objects.get(username="customer").organization.plan
        != User.objects.get(username="customer2").organization.plan
    )
    assert set(Team.objects.values_list("tier", flat=True)) == {1, 2, 3}
    assert Organization.objects.count() >= 2
    # about 50 tickets in mixed states, with a few months of history
    demo_tickets = Ticket.objects.exclude(reference__startswith="HIST-")
    assert 45 <= demo_tickets.count() <= 80
    # and, for the likely-to-escalate model, an imported history of closed tickets and a first model trained on it
    assert Ticket.objects.filter(reference__startswith="HIST-", status=Status.CLOSED).count() == 400
    assert "risk model v1: 400 historic tickets" in out
    assert set(demo_tickets.values_list("status", flat=True)) >= {
        Status.NEW,
        Status.OPEN,
        Status.PENDING_CUSTOMER,
        Status.RESOLVED,
        Status.CLOSED,
    }
    oldest = Ticket.objects.order_by("created_at").first().created_at
    newest = Ticket.objects.order_by("-created_at").first().created_at
    assert (newest - oldest).days >= 60
    # demo history does not flood the outbox at start-up
    assert not Notification.objects.filter(status="pending").exists()
