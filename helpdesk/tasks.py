"""Celery tasks: thin wrappers over services. acks_late (settings) plus idempotent services make retries safe."""

from celery import shared_task


@shared_task(acks_late=True)
def deliver_notifications_task(notification_ids: list[int]) -> int:
    """Deliver each pending outbox row once; already-sent rows are skipped (idempotent)."""
    from helpdesk.notifications import notification_deliver

    return sum(notification_deliver(notification_id=pk) for pk in notification_ids)


@shared_task(acks_late=True)
def redeliver_pending_notifications_task() -> int:
    """Beat: re-queue outbox rows still pending after a missed dispatch or a broker outage (idempotent)."""
    from helpdesk.notifications import notifications_redeliver_pending

    return len(notifications_redeliver_pending())


@shared_task(acks_late=True)
def poll_mailboxes_task() -> dict:
    """Beat: poll the configured IMAP mailboxes (idempotent: Message-IDs are unique, seen flags set after commit)."""
    from helpdesk.inbound_email import mailboxes_poll

    return mailboxes_poll()
