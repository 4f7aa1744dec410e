"""Escalation risk: each incoming customer message is read by the detector (``escalations.risk``) and its
signals are merged into the ticket's assessment, where they fade with the age of the message they came from
(``escalations.risk.fade``, also applied when a reading is shown: ``RiskAssessment.as_of``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models, transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from escalations import conf, events
from escalations.models.escalation import RiskAssessment, RiskOutcome
from helpdesk.idlist import ids_in
from helpdesk.models import EventKind, Ticket, TicketEvent


@transaction.atomic
def risk_assess_message(*, ticket: Ticket, event: TicketEvent, now: datetime | None = None):
    """Run the detector on an incoming customer message and merge its signals into the ticket's assessment (each
    signal kept once, with its latest evidence and the time of its message). The score weighs each signal by that
    message's age, so signals fade and drop out over a calm spell (``escalations.risk.fade``). An
    internal risk event is written when the level rises. Atomic."""
    from escalations.risk import fade, risk_detect, suggest_type

    now = now or timezone.now()
    recent = TicketEvent.objects.filter(
        ticket=ticket,
        kind__in=(EventKind.CUSTOMER_MESSAGE, EventKind.CREATED),
        created_at__gte=now - timedelta(days=7),
    ).count()
    reading = risk_detect(event.body, recent_customer_messages=recent)
    assessment, _ = RiskAssessment.objects.select_for_update().get_or_create(ticket=ticket)
    before = assessment.level
    # Signals stored before they carried a time are dated by the assessment that last saw them.
    merged = {signal["code"]: {"at": assessment.updated_at.isoformat()} | signal for signal in assessment.signals}
    for signal in reading.signals:
        merged[signal.code] = signal.as_dict() | {"at": event.created_at.isoformat()}
    assessment.signals, assessment.score = fade(
        list(merged.values()),
        now=now,
        half_life_days=float(conf.get("ESCALATION_RISK_HALF_LIFE_DAYS")),
        undated=assessment.updated_at,
    )
    from escalations.risk_model.scoring import combined_score

    assessment.score = combined_score(assessment.score, assessment.likelihood)
    codes = {signal["code"] for signal in assessment.signals}
    assessment.suggested_type = (
        reading.suggested_type or (assessment.suggested_type if codes else "") or suggest_type(codes, "")
    )
    assessment.messages_assessed += 1
    assessment.updated_at = now
    assessment.note_flag(now)
    assessment.save()
    risk_orders_store(ticket_ids=[ticket.pk])
    levels = ["none", "low", "medium", "high"]
    if (
        reading.signals
        and levels.index(assessment.level) > levels.index(before)
        and assessment.score >= int(conf.get("ESCALATION_RISK_FLAG_SCORE"))
    ):
        events.risk_flagged_event(ticket=ticket, assessment=assessment)
    return assessment


def risk_outcomes_record(*, ticket_ids: list[int], outcome: str, now: datetime) -> int:
    """The outcome loop: record what became of tickets, so that the risk flag can be measured. "Escalated" (a first
    hop was opened) wins over an earlier "not escalated" (a ticket resolved, reopened, then escalated); "not
    escalated" (resolved or closed with no escalation) is recorded only on a ticket with no outcome yet. One UPDATE
    for the batch; idempotent. Returns how many assessments changed."""
    assessments = RiskAssessment.objects.filter(ids_in("ticket_id", ticket_ids))
    if outcome == RiskOutcome.ESCALATED:
        assessments = assessments.exclude(outcome=RiskOutcome.ESCALATED)
    else:
        assessments = assessments.filter(outcome="")
    return assessments.update(outcome=outcome, outcome_at=now)


def risk_orders_store(*, ticket_ids: list[int]) -> int:
    """The queue's risk sort key (``Ticket.risk_order``) from the tickets' assessments as they now stand: the score
    negated, 1 for a ticket without one. Every writer of a score calls it in the same transaction; one UPDATE for the
    batch. Returns how many tickets it wrote."""
    if not ticket_ids:
        return 0
    score = RiskAssessment.objects.filter(ticket_id=OuterRef("pk")).values("score")[:1]
    small = models.SmallIntegerField()
    negated = Value(0, output_field=small) - Subquery(score, output_field=small)
    return Ticket.objects.filter(ids_in("pk", ticket_ids)).update(
        risk_order=Coalesce(negated, Value(1, output_field=small), output_field=small)
    )
