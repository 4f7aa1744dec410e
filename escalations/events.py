"""One small function per escalation business event, each writing one typed TicketEvent.

Public events are written for the customer in plain words (no tiers, no jargon); internal ones carry the detail
staff need. Both go through ``helpdesk.events.event_record`` so the timeline stays one table.
"""

from __future__ import annotations

from escalations.bulk import _unsaved
from escalations.models import EscalationMode, EscalationType
from helpdesk.events import event_record
from helpdesk.models import EventKind, Ticket, TicketEvent, User


def _team_words(team) -> str:
    return f"our {team.name} team" if team else "our senior support team"


def escalation_hop_data(escalation) -> dict:
    """The internal hop event's data, which is also the ``ticket.escalated`` webhook's payload source."""
    return {
        "escalation_id": escalation.pk,
        "type": escalation.escalation_type,
        "mode": escalation.mode,
        "level": escalation.level,
        "from_tier": escalation.from_tier,
        "to_tier": escalation.to_tier,
        "to_team": escalation.to_team.name if escalation.to_team else None,
        "requested_by_kind": escalation.requested_by_kind,
        "previous_id": escalation.previous_id,
        "automatic": escalation.mode == EscalationMode.AUTOMATIC,
    }


def escalation_opened_events(*, ticket: Ticket, actor: User | None, escalation, customer_words: str, now) -> list:
    """The rows a new hop writes (unsaved: the hop opener inserts a batch at once): internal, the full hop (its
    reason and data); for compliance, the restriction; public, the customer's plain words (empty: not told)."""
    common = {"ticket": ticket, "actor": actor, "created_at": now}
    rows = [
        _unsaved(
            TicketEvent,
            kind=EventKind.ESCALATED,
            is_public=False,
            body=escalation.reason,
            data=escalation_hop_data(escalation),
            **common,
        )
    ]
    if escalation.escalation_type == EscalationType.COMPLIANCE:
        rows.append(
            _unsaved(
                TicketEvent,
                kind=EventKind.RESTRICTED,
                is_public=False,
                body="Compliance escalation: this ticket is restricted to the compliance team, tier 3 and admins "
                "from now on.",
                data={"escalation_id": escalation.pk},
                **common,
            )
        )
    if customer_words:
        rows.append(
            _unsaved(
                TicketEvent,
                kind=EventKind.ESCALATED,
                is_public=True,
                body=customer_words,
                data={"escalation_id": escalation.pk, "plain_words": True},
                **common,
            )
        )
    return rows


def escalation_customer_told_event(
    *, ticket: Ticket, escalation, body: str, kind: str, actor: User | None = None
) -> TicketEvent:
    """Public: what the customer reads on their ticket page (the same words as their email)."""
    return event_record(
        ticket=ticket,
        kind=kind,
        actor=actor,
        is_public=True,
        body=body,
        data={"escalation_id": escalation.pk, "plain_words": True},
    )


def escalation_accepted_event(*, ticket: Ticket, actor: User, escalation) -> TicketEvent:
    return event_record(
        ticket=ticket,
        kind=EventKind.ESCALATION_ACCEPTED,
        actor=actor,
        is_public=False,
        body=f"{actor.display_name} accepted the escalation for {_team_words(escalation.to_team)}.",
        data={"escalation_id": escalation.pk, "level": escalation.level},
    )


def escalation_returned_event(*, ticket: Ticket, actor: User, escalation) -> TicketEvent:
    return event_record(
        ticket=ticket,
        kind=EventKind.ESCALATION_RETURNED,
        actor=actor,
        is_public=False,
        body=escalation.return_guidance,
        data={"escalation_id": escalation.pk, "avoidable": True},
    )


def escalation_resolved_event(*, ticket: Ticket, actor: User, escalation) -> TicketEvent:
    return event_record(
        ticket=ticket,
        kind=EventKind.ESCALATION_RESOLVED,
        actor=actor,
        is_public=False,
        body=escalation.resolution_summary,
        data={"escalation_id": escalation.pk},
    )


def compensation_event(*, ticket: Ticket, actor: User | None, request, is_public: bool, body: str) -> TicketEvent:
    return event_record(
        ticket=ticket,
        kind=EventKind.COMPENSATION,
        actor=actor,
        is_public=is_public,
        body=body,
        data={
            "compensation_id": request.pk,
            "amount": str(request.amount),
            "currency": request.currency,
            "status": request.status,
        },
    )


def vendor_case_event(*, ticket: Ticket, actor: User | None, case, body: str) -> TicketEvent:
    return event_record(
        ticket=ticket,
        kind=EventKind.THIRD_PARTY,
        actor=actor,
        is_public=False,
        body=body,
        data={
            "vendor_case_id": case.pk,
            "vendor": case.vendor_name,
            "external_reference": case.external_reference,
            "follow_up_at": case.follow_up_at.isoformat(),
        },
    )


def risk_flagged_event(*, ticket: Ticket, assessment) -> TicketEvent:
    labels = ", ".join(signal["label"] for signal in assessment.signals)
    return event_record(
        ticket=ticket,
        kind=EventKind.RISK,
        actor=None,
        is_public=False,
        body=f"Escalation risk {assessment.level} ({assessment.score}): {labels}.",
        data={"score": assessment.score, "suggested_type": assessment.suggested_type},
    )
