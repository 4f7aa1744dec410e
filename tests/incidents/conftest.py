"""Incident fixtures, built through the real services."""

from __future__ import annotations

import pytest


@pytest.fixture
def declare(manager, categories):
    """``declare(**overrides)``: an outage incident declared by the manager through the service."""
    from incidents.services import incident_declare

    def do(**overrides):
        fields = {
            "actor": manager,
            "title": "Dashboard down",
            "customer_message": "Our dashboard is not loading. We are on it.",
            "description": "INTERNAL: eu-west LB health checks failing after deploy 4411.",
            "category": categories["outage"],
            "keywords": "dashboard",
        }
        return incident_declare(**{**fields, **overrides})

    return do


@pytest.fixture
def many_customers(org):
    """``many_customers(n)``: n customer accounts of the organisation (plain rows: accounts are not the subject)."""
    from helpdesk.models import User

    def make(n):
        return User.objects.bulk_create(
            [
                User(username=f"c{i:04d}", role="customer", organization=org, email=f"c{i:04d}@example.test")
                for i in range(n)
            ]
        )

    return make


@pytest.fixture
def outage_tickets(categories, teams):
    """``outage_tickets(customers)``: one new outage ticket per customer, as plain rows. The 300-ticket tests are about
    what happens after the tickets exist; creating each through ``ticket_create`` would multiply their run time."""
    from django.utils import timezone

    from helpdesk.models import Ticket

    def make(customers):
        now = timezone.now()
        rows = Ticket.objects.bulk_create(
            [
                Ticket(
                    reference=f"HD-BULK-{index:06d}",
                    subject="Dashboard down",
                    description="Spinner forever.",
                    customer=customer,
                    organization_id=customer.organization_id,
                    category=categories["outage"],
                    team=teams["frontline"],
                    tier=1,
                    created_at=now,
                    updated_at=now,
                    last_public_activity_at=now,
                )
                for index, customer in enumerate(customers)
            ]
        )
        return list(Ticket.objects.filter(pk__in=[t.pk for t in rows]).order_by("pk"))

    return make
