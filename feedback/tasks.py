"""Celery tasks for feedback: thin wrappers over the idempotent sweeps. ``now`` may be passed (ISO-8601) so that
operators and tests can drive time, as with the SLA sweep."""

from __future__ import annotations

from celery import shared_task


def _now(now: str | None):
    from datetime import datetime

    from django.utils import timezone

    moment = datetime.fromisoformat(now) if now else timezone.now()
    if timezone.is_naive(moment):
        raise ValueError("now must carry a timezone")
    return moment


@shared_task(acks_late=True)
def send_due_surveys_task(now: str | None = None) -> dict:
    """Beat: send the surveys that are due and the one reminder to unanswered ones (idempotent)."""
    from feedback.services import surveys_send_due

    return surveys_send_due(now=_now(now))


@shared_task(acks_late=True)
def create_due_checkins_task(now: str | None = None) -> int:
    """Beat: create the check-in tasks that are due (idempotent: one per resolution)."""
    from feedback.services import checkins_create_due

    return len(checkins_create_due(now=_now(now)))
