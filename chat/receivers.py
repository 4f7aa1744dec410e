"""Chat's reactions to the rest of the product, through the core's signals (escalations never imports chat)."""

from __future__ import annotations

from typing import Any

from helpdesk.models import EventKind


def on_ticket_event_recorded(sender: Any, *, event: Any, ticket: Any, **kwargs: Any) -> None:
    """An accepted escalation that is a chat's warm transfer joins the accepter to the chat (same transaction).
    Every other event returns at the first comparison: the SLA sweep sends this signal in bulk."""
    if event.kind != EventKind.ESCALATION_ACCEPTED or event.actor_id is None:
        return
    escalation_id = (event.data or {}).get("escalation_id")
    if escalation_id is None:
        return
    from chat.services import chat_join_on_escalation_accepted

    chat_join_on_escalation_accepted(escalation_id=escalation_id, specialist=event.actor)
