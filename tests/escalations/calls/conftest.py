"""Fixtures for the calls tests: a dossier and an escalate helper through the real service."""

from __future__ import annotations

import pytest


@pytest.fixture
def dossier():
    return {
        "reason": "The router needs a firmware rollback only Technical can do.",
        "dossier_problem": "Internet drops every ten minutes since the update.",
        "dossier_tried": "Rebooted the router; checked the line.",
        "dossier_desired_outcome": "A stable connection today.",
        "dossier_mood": "frustrated",
    }


@pytest.fixture
def warm_transfer(dossier):
    """``warm_transfer(ticket, actor, now=...)``: a technical escalation with the caller waiting on the line."""
    from escalations.services import escalation_create

    def do(ticket, actor, *, now, escalation_type="technical", mode="functional", **overrides):
        return escalation_create(
            ticket=ticket,
            actor=actor,
            escalation_type=escalation_type,
            mode=mode,
            caller_waiting=True,
            now=now,
            **{**dossier, **overrides},
        )

    return do
