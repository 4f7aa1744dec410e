"""Fixtures for the escalation tests: the shipped paths, playbooks and approval limits, and a dossier."""

from __future__ import annotations

import pytest


@pytest.fixture
def config(teams):
    from escalations.defaults import escalation_config_ensure

    escalation_config_ensure()


@pytest.fixture
def dossier():
    return {
        "reason": "Needs access to the billing gateway logs.",
        "dossier_problem": "The customer was charged twice for invoice INV-1.",
        "dossier_tried": "Checked the invoice; refund button is greyed out.",
        "dossier_desired_outcome": "A refund of the duplicate charge today.",
        "dossier_mood": "frustrated",
    }


@pytest.fixture
def escalate(dossier):
    """``escalate(ticket, actor, type="technical", mode="functional", **overrides)`` through the real service."""
    from escalations.services import escalation_create

    def do(ticket, actor, escalation_type="technical", mode="functional", **overrides):
        return escalation_create(
            ticket=ticket, actor=actor, escalation_type=escalation_type, mode=mode, **{**dossier, **overrides}
        )

    return do
