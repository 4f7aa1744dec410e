"""Fixtures for bulk actions and saved views: tickets in numbers, built through the real service."""

from __future__ import annotations

import pytest


@pytest.fixture
def many_tickets(customer, make_ticket):
    """``many_tickets(n, **kwargs)``: n tickets of ``customer`` through ``ticket_create``."""

    def make(n: int, **kwargs):
        return [make_ticket(customer, subject=f"Outage report {i}", **kwargs) for i in range(n)]

    return make


@pytest.fixture
def reply_template(categories):
    from helpdesk.models import ReplyTemplate

    def make(
        *,
        name="Outage update",
        body="Hello {{customer_first_name}}, we are on it ({{ticket_reference}}).",
        category=None,
    ):
        return ReplyTemplate.objects.create(
            name=name, body=body, category=categories[category] if isinstance(category, str) else category
        )

    return make
