"""Fixtures for the escalation tests (the shipped paths, the dossier and ``escalate`` live in tests/conftest.py, since
every app's tests escalate through the same service): an SLA policy whose clocks the engine starts itself."""

from __future__ import annotations

import pytest


@pytest.fixture
def resolution_policy(admin_user, plans):
    """Enterprise, normal priority: resolution within 8 hours, round the clock, and no response targets, so a ticket
    created more than 8 hours ago has exactly one overdue clock (the breach the SLA engine escalates)."""
    from escalations.models import BusinessCalendar, SLAPolicy
    from escalations.sla.services import business_calendar_save, sla_policy_save

    always = business_calendar_save(
        calendar=BusinessCalendar(), actor=admin_user, fields={"name": "Always", "timezone": "UTC", "is_24x7": True}
    )
    return sla_policy_save(
        policy=SLAPolicy(),
        actor=admin_user,
        fields={
            "name": "Enterprise normal",
            "plan": plans["enterprise"],
            "priority": "normal",
            "calendar": always,
            "resolution_minutes": 8 * 60,
        },
    )
