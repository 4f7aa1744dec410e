"""The notification outbox: enqueue in the caller's transaction, deliver from Celery, re-deliver from beat.

Delivery is idempotent: a worker claims the row with one conditional UPDATE (pending → sending) and only then
sends, holding no transaction or lock while it talks to the SMTP server or webhook receiver; a duplicate task
(re-delivery racing the first delivery, or a redelivered message after a worker was killed) finds nothing to claim.
A row left "sending" by a worker that died is pending again after ``NOTIFICATION_SENDING_TIMEOUT_SECONDS``, so an
email sent just before such a crash may be sent again; it carries the same ``Message-ID`` so mail clients collapse
the copy (webhooks carry the same delivery id).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from helpdesk.models import Notification, NotificationChannel, NotificationKind, NotificationStatus, Ticket, User
from helpdesk.publisher import BackgroundPublisher, flush_at_exit
from helpdesk.selectors import ticket_audiences
from helpdesk.text import single_line

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


def notifications_dispatch_on_commit(ids: list[int]) -> None:
    """After commit, hand the ids to the background publisher: the request (or task) never waits for the broker
    (public: other apps that write outbox rows in bulk call it)."""
    if ids and _dispatch_enabled.get():
        transaction.on_commit(lambda: outbox_publisher.submit(ids))


def notifications_push_on_commit(recipient_ids: Iterable[int | None]) -> None:
    """After commit, tell the recipients' open screens that an in-app notification arrived (bell and list; public:
    other apps that write in-app rows in bulk call it)."""
    from helpdesk.live import LiveKind, live_publish

    users = sorted({pk for pk in recipient_ids if pk is not None})
    if users and _dispatch_enabled.get():
        live_publish(kind=LiveKind.NOTIFICATION, payload={}, users=users)


def register_deliverer(channel: str, deliverer: Callable[[Notification], None]) -> None:
    _DELIVERERS[channel] = deliverer


def absolute_url(path: str) -> str:
    """Links in emails are built on SITE_URL, never on the request's Host header."""
    if path.startswith(("http://", "https://")):
        return path
    return f"{settings.SITE_URL}{path}"


def customer_message_render(template: str, context: dict, *, to: User | None = None) -> str:
    """The body of a message to a customer, from ``templates/emails/<template>``, in the recipient's language (``to``;
    else the language active now). The context carries facts (names, references, dates, amounts) and the plain words
    services write for customers, never text staff wrote for staff (notes, call notes, dossiers, guidance,
    compensation reasons, RCA fields, vendor case notes)."""
    if to is None:
        return render_to_string(f"emails/{template}", context).strip()
    from helpdesk.locale import in_language_of

    with in_language_of(to):
        return render_to_string(f"emails/{template}", context).strip()


@dataclass(frozen=True)
class Notice:
    """One notification for ``notifications_enqueue_many``: the keyword arguments of ``notification_enqueue``."""

    kind: NotificationKind
    subject: str
    body: str = ""
    recipients: Sequence[User] = ()
    ticket: Ticket | None = None
    url: str = ""
    email: bool = True
    in_app: bool = True
    not_before: datetime | None = None
    data: dict | None = None


