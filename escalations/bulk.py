"""Bulk writers for many tickets at once (a constant number of queries per batch): timeline events, outbox rows
with quiet hours, plain INSERTs. The hop opener and the SLA sweep both write through these.

Every writer here is set-based: one statement per batch and table (``_insert_many``: COPY or an unnest INSERT on
PostgreSQL, multi-row VALUES on SQLite), values prepared column by column, and what a batch shares (the ticket URL
pattern, a notice's data, the batch's ``now``) worked out once. ``bench/sla_sweep.py`` measures it."""

from __future__ import annotations

import contextlib
import functools
import json
import re
import sqlite3
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connections, router
from django.db.models.base import ModelState
from django.db.models.constants import OnConflict
from django.db.models.signals import post_init, pre_init
from django.urls import get_script_prefix, get_urlconf, reverse
from psycopg.types.json import Jsonb

from helpdesk.idlist import ids_in
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
from helpdesk.notifications import notifications_dispatch_on_commit, notifications_push_on_commit
from helpdesk.pager import pager_enabled
from helpdesk.selectors import tickets_visible_to
from helpdesk.signals import ticket_event_recorded

_SAFE_REFERENCE = re.compile(r"[A-Za-z0-9_.~-]+")
_URL_SLOT = "ticket-reference-slot"


@functools.cache
def _ticket_url_pattern(urlconf: str | None, prefix: str) -> str:
    return reverse("ticket_detail", kwargs={"reference": _URL_SLOT})


def _ticket_urls() -> Callable[[str], str]:
    """The ticket page's path for a reference: reversed once (per URL configuration and script prefix), then
    formatted, since a batch needs it for every notice. A reference with characters ``reverse`` would quote takes
    the slow path."""
    pattern = _ticket_url_pattern(get_urlconf(), get_script_prefix())

    def url(reference: str) -> str:
        if _SAFE_REFERENCE.fullmatch(reference):
            return pattern.replace(_URL_SLOT, reference, 1)
        return reverse("ticket_detail", kwargs={"reference": reference})

    return url


def _events_record_bulk(rows: list[TicketEvent]) -> list[TicketEvent]:
    """``helpdesk.events.event_record`` for many rows: one INSERT, then the same signal per row."""
    ids = _insert_many(TicketEvent, rows, returning=("id",)) or []
    alias = router.db_for_write(TicketEvent)
    for event, (pk,) in zip(rows, ids, strict=True):
        event.pk = pk
        event._state.adding, event._state.db = False, alias
    for event in rows:
        ticket_event_recorded.send(sender=TicketEvent, event=event, ticket=event.ticket)
    return rows


def _unsaved(model, **values):
    """``model(**values)`` (an unsaved instance, the other fields at their defaults, a related instance cached as its
    descriptor would), built without Django's per-keyword ``__init__``: a sweep batch makes thousands of timeline
    and history rows, and that constructor was the largest part of its profile. Nobody may be listening to the
    model's ``pre_init`` / ``post_init`` (then the ordinary constructor runs)."""
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model(**values)
    plan = _unsaved_plan(model)
    obj = model.__new__(model)
    obj._state = state = ModelState()
    attrs = obj.__dict__
    for attname, default in plan[0]:
        attrs[attname] = default()
    relations = plan[1]
    for name, value in values.items():
        field = relations.get(name)
        if field is None:
            attrs[name] = value
            continue
        if value is not None and not isinstance(value, field.remote_field.model):
            return model(**values)  # let the descriptor refuse it as usual
        attrs[field.attname] = None if value is None else getattr(value, field.target_field.attname)
        state.fields_cache[name] = value
        if value is not None and state.db is None:
            state.db = router.db_for_write(model, instance=value)  # as the descriptor does
    return obj


