"""The outbox fan-out (``escalations.bulk._notify_bulk``): Python decides who hears of a notice, the database writes
one row per recipient and channel in one statement. The rows are those the per-row writer wrote before."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from escalations import bulk
from escalations.bulk import _Notice, _notify_bulk
from helpdesk.models import Notification, NotificationKind, User

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
MONDAY = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


@pytest.fixture
def dispatched(monkeypatch) -> list[int]:
    ids: list[int] = []
    monkeypatch.setattr(bulk, "notifications_dispatch_on_commit", ids.extend)
    return ids


def test_each_recipient_gets_in_app_email_and_for_a_page_sms_in_one_insert(
    settings, make_ticket, customer, customer2, agent, agent2, dispatched, django_assert_num_queries
):
    # given the pager on; the agent has a phone, the second agent no email address, a third agent has left
    settings.PAGER_BACKEND = "console"
    agent.phone = "+447700900001"
    agent.save(update_fields=["phone"])
    agent2.email = ""
    agent2.save(update_fields=["email"])
    gone = User.objects.create_user(username="gone", role="agent", email="gone@example.test", is_active=False)
    ticket = make_ticket(customer, subject="Printer on fire")
    Notification.objects.all().delete()
    page = _Notice(
        ticket=ticket,
        # the agent twice, and a customer of another organisation, who may not see the ticket
        recipients=[agent, agent2, agent, customer2, gone],
        kind=NotificationKind.ESCALATION_EMERGENCY,
        subject=f"[{ticket.reference}] " + "x" * 300,
        body="Problem: fire",
        not_before=MONDAY,
        data={"escalation_id": 7},
        page=True,
    )
    told = _Notice(
        ticket=ticket,
        recipients=[customer],
        kind=NotificationKind.CUSTOMER_ESCALATED,
        subject=f"[{ticket.reference}] An update on your request",
        body="Hello Dana",
        not_before=None,
    )
    # when both are written: one visibility query per staff recipient (the agents, the other customer), one INSERT
    with django_assert_num_queries(4):
        written = _notify_bulk([page, told], NOW)
    # then each visible recipient has an in-app row (sent), an email row if they have an address (held to the
    # notice's not_before) and, for the page, an SMS to their phone; nobody else has any
    rows = list(
        Notification.objects.order_by("pk").values_list(
            "recipient__username", "channel", "status", "to_address", "not_before", "sent_at", "kind"
        )
    )
    assert rows == [
        ("agent", "in_app", "sent", "", None, NOW, "escalation_emergency"),
        ("agent", "email", "pending", "agent@example.test", MONDAY, None, "escalation_emergency"),
        ("agent", "sms", "pending", "+447700900001", None, None, "escalation_emergency"),
        ("agent2", "in_app", "sent", "", None, NOW, "escalation_emergency"),
        ("customer", "in_app", "sent", "", None, NOW, "customer_escalated"),
        ("customer", "email", "pending", "customer@example.test", None, None, "customer_escalated"),
    ]
    assert written == 6
    # and every row carries its notice's words, link and data, written at the batch's moment
    first = Notification.objects.filter(kind="escalation_emergency").first()
    assert first is not None
    assert first.subject == page.subject[:250]
    assert (first.body, first.url, first.data) == (
        "Problem: fire",
        f"/tickets/{ticket.reference}/",
        {"escalation_id": 7},
    )
    assert set(Notification.objects.values_list("created_at", flat=True)) == {NOW}
    assert Notification.objects.filter(kind="customer_escalated").first().data == {}  # type: ignore[union-attr]
    # and only the email and SMS rows are handed to the workers
    assert sorted(dispatched) == sorted(Notification.objects.filter(status="pending").values_list("pk", flat=True))


def test_without_the_pager_a_page_is_not_texted_and_nobody_visible_writes_nothing(
    make_ticket, customer, customer2, agent, dispatched, django_assert_num_queries
):
    # given the pager off and an agent with a phone
    agent.phone = "+447700900001"
    agent.save(update_fields=["phone"])
    ticket = make_ticket(customer)
    Notification.objects.all().delete()

    def notice(*recipients):
        return _Notice(
            ticket=ticket, recipients=list(recipients), kind=NotificationKind.ESCALATION_EMERGENCY,
            subject="Page", body="", not_before=None, page=True,
        )  # fmt: skip

    # when a page goes to the agent, and a notice only to someone who may not see the ticket
    assert _notify_bulk([notice(agent)], NOW) == 2
    with django_assert_num_queries(1):
        assert _notify_bulk([notice(customer2)], NOW) == 0
    # then the agent has in-app and email, no SMS; the other customer nothing
    assert sorted(Notification.objects.values_list("recipient__username", "channel")) == [
        ("agent", "email"),
        ("agent", "in_app"),
    ]
    assert len(dispatched) == 1


def test_on_sqlite_notices_over_the_variable_limit_are_written_in_several_statements(
    monkeypatch, make_ticket, customer, agent, agent2, dispatched, django_assert_num_queries
):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL writes any batch in one statement (arrays)")
    # given a variable limit that holds one notice with its recipients per statement
    monkeypatch.setattr(type(connection.features), "max_query_params", 40)
    ticket = make_ticket(customer)
    Notification.objects.all().delete()
    notices = [
        _Notice(ticket=ticket, recipients=[agent, agent2], kind=NotificationKind.SLA_WARNING, subject=f"Warning {i}",
                body="", not_before=None)
        for i in range(3)
    ]  # fmt: skip
    # when three are written: two visibility queries, then one INSERT per notice
    with django_assert_num_queries(2 + 3):
        assert _notify_bulk(notices, NOW) == 3 * 2 * 2
    # then every notice reached both agents by both channels, in order
    assert list(Notification.objects.order_by("pk").values_list("subject", "recipient__username", "channel")) == [
        (f"Warning {i}", name, channel)
        for i in range(3)
        for name in ("agent", "agent2")
        for channel in ("in_app", "email")
    ]