def notification_enqueue(
    *,
    kind: NotificationKind,
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
    see the ticket are dropped by the same selector as the detail page. A batch of one ``notifications_enqueue_many``."""
    notice = Notice(
        kind=kind,
        subject=subject,
        body=body,
        recipients=list(recipients),
        ticket=ticket,
        url=url,
        email=email,
        in_app=in_app,
        not_before=not_before,
        data=data,
    )
    return notifications_enqueue_many([notice])


def notifications_enqueue_many(notices: Sequence[Notice]) -> list[Notification]:
    """``notification_enqueue`` for many notices at once, in the caller's transaction: who may see which ticket is
    asked once for the whole batch (``ticket_audiences``, the rule of ``tickets_visible_to``), the rows are one
    INSERT, and dispatch and the bells' push happen after commit. Constant queries whatever the number of notices."""
    ticket_ids = [notice.ticket.pk for notice in notices if notice.ticket is not None]
    people = {user.pk: user for notice in notices for user in notice.recipients}
    audiences: dict[int, set[int]] = {}
    if ticket_ids and people:
        audiences = {
            pk: {user.pk for user in users}
            for pk, users in ticket_audiences(ticket_ids=ticket_ids, users=list(people.values())).items()
        }
    now = timezone.now()
    rows: list[Notification] = []
    for notice in notices:
        subject = single_line(notice.subject)[:250]
        recipients = list({user.pk: user for user in notice.recipients}.values())
        if notice.ticket is not None:
            allowed = audiences.get(notice.ticket.pk, set())
            recipients = [person for person in recipients if person.pk in allowed]
        for person in recipients:
            if notice.in_app:
                rows.append(
                    Notification(
                        channel=NotificationChannel.IN_APP,
                        status=NotificationStatus.SENT,
                        sent_at=now,
                        kind=notice.kind,
                        recipient=person,
                        ticket=notice.ticket,
                        subject=subject,
                        body=notice.body,
                        url=notice.url,
                        data=notice.data or {},
                        created_at=now,
                    )
                )
            if notice.email and person.email:
                rows.append(
                    Notification(
                        channel=NotificationChannel.EMAIL,
                        kind=notice.kind,
                        recipient=person,
                        to_address=person.email,
                        ticket=notice.ticket,
                        subject=subject,
                        body=notice.body,
                        url=notice.url,
                        data=notice.data or {},
                        not_before=notice.not_before,
                        created_at=now,
                    )
                )
    created = Notification.objects.bulk_create(rows) if rows else []
    notifications_dispatch_on_commit([row.pk for row in created if row.status == NotificationStatus.PENDING])
    notifications_push_on_commit([row.recipient_id for row in created if row.channel == NotificationChannel.IN_APP])
    return created


def notification_enqueue_raw(
    *, channel: str, kind: NotificationKind, subject: str, body: str = "", to_address: str = "", ticket=None, data=None
) -> Notification:
    """Queue one delivery that has no user recipient (an external email address, a webhook endpoint)."""
    return notifications_enqueue_raw(
        [
            {
                "channel": channel,
                "kind": kind,
                "subject": subject,
                "body": body,
                "to_address": to_address,
                "ticket": ticket,
                "data": data,
            }
        ]
    )[0]


def notifications_enqueue_raw(deliveries: list[dict[str, Any]]) -> list[Notification]:
    """``notification_enqueue_raw`` for many deliveries (each a dict of its keyword arguments) with one INSERT, in
    the caller's transaction; dispatched after commit."""
    rows = [
        Notification(
            channel=item["channel"],
            kind=item["kind"],
            subject=single_line(item["subject"])[:250],
            body=item.get("body", ""),
            to_address=item.get("to_address", ""),
            ticket=item.get("ticket"),
            data=item.get("data") or {},
        )
        for item in deliveries
    ]
    created = Notification.objects.bulk_create(rows)
    notifications_dispatch_on_commit([row.pk for row in created])
    return created


def notifications_dispatch(*, notification_ids: list[int]) -> bool:
    """Hand ids to Celery, in the calling thread (the publisher thread, or beat's re-delivery in a worker). A broker
    outage is logged, not raised: the rows stay pending for the beat re-delivery. A hung broker holds the caller up
    to the broker socket timeout, which is why requests go through ``outbox_publisher``."""
    from helpdesk.tasks import deliver_notifications_task

    try:
        deliver_notifications_task.apply_async(args=(notification_ids,), retry=False)
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
    # A subject stored before single_line existed (or written around it) must still send: an email header may not
    # contain a line break, and a row that cannot be built would be retried until the outbox gives up.
    message = EmailMessage(
        subject=single_line(notification.subject), body=text, to=[notification.to_address], headers=headers
    )
    message.send(fail_silently=False)


register_deliverer(NotificationChannel.EMAIL, _deliver_email)

# One daemon thread per process publishes what requests committed; a hung broker holds that thread, never a request.
outbox_publisher: BackgroundPublisher[int] = BackgroundPublisher(
    lambda ids: notifications_dispatch(notification_ids=ids), max_pending=1000, name="outbox-publisher"
)
# A management command that queued notifications gets a bounded moment to publish them before it exits.
flush_at_exit(outbox_publisher, timeout=3.0)


def notification_deliver(*, notification_id: int, now: datetime | None = None) -> bool:
    """Deliver one pending row: claim it with a short conditional UPDATE, send with no transaction or row lock held
    (an SMTP server or webhook receiver never blocks the database), then record the outcome. Idempotent: a second
    call finds the row claimed or sent. True when this call delivered it."""
    now = now or timezone.now()
    due = Q(not_before__isnull=True) | Q(not_before__lte=now)
    claimed = Notification.objects.filter(due, pk=notification_id, status=NotificationStatus.PENDING).update(
        status=NotificationStatus.SENDING, attempts=F("attempts") + 1, claimed_at=now
    )
    if not claimed:
        return False
    notification = Notification.objects.select_related("ticket", "recipient").get(pk=notification_id)
    deliverer = _DELIVERERS.get(notification.channel)
    try:
        if deliverer is None:
            raise RuntimeError(f"no deliverer registered for channel {notification.channel!r}")
        deliverer(notification)
    except Exception as exc:
        gave_up = notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
        Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING).update(
            status=NotificationStatus.FAILED if gave_up else NotificationStatus.PENDING,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            # Exponential back-off: the beat re-delivery picks it up again after this moment.
            not_before=None if gave_up else now + timedelta(seconds=30 * 2 ** (notification.attempts - 1)),
        )
        logger.warning("notification %s failed (attempt %s): %s", notification.pk, notification.attempts, exc)
        return False
    Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING).update(
        status=NotificationStatus.SENT, sent_at=now
    )
    return True


def notifications_redeliver_pending(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Re-queue pending rows that have waited long enough (a missed dispatch, a broker outage, a back-off).
    Idempotent: delivery itself re-checks the state of each row."""
    now = now or timezone.now()
    # A worker that died between claiming a row and recording the outcome leaves it "sending": after a generous
    # timeout it is pending again (at-least-once; the stable Message-ID / delivery id lets receivers de-duplicate).
    Notification.objects.filter(
        status=NotificationStatus.SENDING,
        claimed_at__lt=now - timedelta(seconds=settings.NOTIFICATION_SENDING_TIMEOUT_SECONDS),
    ).update(status=NotificationStatus.PENDING)
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
