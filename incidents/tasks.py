"""Celery tasks of major incidents: thin wrappers over the services."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def incident_update_deliver_task(update_id: int) -> int:
    """Deliver one update to its tickets' customers. Idempotent (``incident_update_deliver``)."""
    from incidents.models import IncidentUpdate
    from incidents.services import incident_update_deliver

    update = IncidentUpdate.objects.select_related("author").filter(pk=update_id).first()
    if update is None:
        return 0
    return incident_update_deliver(update=update).delivered


@shared_task(acks_late=True)
def incident_updates_deliver_pending_task() -> int:
    """Beat: deliver what a lost task or a dead worker left undelivered. Idempotent."""
    from incidents.services import incident_updates_deliver_pending

    return incident_updates_deliver_pending()
