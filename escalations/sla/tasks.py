"""Celery tasks of the SLA engine: thin wrappers over ``escalations.sla.sweep`` (acks_late; the sweep is idempotent)."""

from celery import shared_task


@shared_task(acks_late=True)
def sla_sweep_task(at: str | None = None) -> dict:
    """Beat, every 30 s: warn, breach, escalate and page whatever is due now. Idempotent: a rerun or a redelivered
    message finds nothing left to do."""
    from datetime import datetime

    from django.utils import timezone

    from escalations.sla.sweep import sla_sweep

    now = datetime.fromisoformat(at) if at else timezone.now()
    return sla_sweep(now=now).as_dict()
