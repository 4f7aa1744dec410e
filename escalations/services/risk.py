"""Escalation risk: each incoming customer message is read by the detector (``escalations.risk``) and its
signals are merged into the ticket's assessment."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from escalations import conf, events
from helpdesk.models import EventKind, Ticket, TicketEvent


@transaction.atomic
def risk_assess_message(*, ticket: Ticket, event: TicketEvent, now: datetime | None = None):
    """Run the detector on an incoming customer message and merge its signals into the ticket's assessment (each
    signal kept once, with its latest evidence). An internal risk event is written when the level rises. Atomic."""
    from escalations.models import RiskAssessment
    from escalations.risk import risk_detect, suggest_type

    now = now or timezone.now()
    recent = TicketEvent.objects.filter(
        ticket=ticket,
        kind__in=(EventKind.CUSTOMER_MESSAGE, EventKind.CREATED),
        created_at__gte=now - timedelta(days=7),
    ).count()
    reading = risk_detect(event.body, recent_customer_messages=recent)
    assessment, _ = RiskAssessment.objects.select_for_update().get_or_create(ticket=ticket)
    before = assessment.level
    merged = {signal["code"]: signal for signal in assessment.signals}
    for signal in reading.signals:
        merged[signal.code] = signal.as_dict()
    assessment.signals = list(merged.values())
    assessment.score = min(100, sum(signal["weight"] for signal in assessment.signals))
    assessment.suggested_type = reading.suggested_type or assessment.suggested_type or suggest_type(set(merged), "")
    assessment.messages_assessed += 1
    assessment.updated_at = now
    assessment.save()
    levels = ["none", "low", "medium", "high"]
    if (
        reading.signals
        and levels.index(assessment.level) > levels.index(before)
        and assessment.score >= int(conf.get("ESCALATION_RISK_FLAG_SCORE"))
    ):
        events.risk_flagged_event(ticket=ticket, assessment=assessment)
    return assessment
