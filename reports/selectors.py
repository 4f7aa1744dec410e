"""Reads of the reports app that are not metrics."""

from __future__ import annotations

from django.db.models import QuerySet

from helpdesk.models import Role, User
from reports.models import CoachingSession


def coachable_staff() -> QuerySet[User]:
    return User.objects.filter(role__in=(Role.AGENT, Role.SPECIALIST), is_active=True)


def coaching_sessions_recent(*, agent_ids=None, limit: int = 20) -> QuerySet[CoachingSession]:
    sessions = CoachingSession.objects.select_related("agent", "manager")
    if agent_ids is not None:
        sessions = sessions.filter(agent_id__in=agent_ids)
    return sessions.order_by("-held_on", "-id")[:limit]
