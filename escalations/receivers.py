"""Reactions to ticket activity (connected in ``EscalationsConfig.ready``)."""

from __future__ import annotations

from django.dispatch import receiver

from helpdesk.models import EventKind
from helpdesk.signals import ticket_event_recorded


@receiver(ticket_event_recorded, dispatch_uid="escalations_risk_on_customer_message")
def assess_risk_on_customer_message(sender, *, event, ticket, **kwargs) -> None:
    """Every incoming customer message (and the opening description) goes through the escalation-risk detector."""
    if event.kind not in (EventKind.CUSTOMER_MESSAGE, EventKind.CREATED):
        return
    if event.actor_id is not None and event.actor_id != ticket.customer_id and not event.actor.is_customer:
        return
    from escalations.risk_model.scoring import risk_rescore_on_commit
    from escalations.services import risk_assess_message

    risk_assess_message(ticket=ticket, event=event)
    risk_rescore_on_commit([ticket.pk])


@receiver(ticket_event_recorded, dispatch_uid="escalations_close_with_ticket")
def close_escalations_with_ticket(sender, *, event, ticket, **kwargs) -> None:
    """A closed ticket takes its active escalations with it."""
    if event.kind != EventKind.STATUS_CHANGED or event.data.get("to") != "closed":
        return
    from escalations.services import escalations_close_with_ticket

    escalations_close_with_ticket(ticket=ticket, actor=event.actor, now=event.created_at)


@receiver(ticket_event_recorded, dispatch_uid="escalations_risk_outcome_on_resolution")
def record_risk_outcome_on_resolution(sender, *, event, ticket, **kwargs) -> None:
    """The outcome loop: a ticket resolved or closed with no escalation counts against (or for) its risk flag."""
    if event.kind != EventKind.STATUS_CHANGED or event.data.get("to") not in ("resolved", "closed"):
        return
    from escalations.models import Escalation, RiskOutcome
    from escalations.services import risk_outcomes_record

    if not Escalation.objects.filter(ticket=ticket).exists():
        risk_outcomes_record(ticket_ids=[ticket.pk], outcome=RiskOutcome.NOT_ESCALATED, now=event.created_at)


@receiver(ticket_event_recorded, dispatch_uid="escalations_webhooks")
def emit_escalation_webhooks(sender, *, event, ticket, **kwargs) -> None:
    """Outgoing webhooks for an escalation's acceptance (``escalation.accepted``). A new hop's ``ticket.escalated``
    is emitted in bulk by the hop opener (``escalations.hops``), whichever route opened it."""
    from helpdesk.models import WebhookEventType
    from helpdesk.webhooks import webhook_emit

    data = event.data or {}
    if event.kind == EventKind.ESCALATION_ACCEPTED and not event.is_public:
        webhook_emit(
            event_type=WebhookEventType.ESCALATION_ACCEPTED,
            ticket=ticket,
            payload={
                "escalation_id": data.get("escalation_id"),
                "level": data.get("level"),
                "accepted_by": event.actor.display_name if event.actor_id else None,
            },
        )


def escalation_payload(data: dict) -> dict:
    keys = ("escalation_id", "type", "mode", "level", "from_tier", "to_tier", "to_team", "requested_by_kind")
    return {key: data.get(key) for key in keys} | {"automatic": bool(data.get("automatic"))}
