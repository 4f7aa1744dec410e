"""Celery tasks of data protection: thin wrappers over the services (acks_late; both are idempotent)."""

from celery import shared_task


@shared_task(acks_late=True)
def retention_sweep_task(at: str | None = None) -> dict:
    """Beat, hourly: anonymise closed tickets past their plan's retention period. Idempotent and resumable."""
    from datetime import datetime

    from django.utils import timezone

    from privacy.retention import retention_sweep

    now = datetime.fromisoformat(at) if at else timezone.now()
    return retention_sweep(now=now).as_dict()


@shared_task(acks_late=True)
def data_export_task(request_id: int) -> None:
    """Build an approved export's archive (large customers). Idempotent: a built request is left alone."""
    from privacy.services import data_export_build

    data_export_build(request_id=request_id)
