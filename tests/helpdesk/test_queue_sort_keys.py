"""The queue's stored sort keys (``Ticket.priority_order``, ``Ticket.sla_order_at``) agree with the one rule that
defines them (``priority_sort_key``, the far future for "no clock"), whichever path wrote their inputs; and the keyset
row comparison is the same order as the ORDER BY."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk import services
from helpdesk.filters import NON_NULL_SORT_KEYS, SORTS, queue_order
from helpdesk.keyset import after_q, sort_keys
from helpdesk.models import PRIORITY_RANK, SLA_NEVER, Priority, Ticket, priority_sort_key

pytestmark = pytest.mark.django_db


def _keys(ticket: Ticket) -> tuple[int, object]:
    return Ticket.objects.values_list("priority_order", "sla_order_at").get(pk=ticket.pk)


def test_priority_sort_key_puts_the_most_urgent_first():
    # given the product's priority ranks, when they are turned into the ascending sort key, then urgent comes first
    ordered = sorted(PRIORITY_RANK, key=priority_sort_key)
    assert ordered == [Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW]
    assert priority_sort_key(Priority.URGENT) == 0


def test_stored_keys_follow_the_service_that_creates_and_the_one_that_changes_priority(customer, agent, make_ticket):
    # given a ticket created through the service with each priority
    tickets = {priority: make_ticket(customer, subject=priority, priority=priority) for priority in Priority.values}
    for priority, ticket in tickets.items():
        # then its stored key is the rule's value, and no clock means "after every deadline"
        assert _keys(ticket) == (priority_sort_key(priority), SLA_NEVER)
    # when the priority is changed through the service
    ticket = tickets[Priority.LOW]
    services.ticket_change_priority(ticket=ticket, actor=agent, priority=Priority.URGENT)
    # then the stored key follows
    assert _keys(ticket)[0] == priority_sort_key(Priority.URGENT)


def test_stored_sla_key_follows_a_plain_update_like_the_sla_engine_writes(customer, make_ticket):
    # given a ticket whose deadline the SLA engine sets with a plain UPDATE (escalations.sla.engine)
    ticket = make_ticket(customer)
    due = timezone.now() + timedelta(hours=2)
    # when the deadline is set, then cleared (the clock paused)
    Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=due)
    set_key = _keys(ticket)[1]
    Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=None)
    # then the stored key is the deadline, then the far future
    assert set_key == due
    assert _keys(ticket)[1] == SLA_NEVER


@pytest.mark.parametrize("sort", sorted(SORTS))
def test_keyset_boundary_is_the_same_order_as_the_order_by(customer, make_ticket, sort):
    # given tickets with ties on every sort key and one emergency
    now = timezone.now()
    for i in range(8):
        ticket = make_ticket(customer, subject=f"T{i}", priority=[Priority.HIGH, Priority.LOW][i % 2])
        Ticket.objects.filter(pk=ticket.pk).update(
            sla_due_at=None if i % 3 == 0 else now + timedelta(minutes=i % 2), is_emergency=i == 5
        )
    ordered = queue_order(Ticket.objects.open(), sort)
    ids = list(ordered.values_list("pk", flat=True))
    keys = sort_keys(ordered)
    # when each row's keyset condition ("rows after me") is applied
    for position, pk in enumerate(ids):
        values = list(Ticket.objects.values_list(*[key.name for key in keys]).get(pk=pk))
        after = list(ordered.filter(after_q(keys, values, non_null=NON_NULL_SORT_KEYS)).values_list("pk", flat=True))
        # then it yields exactly the rows the ORDER BY puts after it
        assert after == ids[position + 1 :]
