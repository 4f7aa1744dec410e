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