@functools.cache
def _unsaved_plan(model) -> tuple[list, dict]:
    fields = [f for f in model._meta.concrete_fields if f.column is not None and not f.generated]
    relations = {f.name: f for f in fields if f.is_relation and f.many_to_one}
    return [(f.attname, f.get_default) for f in fields], relations


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
    query per distinct recipient (bounded by staff, not by tickets); every recipient gets an in-app row, an email
    row when they have an address (carrying the quiet-hours not_before), and an SMS row for a page when the pager
    is on and they have a phone number (``helpdesk.pager``). Python decides who hears of what; the database
    writes the rows (``_outbox_fan_out``)."""
    # A ticket's own customer may always see it; everyone else goes through the selector, one query per person.
    people = {user.pk: user for notice in notices for user in notice.recipients if user.pk != notice.ticket.customer_id}
    ticket_ids = {notice.ticket.pk for notice in notices}
    visible: dict[int, set[int]] = defaultdict(set)
    for user in people.values():
        if user.is_active:
            visible[user.pk] = set(
                tickets_visible_to(user).filter(ids_in("pk", ticket_ids)).values_list("pk", flat=True)
            )
    sms = pager_enabled()
    ticket_url = _ticket_urls()
    # One entry per notice and one (notice, recipient) pair per person told, in order.
    columns: dict[str, list] = {name: [] for name in _NOTICE_COLUMNS}
    pairs: tuple[list[int], list[int]] = ([], [])
    for notice in notices:
        ticket = notice.ticket
        recipients = [
            user.pk
            for user in {u.pk: u for u in notice.recipients}.values()
            if (user.pk == ticket.customer_id and user.is_active) or ticket.pk in visible[user.pk]
        ]
        if not recipients:
            continue
        position = len(columns["kind"]) + 1
        for name, value in zip(
            _NOTICE_COLUMNS,
            (
                notice.kind, ticket.pk, notice.subject[:250], notice.body, ticket_url(ticket.reference), notice.data,
                notice.not_before, bool(sms and notice.page),
            ),
            strict=True,
        ):  # fmt: skip
            columns[name].append(value)
        pairs[0].extend([position] * len(recipients))
        pairs[1].extend(recipients)
    written = _outbox_fan_out(columns, pairs, now=now) if pairs[0] else []
    # The email and SMS rows (in-app rows are written as sent) go to the workers after commit.
    notifications_dispatch_on_commit([pk for pk, status in written if status == NotificationStatus.PENDING])
    # Every recipient got an in-app row: their open screens' bells are told after commit.
    notifications_push_on_commit(pairs[1])
    return len(written)


# What a notice gives every row it fans out to (``Notification`` attnames; ``page`` is not stored: it asks for SMS).
_NOTICE_COLUMNS = ("kind", "ticket_id", "subject", "body", "url", "data", "not_before", "page")


def _outbox_fan_out(columns: dict[str, list], pairs: tuple[list[int], list[int]], *, now: datetime) -> list[tuple]:
    """Write the outbox rows of many notices in one statement (on SQLite, as few as its variable limit allows),
    the database multiplying each notice by its recipients and their channels: per recipient an in-app row
    (already sent), an email row to their address if they have one (waiting for ``not_before``), and an SMS row to
    their phone for a page. A notice's subject and body travel once, not once per row. Returns (id, status) of the
    rows written."""
    connection = connections[router.db_for_write(Notification)]
    quote = connection.ops.quote_name
    meta, user_meta = Notification._meta, User._meta
    by_attname = {f.attname: f for f in meta.concrete_fields}
    column = {name: quote(str(by_attname[name].column)) for name in by_attname}
    user_column = {f.attname: quote(str(f.column)) for f in user_meta.concrete_fields}
    # Each stored column: an expression over the notice (n), the pair (p), the recipient (u) and the channel (c);
    # the rest take the model's defaults, as parameters.
    computed: dict[str, str] = {
        "channel": "c.channel",
        "status": "c.status",
        "sent_at": "CASE c.pos WHEN 1 THEN c.sent_at END",
        "to_address": f"CASE c.pos WHEN 1 THEN '' WHEN 2 THEN u.{user_column['email']} ELSE u.{user_column['phone']} END",
        "not_before": "CASE c.pos WHEN 2 THEN n.not_before END",
        "recipient_id": "p.recipient_id",
        "created_at": "c.sent_at",
    }
    computed = {name: f"n.{name}" for name in _NOTICE_COLUMNS if name != "page"} | computed
    stored = [f for f in meta.concrete_fields if not f.primary_key]
    defaults = [f for f in stored if f.attname not in computed]
    select = ", ".join(computed.get(f.attname, "%s") for f in stored)
    now_prepared = by_attname["created_at"].get_db_prep_save(now, connection)
    channels = [
        (1, NotificationChannel.IN_APP, NotificationStatus.SENT, now_prepared),
        (2, NotificationChannel.EMAIL, NotificationStatus.PENDING, now_prepared),
        (3, NotificationChannel.SMS, NotificationStatus.PENDING, now_prepared),
    ]
    # Identifiers come from the models' meta and are quoted; every value is a parameter.
    body = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(str(f.column)) for f in stored)}) "  # noqa: S608
        f"SELECT {select} FROM p JOIN n ON n.pos = p.notice "
        f"JOIN {quote(user_meta.db_table)} u ON u.{user_column['id']} = p.recipient_id "
        f"JOIN c ON c.pos = 1 OR (c.pos = 2 AND u.{user_column['email']} <> '') "
        f"OR (c.pos = 3 AND n.page AND u.{user_column['phone']} <> '') "
        f"ORDER BY p.ord, c.pos RETURNING {column['id']}, {column['status']}"
    )
    default_params = [f.get_db_prep_save(f.get_default(), connection) for f in defaults]
    fields = {name: by_attname[name] for name in _NOTICE_COLUMNS if name != "page"}
    prepared = {
        name: _column_prepared(fields[name], values, connection) if name in fields else values
        for name, values in columns.items()
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            types = [
                str(fields[name].db_type(connection)).split("(")[0] if name in fields else "boolean"
                for name in _NOTICE_COLUMNS
            ]
            notice_arrays = ", ".join(f"%s::{kind}[]" for kind in types)
            sql = (
                f"WITH n ({', '.join(_NOTICE_COLUMNS)}, pos) AS (SELECT * FROM unnest({notice_arrays}) WITH ORDINALITY), "  # noqa: S608
                "p (notice, recipient_id, ord) AS (SELECT * FROM unnest(%s::integer[], %s::bigint[]) WITH ORDINALITY), "
                "c (pos, channel, status, sent_at) AS (VALUES (%s, %s, %s, %s::timestamptz), (%s, %s, %s, %s::timestamptz), "
                f"(%s, %s, %s, %s::timestamptz)) {body}"
            )
            params = [_pg_array(prepared[name]) for name in _NOTICE_COLUMNS] + [
                _pg_array(pairs[0]),
                _pg_array(pairs[1]),
            ]
            params += [value for channel in channels for value in channel] + default_params
            cursor.execute(sql, params)
            return cursor.fetchall()
        return _outbox_fan_out_sqlite(cursor, body, prepared, pairs, channels, default_params)


def _outbox_fan_out_sqlite(cursor, body: str, prepared: dict, pairs, channels: list, default_params: list) -> list:
    """SQLite has no arrays: the notices and pairs go in as ``VALUES`` lists, in chunks of notices under the
    connection's variable limit."""
    limit = cursor.db.features.max_query_params or 999
    notices = list(zip(*(prepared[name] for name in _NOTICE_COLUMNS), strict=True))
    by_notice: dict[int, list[int]] = defaultdict(list)
    for position, recipient in zip(*pairs, strict=True):
        by_notice[position].append(recipient)
    fixed = 4 * len(channels) + len(default_params)
    written: list[tuple] = []
    first = 0
    while first < len(notices):
        last, used = first, fixed
        while last < len(notices) and (
            last == first or used + len(_NOTICE_COLUMNS) + 1 + 3 * len(by_notice[last + 1]) <= limit
        ):
            used += len(_NOTICE_COLUMNS) + 1 + 3 * len(by_notice[last + 1])
            last += 1
        pair_rows: list[str] = []
        params: list = []
        for index in range(first, last):
            params.extend((index + 1, *notices[index]))
        notice_rows = ["(" + ", ".join(["?"] * (len(_NOTICE_COLUMNS) + 1)) + ")"] * (last - first)
        ordinal = 0
        for index in range(first, last):
            for recipient in by_notice[index + 1]:
                ordinal += 1
                params.extend((index + 1, recipient, ordinal))
                pair_rows.append("(?, ?, ?)")
        params += [value for channel in channels for value in channel] + default_params
        sql = (
            f"WITH n (pos, {', '.join(_NOTICE_COLUMNS)}) AS (VALUES {', '.join(notice_rows)}), "
            f"p (notice, recipient_id, ord) AS (VALUES {', '.join(pair_rows)}), "
            f"c (pos, channel, status, sent_at) AS (VALUES (?, ?, ?, ?), (?, ?, ?, ?), (?, ?, ?, ?)) "
            + body.replace("%s", "?")
        )
        written += _sqlite_execute(cursor, sql, params, fetch=True)
        first = last
    return written


