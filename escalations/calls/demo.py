"""Demo data for calls: a few calls on phone tickets, a pending callback due soon and an overdue one."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import transaction

from escalations.calls.services import call_log, callback_create
from escalations.models import Call
from helpdesk.models import Channel, Ticket


@transaction.atomic
def seed_calls(*, now: datetime, rng: random.Random, people: dict, stdout=None) -> None:
    """Idempotent: does nothing once any call exists."""
    if Call.objects.exists():
        return
    agent = people["agents"][0]
    customers = people["customers"]
    phone_ticket = call_log(
        actor=agent,
        customer=customers[0],
        direction="inbound",
        number="+44 20 7946 0101",
        summary="Cannot reach the billing portal since this morning; walked through a password reset.",
        outcome="resolved",
        duration_seconds=312,
        started_at=now - timedelta(hours=3),
        subject="Billing portal unreachable (phone)",
    ).ticket
    call_log(
        actor=agent,
        ticket=phone_ticket,
        direction="outbound",
        number="+44 20 7946 0101",
        summary="Checked the portal works now; customer confirmed.",
        outcome="resolved",
        duration_seconds=95,
        started_at=now - timedelta(hours=1),
    )
    second = call_log(
        actor=agent,
        customer=customers[1 % len(customers)],
        direction="inbound",
        number="+44 161 496 0102",
        summary="Invoice shows a duplicate charge; needs the finance team to confirm.",
        outcome="callback_promised",
        duration_seconds=240,
        started_at=now - timedelta(hours=4),
        subject="Duplicate charge on the invoice (phone)",
    ).ticket
    callback_create(
        ticket=second,
        actor=agent,
        window_start=now + timedelta(minutes=30),
        window_end=now + timedelta(minutes=90),
        reason="Confirm the duplicate charge has been refunded.",
        number="+44 161 496 0102",
        now=now - timedelta(hours=4),
    )
    older = Ticket.objects.filter(channel=Channel.PHONE).exclude(pk__in=[phone_ticket.pk, second.pk]).first()
    target = older or phone_ticket
    callback_create(
        ticket=target,
        actor=agent,
        window_start=now - timedelta(hours=2),
        window_end=now - timedelta(minutes=30),
        reason="Promised to call back once the outage was fixed.",
        number="",  # the number of the last call on the ticket
        now=now - timedelta(hours=3),
    )
    if stdout is not None:
        stdout.write("Calls: 3 calls, a callback due soon and an overdue one.\n")
