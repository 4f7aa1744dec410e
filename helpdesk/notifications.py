"""The notification outbox: enqueue in the caller's transaction, deliver from Celery, re-deliver from beat.

Delivery is idempotent: a worker takes the row with ``select_for_update(skip_locked=True)`` and only while it is
still pending, so a duplicate task (re-delivery racing the first delivery, or a redelivered message after a worker
was killed) finds nothing to do. An email that was sent just before a crash may be sent again; it carries the same
``Message-ID`` so mail clients collapse the copy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from helpdesk.models import Notification, NotificationChannel, NotificationStatus, Ticket, User
from helpdesk.selectors import users_who_can_see

logger = logging.getLogger(__name__)

# Channel -> function(notification) that performs the delivery and raises on failure. Other apps register theirs
# (webhooks) with ``register_deliverer``; helpdesk itself imports none of them.
_DELIVERERS: dict[str, Callable[[Notification], None]] = {}


_dispatch_enabled: ContextVar[bool] = ContextVar("notification_dispatch_enabled", default=True)


@contextmanager
def dispatch_disabled() -> Iterator[None]:
    """Write outbox rows without handing them to Celery (demo seeding writes history, not news)."""
    token = _dispatch_enabled.set(False)
    try:
        yield
    finally:
        _dispatch_enabled.reset(token)


def _dispatch_on_commit(ids: list[int]) -> None:
    if ids and _dispatch_enabled.get():
        transaction.on_commit(lambda: notifications_dispatch(notification_ids=ids))


def register_deliverer(channel: str, deliverer: Callable[[Notification], None]) -> None:
    _DELIVERERS[channel] = deliverer


def absolute_url(path: str) -> str:
    """Links in emails are built on SITE_URL, never on the request's Host header."""
    if path.startswith(("http://", "https://")):
        return path
    return f"{settings.SITE_URL}{path}"


def notification_enqueue(
    *,
    kind: str,
    subject: str,
    body: str = "",
    recipients: Iterable[User] = (),
    ticket: Ticket | None = None,
    url: str = "",
    email: bool = True,
    in_app: bool = True,
    not_before: datetime | None = None,
    data: dict | None = None,
) -> list[Notification]:
    """Write outbox rows in the current transaction; dispatch to Celery only after commit. Recipients who may not
    see the ticket are dropped by the same selector as the detail page."""
    people = list({user.pk: user for user in recipients}.values())
    if ticket is not None:
        people = users_who_can_see(ticket=ticket, users=people)
    now = timezone.now()
    rows: list[Notification] = []
    for person in people:
        if in_app:
            rows.append(
                Notification(
                    channel=NotificationChannel.IN_APP,
                    status=NotificationStatus.SENT,
                    sent_at=now,
                    kind=kind,
                    recipient=person,
                    ticket=ticket,
                    subject=subject[:250],
                    body=body,
                    url=url,
                    data=data or {},
                    created_at=now,
                )
            )
        if email and person.email:
            rows.append(
                Notification(
                    channel=NotificationChannel.EMAIL,
                    kind=kind,
                    recipient=person,
                    to_address=person.email,
                    ticket=ticket,
                    subject=subject[:250],
                    body=body,
                    url=url,
                    data=data or {},
                    not_before=not_before,
                    created_at=now,
                )
            )
    created = Notification.objects.bulk_create(rows)
    _dispatch_on_commit([row.pk for row in created if row.status == NotificationStatus.PENDING])
    return created


def notification_enqueue_raw(
    *, channel: str, kind: str, subject: str, body: str = "", to_address: str = "", ticket=None, data=None
) -> Notification:
    """Queue one delivery that has no user recipient (an external email address, a webhook endpoint)."""
    row = Notification.objects.create(
        channel=channel,
        kind=kind,
        subject=subject[:250],
        body=body,
        to_address=to_address,
        ticket=ticket,
        data=data or {},
    )
    _dispatch_on_commit([row.pk])
    return row


def notifications_dispatch(*, notification_ids: list[int]) -> bool:
    """Hand ids to Celery. A broker outage is logged, not raised: the rows stay pending for the beat re-delivery."""
    from helpdesk.tasks import deliver_notifications_task

    try:
        deliver_notifications_task.apply_async(args=[notification_ids], retry=False)
    except Exception as exc:  # the broker is down or unreachable: never fail or block the request for it
        logger.warning("broker unavailable, %d notification(s) left pending: %s", len(notification_ids), exc)
        return False
    return True


def _deliver_email(notification: Notification) -> None:
    text = notification.body
    if notification.url:
        text = f"{text}\n\n{absolute_url(notification.url)}"
    headers = {
        "Message-ID": notification.message_id,
        "Auto-Submitted": "auto-generated",
        # Lets inbound email recognise our own messages and never answer them (loop protection).
        "X-Helpdesk-Notification": str(notification.pk),
    }
    if notification.ticket_id:
        thread = f"<ticket-{notification.ticket_id}@helpdesk>"
        headers.update({"References": thread, "In-Reply-To": thread})
    message = EmailMessage(subject=notification.subject, body=text, to=[notification.to_address], headers=headers)
    message.send(fail_silently=False)


register_deliverer(NotificationChannel.EMAIL, _deliver_email)


def notification_deliver(*, notification_id: int, now: datetime | None = None) -> bool:
    """Deliver one pending row exactly once (idempotent; atomic per row). True when this call delivered it."""
    now = now or timezone.now()
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id, status=NotificationStatus.PENDING)
            .first()
        )
        if notification is None or (notification.not_before and notification.not_before > now):
            return False
        deliverer = _DELIVERERS.get(notification.channel)
        notification.attempts += 1
        try:
            if deliverer is None:
                raise RuntimeError(f"no deliverer registered for channel {notification.channel!r}")
            deliverer(notification)
        except Exception as exc:
            notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
                notification.status = NotificationStatus.FAILED
            else:
                # Exponential back-off: the beat re-delivery picks it up again after this moment.
                notification.not_before = now + timedelta(seconds=30 * 2 ** (notification.attempts - 1))
            notification.save(update_fields=["attempts", "last_error", "status", "not_before"])
            logger.warning("notification %s failed (attempt %s): %s", notification.pk, notification.attempts, exc)
            return False
        notification.status = NotificationStatus.SENT
        notification.sent_at = now
        notification.save(update_fields=["status", "sent_at", "attempts"])
        return True


def notifications_redeliver_pending(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Re-queue pending rows that have waited long enough (a missed dispatch, a broker outage, a back-off).
    Idempotent: delivery itself re-checks the state of each row."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.NOTIFICATION_REDELIVER_AFTER_SECONDS)
    ids = list(
        Notification.objects.pending()
        .filter(created_at__lte=cutoff)
        .exclude(not_before__gt=now)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        notifications_dispatch(notification_ids=ids)
    return ids


def notification_mark_read(*, user: User, notification_ids: Iterable[int] | None = None) -> int:
    """Mark my in-app notifications read (all of them when no ids are given)."""
    from helpdesk.selectors import notifications_visible_to

    qs = notifications_visible_to(user).unread()
    if notification_ids is not None:
        qs = qs.filter(pk__in=list(notification_ids))
    return qs.update(read_at=timezone.now())
