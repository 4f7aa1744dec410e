"""``ids_in``: the same rows as ``__in`` on either database (one array parameter on PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.idlist import ids_in
from helpdesk.models import Ticket


@pytest.fixture
def tickets(make_ticket, customer):
    return [make_ticket(customer, subject=f"Ticket {i}") for i in range(5)]


def test_ids_in_selects_what_in_selects_including_none_and_unknown_ids(tickets):
    wanted = [tickets[0].pk, tickets[3].pk, 999_999]
    assert set(Ticket.objects.filter(ids_in("pk", wanted)).values_list("pk", flat=True)) == set(
        Ticket.objects.filter(pk__in=wanted).values_list("pk", flat=True)
    ) == {tickets[0].pk, tickets[3].pk}  # fmt: skip
    assert list(Ticket.objects.filter(ids_in("pk", []))) == []
    # across a relation and in an UPDATE, as the sweep uses it
    assert Ticket.objects.filter(ids_in("customer_id", [tickets[0].customer_id])).count() == 5
    assert Ticket.objects.filter(ids_in("pk", wanted[:1])).update(subject="Changed") == 1
    assert Ticket.objects.get(pk=tickets[0].pk).subject == "Changed"


def test_ids_in_sends_one_parameter_on_postgresql(tickets):
    ids = [ticket.pk for ticket in tickets]
    with CaptureQueriesContext(connection) as queries:
        list(Ticket.objects.filter(ids_in("pk", ids)).values_list("pk", flat=True))
    sql = queries.captured_queries[-1]["sql"]
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql and " IN (" not in sql
    else:
        assert " IN (" in sql
