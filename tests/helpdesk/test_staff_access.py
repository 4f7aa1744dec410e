"""``staff_access_set``: the one home of role and team changes (single sign-on calls it on every sign-in)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from helpdesk.models import AuditAction, AuditEvent, Role, TeamMembership
from helpdesk.services import staff_access_set


def test_moves_role_and_teams_keeping_the_lead_flag_of_a_kept_team(agent, teams, manager):
    # given an agent leading Frontline
    # when they become a specialist in Frontline and Technical
    changed = staff_access_set(
        user=agent, role=Role.SPECIALIST, teams=[teams["frontline"], teams["technical"]], actor=manager, reason="test"
    )

    # then
    assert changed is True
    agent.refresh_from_db()
    assert agent.role == Role.SPECIALIST and not agent.is_staff
    memberships = {m.team.name: m.is_lead for m in TeamMembership.objects.filter(user=agent).select_related("team")}
    assert memberships == {"Frontline": True, "Technical": False}
    event = AuditEvent.objects.get(action=AuditAction.ROLE_CHANGED)
    assert (event.actor, event.target_id) == (manager, str(agent.pk))
    assert event.detail == {
        "reason": "test",
        "old_role": "agent",
        "new_role": "specialist",
        "old_teams": ["Frontline"],
        "new_teams": ["Frontline", "Technical"],
    }


def test_a_repeat_is_a_no_op_without_an_audit_row(agent, teams, django_assert_num_queries):
    staff_access_set(user=agent, role=Role.AGENT, teams=[teams["managers"]], actor=None, reason="test")

    with django_assert_num_queries(4):  # savepoint, lock the user, read the memberships, release
        changed = staff_access_set(user=agent, role=Role.AGENT, teams=[teams["managers"]], actor=None, reason="test")

    assert changed is False
    assert AuditEvent.objects.filter(action=AuditAction.ROLE_CHANGED).count() == 1


def test_admin_role_gives_django_admin_access_and_losing_it_takes_it_away(agent, teams):
    staff_access_set(user=agent, role=Role.ADMIN, teams=[], actor=None, reason="test")
    agent.refresh_from_db()
    assert agent.is_staff and not agent.is_superuser

    staff_access_set(user=agent, role=Role.MANAGER, teams=[], actor=None, reason="test")
    agent.refresh_from_db()
    assert not agent.is_staff


def test_nobody_is_made_a_customer(agent):
    with pytest.raises(ValidationError) as refused:
        staff_access_set(user=agent, role=Role.CUSTOMER, teams=[], actor=None, reason="test")

    assert refused.value.message_dict == {"role": ["'customer' is not a staff role."]}
    agent.refresh_from_db()
    assert agent.role == Role.AGENT