# Internal types whose values the database drivers take as they are (Django's own conversion returns them unchanged):
# the preparer skips the per-value field machinery for them, which dominated the sweep's profile.
_PLAIN = {
    "AutoField": int,
    "BigAutoField": int,
    "SmallAutoField": int,
    "IntegerField": int,
    "BigIntegerField": int,
    "SmallIntegerField": int,
    "PositiveIntegerField": int,
    "PositiveBigIntegerField": int,
    "PositiveSmallIntegerField": int,
    "BooleanField": bool,
    "CharField": str,
    "TextField": str,
    "SlugField": str,
    "EmailField": str,
    "URLField": str,
}


def _column_prepared(field, values: list, connection) -> list:
    """``field.get_db_prep_save`` for one column of a batch, with the identical result: a column of plain values
    (the driver takes them as they are) is passed through, and a datetime or JSON value shared by many rows (the
    batch's ``now``, one notice's data) is converted once."""
    target = field.target_field if field.is_relation else field
    internal = target.get_internal_type()
    plain = _PLAIN.get(internal)
    if plain is not None and all(value is None or type(value) is plain for value in values):
        return values
    convert = field.get_db_prep_save
    json = internal == "JSONField"
    seen: dict = {}
    prepared = []
    for value in values:
        key = id(value) if json else value  # JSON values are dicts; the batch keeps them alive, so ids are stable
        try:
            result = seen[key]
        except KeyError:
            seen[key] = result = convert(value, connection)
        except TypeError:  # unhashable
            result = convert(value, connection)
        prepared.append(result)
    return prepared


