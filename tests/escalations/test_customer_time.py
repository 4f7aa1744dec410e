"""One customer-facing time zone and one format (``helpdesk.customer_time``) on every surface the customer reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from helpdesk.customer_time import customer_datetime, customer_timezone
from helpdesk.models import Notification, NotificationChannel, NotificationKind

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

# who has a zone -> (the zone the customer must read, opened at 10:00 UTC, the answer due at 11:00 UTC, and the
# 14:00-15:00 UTC callback window, all there)
CASES = {
    "customer": (
        "America/New_York",
        "05:00",
        "Monday 23 November, 06:00",
        "Monday 23 November, 09:00 and 10:00",
    ),
    "organisation": ("Europe/Paris", "11:00", "Monday 23 November, 12:00", "Monday 23 November, 15:00 and 16:00"),
    "calendar": (
        "Asia/Tokyo",
        "19:00",
        "Monday 23 November, 20:00",
        "Monday 23 November, 23:00 and Tuesday 24 November, 00:00",
    ),
}


@pytest.fixture
def three_zone_ticket(config, make_ticket, customer, agent, specialist):
    """A ticket whose customer (New York), organisation (Paris) and SLA calendar (Tokyo) are in three zones; the
    first answer is due one hour after it was opened at 10:00 UTC."""
    from escalations.models import BusinessCalendar, SLAPolicy

    calendar = BusinessCalendar.objects.create(name="Tokyo desk", timezone="Asia/Tokyo", is_24x7=True)
    SLAPolicy.objects.create(
        name="enterprise normal",
        plan=customer.organization.plan,
        priority="normal",
        calendar=calendar,
        first_response_minutes=60,
        next_response_minutes=120,
        resolution_minutes=480,
    )
    customer.timezone = "America/New_York"
    customer.save(update_fields=["timezone"])
    customer.organization.timezone = "Europe/Paris"
    customer.organization.save(update_fields=["timezone"])

    def make(whose_zone: str):
        if whose_zone != "customer":
            customer.timezone = ""
            customer.save(update_fields=["timezone"])
        if whose_zone == "calendar":
            customer.organization.timezone = ""
            customer.organization.save(update_fields=["timezone"])
        with time_machine.travel(MONDAY_10, tick=False):
            return make_ticket(customer, category="outage")

    return make


@pytest.mark.parametrize("whose_zone", list(CASES))
def test_every_customer_facing_surface_uses_the_customers_zone_labelled(
    whose_zone, three_zone_ticket, customer, agent, login, escalate
):
    from escalations.calls.services import callback_create

    zone, opened, due, window = CASES[whose_zone]
    # given a ticket whose first answer is due at 11:00 UTC
    ticket = three_zone_ticket(whose_zone)
    assert ticket.sla_due_at == MONDAY_10 + timedelta(hours=1)
    assert customer_timezone(ticket) == ZoneInfo(zone)
    with time_machine.travel(MONDAY_10 + timedelta(minutes=5), tick=False):
        # when an agent escalates it and promises a callback from 14:00 to 15:00 UTC
        escalate(ticket, agent)
        callback_create(
            ticket=ticket,
            actor=agent,
            window_start=MONDAY_10 + timedelta(hours=4),
            window_end=MONDAY_10 + timedelta(hours=5),
            reason="Walk them through the reset.",
        )
        # and the customer opens the ticket page
        html = login(customer).get(reverse("ticket_detail", args=[ticket.reference])).content.decode()
    # then the portal promise, the escalation email and the callback email are in that zone and say so
    assert f"We promised an answer by {due} ({zone})." in html
    assert f"<dd>Monday 23 November 2026, {opened} ({zone})</dd>" in html
    escalated = Notification.objects.get(
        kind=NotificationKind.CUSTOMER_ESCALATED, channel=NotificationChannel.EMAIL, recipient=customer
    )
    assert f"We promised an answer by {due} ({zone})." in escalated.body
    called = Notification.objects.get(kind=NotificationKind.CUSTOMER_CALLBACK_PROMISED, recipient=customer)
    assert f"between {window} ({zone})." in called.body


def test_the_format_names_the_day_the_time_and_the_zone():
    # given a moment in UTC, when it is written for a customer in London and in Tokyo
    moment = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    # then
    assert customer_datetime(moment, tz=ZoneInfo("Europe/London")) == "Tuesday 1 December, 10:00 (Europe/London)"
    assert customer_datetime(moment, tz=ZoneInfo("Asia/Tokyo"), year=True) == (
        "Tuesday 1 December 2026, 19:00 (Asia/Tokyo)"
    )


def test_an_unknown_zone_name_falls_through_to_the_next(make_ticket, customer, settings):
    # given a customer whose stored zone is not a real one
    customer.timezone = "Mars/Olympus_Mons"
    customer.save(update_fields=["timezone"])
    customer.organization.timezone = "Europe/Paris"
    customer.organization.save(update_fields=["timezone"])
    # when / then the organisation's zone is used, never an error
    assert customer_timezone(make_ticket(customer)) == ZoneInfo("Europe/Paris")
