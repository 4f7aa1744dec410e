"""Celery tasks: thin wrappers over idempotent services."""

from celery import shared_task


@shared_task(acks_late=True)
def metrics_refresh_task() -> int:
    """Beat: recompute the rollups of the days marked since the last run (idempotent; a day marked again while it
    was being recomputed stays marked for the next run)."""
    from reports.metrics.rollups import rollups_refresh_dirty

    return rollups_refresh_dirty()
