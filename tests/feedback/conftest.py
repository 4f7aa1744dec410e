"""Fixtures for feedback tests: an escalated ticket (escalated through the escalation service) and helpers to
complete the resolution checklist."""

from __future__ import annotations

import pytest


@pytest.fixture
def dossier():
    return {
        "reason": "Beyond tier-1 tools",
        "dossier_problem": "Dashboard spins forever for the whole office.",
        "dossier_tried": "Cleared cache, other browsers, checked status page.",
        "dossier_desired_outcome": "Working dashboard before the board meeting.",
        "dossier_mood": "frustrated",
    }


@pytest.fixture
def escalated_ticket(customer, agent, specialist, teams, make_ticket, escalate):
    """An open outage ticket, assigned to the agent, escalated from Frontline to Technical."""
    from helpdesk.services import ticket_assign, ticket_reply

    ticket = make_ticket(customer, subject="Dashboard not loading", category="outage")
    ticket_assign(ticket=ticket, actor=agent, team=teams["frontline"], assignee=agent)
    ticket_reply(ticket=ticket, author=agent, body="Looking into it now.")
    escalation = escalate(ticket, agent)
    assert (escalation.from_team, escalation.to_team) == (teams["frontline"], teams["technical"])
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def complete_checklist(specialist):
    """Record a summary, send it to the customer and notify the escalating team (all three checklist items)."""

    def do(ticket, actor=None):
        from feedback.services import resolution_notify_escalating_team, resolution_record, resolution_send_to_customer

        actor = actor or specialist
        resolution_record(ticket=ticket, actor=actor, summary="A stuck cache node was replaced; dashboards load.")
        resolution_send_to_customer(ticket=ticket, actor=actor)
        resolution_notify_escalating_team(ticket=ticket, actor=actor)
        ticket.refresh_from_db()
        return ticket

    return do


@pytest.fixture
def resolve(complete_checklist, specialist):
    """Resolve an (escalated) ticket through the core service after completing its checklist."""

    def do(ticket, actor=None):
        from feedback.selectors import ticket_is_escalated
        from helpdesk.services import ticket_change_status

        if ticket_is_escalated(ticket=ticket):
            complete_checklist(ticket, actor)
        return ticket_change_status(ticket=ticket, actor=actor or specialist, status="resolved")

    return do