def _pg_quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _pg_array(values: list) -> list | str:
    """A column of prepared values as a PostgreSQL array literal (``{1,2,NULL}``, text quoted and escaped), which the
    statement casts to its array type: built with string joins, where the driver dumps a Python list element by
    element in Python (the largest part of the sweep's parameter conversion). A column holding any other type is
    returned as it is, for the driver to adapt."""
    parts: list[str] = []
    append = parts.append
    texts: dict = {}
    for value in values:
        kind = type(value)
        if value is None:
            append("NULL")
        elif kind is int:
            append(str(value))
        elif kind is str:
            append(_pg_quoted(value))
        elif kind is bool:
            append("t" if value else "f")
        elif kind is datetime:
            # Mostly one moment repeated (the batch's ``now``): formatted once.
            if value not in texts:
                texts[value] = _pg_quoted(value.isoformat())
            append(texts[value])
        elif kind is uuid.UUID:
            append(str(value))
        elif kind is Jsonb:
            # Shared values (one notice's data) are encoded once, as the driver would (its default ``json.dumps``).
            key = id(value)
            if key not in texts:
                texts[key] = _pg_quoted((value.dumps or json.dumps)(value.obj))
            append(texts[key])
        else:
            return values
    return "{" + ",".join(parts) + "}"


