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


# ``help_request_ticket_opener_register(opener)``: who opens the ticket when a contact request's sender confirms their
# email. ``opener(*, help_request_id, customer)`` returns the ticket it opened for a request it owns (the live chat's
# guest chats: the chat's transcript ticket, threaded into ``customer``), else None; with no opener claiming the
# request, ``help_request_confirm`` opens the contact form's own ticket. The customer is always resolved first, by
# the one rule (``helpdesk.inbound_email.email_sender_resolve``), inside ``help_request_confirm``.
_OPENERS: list[Callable[..., object]] = []


def help_request_ticket_opener_register(opener: Callable[..., object]) -> None:
    if opener not in _OPENERS:
        _OPENERS.append(opener)


def help_request_ticket_open(*, help_request_id: int, customer: object) -> object | None:
    for opener in _OPENERS:
        ticket = opener(help_request_id=help_request_id, customer=customer)
        if ticket is not None:
            return ticket
    return None
