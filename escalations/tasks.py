"""Celery tasks: thin wrappers over idempotent services."""

from celery import shared_task


@shared_task(acks_late=True)
def vendor_followups_remind_task() -> int:
    """Beat: remind owners of vendor cases whose follow-up date has passed (idempotent: once per case and date)."""
    from django.utils import timezone

    from escalations.services import vendor_followups_due_remind

    return vendor_followups_due_remind(now=timezone.now())
