"""Bulk writers for many tickets at once (a constant number of queries per batch): timeline events, outbox rows
with quiet hours, plain INSERTs. The hop opener and the SLA sweep both write through these."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connections, router
from django.db.models.constants import OnConflict
from django.urls import reverse

from helpdesk.models import (
    Notification,
    NotificationChannel,
    NotificationKind,
    NotificationStatus,
    TeamMembership,
    Ticket,
    TicketEvent,
    User,
)
from helpdesk.notifications import notifications_dispatch_on_commit
from helpdesk.pager import pager_enabled
from helpdesk.selectors import tickets_visible_to
from helpdesk.signals import ticket_event_recorded


def _ticket_url(ticket_id_reference: str) -> str:
    return reverse("ticket_detail", kwargs={"reference": ticket_id_reference})


def _events_record_bulk(rows: list[TicketEvent]) -> list[TicketEvent]:
    """``helpdesk.events.event_record`` for many rows: one INSERT, then the same signal per row."""
    created = TicketEvent.objects.bulk_create(rows)
    for event in created:
        ticket_event_recorded.send(sender=TicketEvent, event=event, ticket=event.ticket)
    return created


@dataclass
class _Notice:
    ticket: Ticket
    recipients: list[User]
    kind: NotificationKind
    subject: str
    body: str
    not_before: datetime | None
    data: dict = field(default_factory=dict)
    # A page to the person on call: also by SMS when the pager is on and the person has a phone number.
    page: bool = False


def _notify_bulk(notices: list[_Notice], now: datetime) -> int:
    """The outbox for many tickets at once: recipients are filtered through the visibility selector with one
    query per distinct recipient (bounded by staff, not by tickets); email rows carry the quiet-hours not_before; a
    page also goes by SMS (``helpdesk.pager``) to recipients with a phone number when the pager is on."""
    # A ticket's own customer may always see it; everyone else goes through the selector, one query per person.
    people = {user.pk: user for notice in notices for user in notice.recipients if user.pk != notice.ticket.customer_id}
    ticket_ids = {notice.ticket.pk for notice in notices}
    visible: dict[int, set[int]] = defaultdict(set)
    for user in people.values():
        if user.is_active:
            visible[user.pk] = set(tickets_visible_to(user).filter(pk__in=ticket_ids).values_list("pk", flat=True))
    rows: list[dict] = []
    sms = pager_enabled()
    for notice in notices:
        url = _ticket_url(notice.ticket.reference)
        for user in {u.pk: u for u in notice.recipients}.values():
            own = user.pk == notice.ticket.customer_id and user.is_active
            if not own and notice.ticket.pk not in visible[user.pk]:
                continue
            common = {
                "kind": notice.kind,
                "recipient_id": user.pk,
                "ticket_id": notice.ticket.pk,
                "subject": notice.subject[:250],
                "body": notice.body,
                "url": url,
                "data": notice.data,
                "created_at": now,
            }
            rows.append(
                {"channel": NotificationChannel.IN_APP, "status": NotificationStatus.SENT, "sent_at": now, **common}
            )
            if user.email:
                rows.append(
                    {
                        "channel": NotificationChannel.EMAIL,
                        "to_address": user.email,
                        "not_before": notice.not_before,
                        **common,
                    }
                )
            if sms and notice.page and user.phone:
                rows.append(
                    {"channel": NotificationChannel.SMS, "to_address": user.phone, "not_before": None, **common}
                )
    _insert_many(Notification, rows)
    # The email and SMS rows just written (read back by their shared moment: another sweep's rows at the same instant would
    # only be dispatched twice, which delivery ignores).
    emails = Notification.objects.filter(
        channel__in=(NotificationChannel.EMAIL, NotificationChannel.SMS),
        status=NotificationStatus.PENDING,
        created_at=now,
        ticket_id__in=ticket_ids,
        kind__in={notice.kind for notice in notices},
    ).values_list("pk", flat=True)
    notifications_dispatch_on_commit(list(emails))
    return len(rows)


def _insert_many(model, objs: list, *, ignore_conflicts: bool = False) -> None:
    """INSERT plain rows with ``executemany``. Django's ``bulk_create`` compiles one multi-row statement in Python,
    which dominated the sweep's profile; this keeps the ORM's field conversion and costs a fraction of it. Only for
    rows whose primary key the caller does not need. ``objs`` are model instances or dicts of attnames (missing
    fields take their defaults)."""
    if not objs:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    # Identifiers come from the model's meta and are quoted; every value is a parameter.
    sql = "{} {} ({}) VALUES ({}) {}".format(
        connection.ops.insert_statement(on_conflict=on_conflict),
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
        connection.ops.on_conflict_suffix_sql(fields, on_conflict, None, None) or "",
    )
    if isinstance(objs[0], dict):
        defaults = {f.attname: f.get_default() for f in fields}
        values = ([row.get(f.attname, defaults[f.attname]) for f in fields] for row in objs)
    else:
        values = ([getattr(obj, f.attname) for f in fields] for obj in objs)
    params = [[f.get_db_prep_save(value, connection) for f, value in zip(fields, row, strict=True)] for row in values]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _quiet_until(*, team_id: int | None, ticket: Ticket, working: dict[int, datetime], now: datetime):
    """Email to a team outside its working hours waits for its next working minute (``working``: from
    ``escalations.hooks.teams_next_working_moment``); emergencies never wait."""
    if ticket.is_emergency or team_id is None or team_id not in working:
        return None
    moment = working[team_id]
    return moment if moment > now else None


def _team_people(team_ids: Iterable[int]) -> dict[int, list[tuple[User, bool]]]:
    members: dict[int, list[tuple[User, bool]]] = defaultdict(list)
    rows = TeamMembership.objects.filter(team_id__in=set(team_ids), user__is_active=True).select_related("user")
    for row in rows.order_by("team_id", "user_id"):
        members[row.team_id].append((row.user, row.is_lead))
    return members
