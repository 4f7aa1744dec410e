"""Extension points other apps fill from their ``AppConfig.ready()``, so the knowledge base never imports them.

``escalation_demand_register(provider)``: how many escalations each category had since a moment.
``provider(*, since)`` returns ``{category_id: count}``; KB health's "category gaps" sums what the providers say
(escalations registers one). With no provider registered, no category shows a gap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

_DEMAND: list[Callable[..., dict[int, int]]] = []


def escalation_demand_register(provider: Callable[..., dict[int, int]]) -> None:
    if provider not in _DEMAND:
        _DEMAND.append(provider)


def escalation_demand(*, since: datetime) -> dict[int, int]:
    total: Counter[int] = Counter()
    for provider in _DEMAND:
        total.update(provider(since=since))
    return dict(total)