def _insert_many(
    model,
    objs: list | None = None,
    *,
    columns: dict[str, list] | None = None,
    ignore_conflicts: bool = False,
    returning: tuple[str, ...] = (),
) -> list[tuple] | None:
    """INSERT plain rows, set-based: one statement per batch on PostgreSQL (``INSERT … SELECT FROM unnest(array
    per column)``, one parameter per column whatever the row count), multi-row ``VALUES`` on SQLite in as few
    statements as its variable limit allows. Django's ``bulk_create`` compiles every value through the field
    machinery in Python, which dominated the sweep's profile; this gives the same database values (``_preparer``).
    ``objs`` are model instances or dicts of attnames, or ``columns`` maps attnames to equally long lists of
    values (missing fields take their defaults). With ``returning``
    (attnames), returns those columns of the rows inserted, in insertion order (as ``bulk_create`` relies on);
    with ``ignore_conflicts`` only the rows actually inserted come back."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    if columns is not None:
        n = len(next(iter(columns.values()), []))
        values = [columns[f.attname] if f.attname in columns else [f.get_default()] * n for f in fields]
    elif objs and isinstance(objs[0], dict):
        values = [
            [row.get(f.attname, default) for row in objs] for f, default in ((f, f.get_default()) for f in fields)
        ]
    else:
        values = [[getattr(obj, f.attname) for obj in objs or ()] for f in fields]
    if not values[0]:
        return [] if returning else None
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    prepared = [_column_prepared(f, column, connection) for f, column in zip(fields, values, strict=True)]
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    head = "{} {} ({})".format(
        connection.ops.insert_statement(on_conflict=on_conflict),
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
    )
    # Identifiers come from the model's meta and are quoted; every value is a parameter.
    tail = " ".join(
        part
        for part in (
            connection.ops.on_conflict_suffix_sql(fields, on_conflict, None, None) or "",
            "RETURNING " + ", ".join(quote(by_attname[name].column) for name in returning) if returning else "",
        )
        if part
    )
    found: list[tuple] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not ignore_conflicts:
            return _copy_rows(cursor, model, fields, prepared, returning=returning)
        if connection.vendor == "postgresql":
            # Without the length modifier (varchar[], not varchar(250)[]), as Django's own UNNEST insert does.
            arrays = ", ".join(f"%s::{f.db_type(connection).split('(')[0]}[]" for f in fields)
            arguments = [_pg_array(column) for column in prepared]
            cursor.execute(f"{head} SELECT * FROM unnest({arrays}) {tail}", arguments)  # noqa: S608 (identifiers only)
            if returning:
                found = cursor.fetchall()
        else:
            per_row = len(fields)
            # Django's SQLite backend reads the connection's variable limit (32,766 by default).
            chunk = max(1, (connection.features.max_query_params or 999) // per_row)
            row_sql = "({})".format(", ".join(["?"] * per_row))
            params = list(zip(*prepared, strict=True))
            for first in range(0, len(params), chunk):
                part = params[first : first + chunk]
                placeholders = ", ".join([row_sql] * len(part))
                flat = [value for row in part for value in row]
                found += _sqlite_execute(cursor, f"{head} VALUES {placeholders} {tail}", flat, fetch=bool(returning))
    return found if returning else None


def _sqlite_execute(cursor, sql: str, params: list, *, fetch: bool) -> list[tuple]:
    """One SQLite statement written with its own ``?`` placeholders, run by the driver as it is: Django's SQLite
    cursor rewrites ``%s`` into ``?`` with a regular expression over the whole statement, which for a batch's
    tens of thousands of placeholders cost more than SQLite took to insert the rows. It still goes through
    Django's execute wrappers and debug cursor, so query counters and ``connection.queries`` see it."""
    rows: list[tuple] = []

    def execute(sql, params, many, context):
        raw = context["cursor"].cursor  # Django's SQLiteCursorWrapper, a sqlite3.Cursor
        sqlite3.Cursor.execute(raw, sql, params)
        if fetch:
            rows.extend(raw.fetchall())

    with getattr(cursor, "debug_sql", lambda sql: contextlib.nullcontext())(sql):
        cursor._execute_with_wrappers(sql, params, False, executor=execute)
    return rows


def _copy_rows(cursor, model, fields: list, columns: list[list], *, returning: tuple[str, ...]) -> list[tuple] | None:
    """PostgreSQL ``COPY … FROM STDIN`` of prepared columns: measured at about twice as fast as an unnest INSERT
    for the outbox and timeline rows (their indexes and foreign keys are most of the cost). COPY returns nothing,
    so when ids are wanted they are drawn from the table's sequence first (one query) and written explicitly.
    It goes through Django's execute wrappers and debug cursor, so query counters and ``connection.queries`` see
    it."""
    meta = model._meta
    quote = cursor.db.ops.quote_name
    n = len(columns[0])
    ids: list[int] = []
    if returning:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, n],
        )
        ids = [row[0] for row in cursor.fetchall()]
        fields, columns = [meta.pk, *fields], [ids, *columns]
    sql = "COPY {} ({}) FROM STDIN".format(quote(meta.db_table), ", ".join(quote(f.column) for f in fields))

    def copy(sql, params, many, context):
        with context["cursor"].cursor.copy(sql) as stream:
            for row in zip(*columns, strict=True):
                stream.write_row(row)

    with getattr(cursor, "debug_sql", lambda sql: contextlib.nullcontext())(sql):
        cursor._execute_with_wrappers(sql, None, False, executor=copy)
    if not returning:
        return None
    by_attname = {f.attname: column for f, column in zip(fields, columns, strict=True)}
    return list(zip(*(by_attname[name] for name in returning), strict=True))


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
