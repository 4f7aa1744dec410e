"""Extension points other apps fill from their ``AppConfig.ready()``, so escalations never imports them.

``before_escalate_register(provider)``: the knowledge base (which depends on escalations, not the other way round)
offers the articles an agent should try before escalating. ``provider(*, ticket, user)`` returns items with
``title``, ``url`` and optionally ``snippet``; the escalate form shows them in its "Before you escalate" step and
leaves the step out when nothing is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

_BEFORE_ESCALATE: list[Callable] = []


@dataclass(frozen=True)
class Suggestion:
    title: str
    url: str
    snippet: str = ""


def before_escalate_register(provider: Callable) -> None:
    if provider not in _BEFORE_ESCALATE:
        _BEFORE_ESCALATE.append(provider)


def before_escalate_suggestions(*, ticket, user, limit: int = 5) -> list[Suggestion]:
    suggestions: list[Suggestion] = []
    for provider in _BEFORE_ESCALATE:
        for item in provider(ticket=ticket, user=user) or []:
            if isinstance(item, Suggestion):
                suggestions.append(item)
            else:
                suggestions.append(
                    Suggestion(title=str(item["title"]), url=str(item["url"]), snippet=str(item.get("snippet", "")))
                )
    return suggestions[:limit]


# --- working hours ----------------------------------------------------------------------------------------------
# ``working_hours_register(provider)``: the SLA engine, which owns business calendars, says when each team is next at
# work. ``provider(*, team_ids, now)`` returns ``{team_id: next working moment}`` for the teams that have a quiet-hours
# calendar. Email to a team waits for that moment; without a provider no team has quiet hours.
_WORKING_HOURS: list[Callable] = []


def working_hours_register(provider: Callable) -> None:
    if provider not in _WORKING_HOURS:
        _WORKING_HOURS.append(provider)


def teams_next_working_moment(*, team_ids, now) -> dict:
    moments: dict = {}
    for provider in _WORKING_HOURS:
        moments.update(provider(team_ids=set(team_ids), now=now))
    return moments
