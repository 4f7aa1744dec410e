"""Celery tasks of the phone side: thin wrappers over idempotent services (imported by ``EscalationsConfig.ready``,
since Celery's autodiscovery only finds ``escalations/tasks.py``)."""

from celery import shared_task


@shared_task(acks_late=True)
def warm_transfers_expire_task() -> int:
    """Beat (every 15 s): caller-waiting escalations nobody accepted in time become promised callbacks."""
    from django.utils import timezone

    from escalations.calls.services import warm_transfers_expire

    return len(warm_transfers_expire(now=timezone.now()))


@shared_task(acks_late=True)
def callbacks_sweep_task() -> dict:
    """Beat (every minute): remind callback owners once before the window; breach missed windows once."""
    from django.utils import timezone

    from escalations.calls.services import callbacks_breach_missed, callbacks_remind_due

    now = timezone.now()
    return {"reminded": callbacks_remind_due(now=now), "breached": callbacks_breach_missed(now=now)}
