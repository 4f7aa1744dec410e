"""Demo data for the coaching view: a few coaching sessions held over the last weeks. Idempotent."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from reports.models import CoachingSession

SESSIONS = [
    (
        0,
        40,
        "Reviewed three billing escalations that the billing specialists returned: walked through the refund KB article together.",
    ),
    (
        1,
        26,
        "Practised the de-escalation script for angry callers; agreed to try the troubleshooting checklist before escalating outages.",
    ),
    (0, 9, "Follow-up: returned escalations are down. Discussed when a managerial escalation is the right call."),
]


def seed_coaching_sessions(*, now: datetime, rng: random.Random, people: dict, stdout=None) -> None:
    """Add a few coaching sessions held by the demo manager with the demo agents, once."""
    if CoachingSession.objects.exists():
        return
    agents = people["agents"]
    CoachingSession.objects.bulk_create(
        CoachingSession(
            agent=agents[agent_index % len(agents)],
            manager=people["manager"],
            held_on=(now - timedelta(days=days_ago)).date(),
            notes=notes,
        )
        for agent_index, days_ago, notes in SESSIONS
    )
