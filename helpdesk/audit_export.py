"""Audit export: the event trail of a period, streamed as CSV or JSON Lines, with a tamper-evident hash chain.

What it holds, merged in time order: every ticket event (``TicketEvent``: who did what to which ticket, with the
event's data but never the words of a message, which stay on the ticket) and every account-level audit row
(``AuditEvent``: sign-ins, refused sign-ins, sign-outs, role and team changes, approvals, configuration changes,
MFA, single sign-on, data exports, erasures, retention, and audit exports themselves).

Constant memory: both tables are read through ``QuerySet.iterator(chunk_size=...)`` (a server-side cursor on
PostgreSQL), merged lazily with ``heapq.merge`` and written one line at a time into a ``StreamingHttpResponse``;
nothing grows with the number of rows (``bench/audit_export.py`` measures it).

The chain. Every record (one line of JSON Lines, one row of CSV) has the same columns, ``COLUMNS``. Its *canonical
form* is the JSON array of its columns before ``prev_hash`` and ``hash``, each written as text (``cell``), so a CSV
row and a JSON Lines record of the same event hash alike. The first record is a ``header`` (period, when, by whom);
its ``hash`` is SHA-256 of its canonical form. Each ``event`` record carries ``prev_hash`` (the previous record's
hash) and ``hash`` = SHA-256 of ``prev_hash`` + "\\n" + its canonical form. The last record is a ``footer`` with the
row count, the final hash and an HMAC-SHA256 signature of the final hash under a key derived from
``AUDIT_EXPORT_KEY`` (else ``SECRET_KEY``). Changing, inserting, deleting or reordering any record breaks the chain
at that record; recomputing the whole chain needs the key to sign it again. ``manage.py audit_verify FILE`` checks.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import hmac
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from helpdesk import audit
from helpdesk.models import AuditAction, AuditEvent, TicketEvent, User

FORMAT_VERSION = 1
CHUNK_SIZE = 2000
COLUMNS = (
    "record",  # header, event or footer
    "seq",  # 1, 2, ... for events; the event count on the footer
    "at",  # ISO 8601, UTC ("Z")
    "source",  # ticket (the ticket timeline) or account (the account-level audit trail)
    "id",  # the row's id in its table
    "action",  # the event kind or audit action
    "actor",  # username (ticket events) or the actor's label as recorded (account events); empty: the system
    "target_type",
    "target_id",
    "public",  # ticket events: whether the customer sees it
    "ip",
    "detail",  # JSON object
    "prev_hash",
    "hash",
)
HASHED = COLUMNS[:-2]
GENESIS = ""
SIGNING_SALT = "helpdesk.audit_export.signature"
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}


@dataclass(frozen=True)
class Period:
    """From the start of ``start`` to the end of ``end`` (both dates inclusive), in UTC."""

    start: date
    end: date

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    def label(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()} (UTC)"


def period_parse(start: Any, end: Any) -> Period:
    """The period of an export from two dates (``YYYY-MM-DD`` or ``date``); a clear ValidationError otherwise."""
    errors: dict[str, str] = {}
    parsed: dict[str, date] = {}
    for name, value in (("date_from", start), ("date_to", end)):
        if isinstance(value, date):
            parsed[name] = value
            continue
        try:
            parsed[name] = date.fromisoformat(str(value or "").strip())
        except ValueError:
            errors[name] = _("Enter a date as YYYY-MM-DD.")
    if errors:
        raise ValidationError(errors)
    if parsed["date_from"] > parsed["date_to"]:
        raise ValidationError({"date_to": _("The end of the period is before its start.")})
    return Period(parsed["date_from"], parsed["date_to"])


def cell(value: Any) -> str:
    """A column's text: the same for a CSV cell and a JSON Lines value, so both formats hash alike."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def cells(record: dict[str, Any]) -> list[str]:
    """The hashed columns' text, worked out once per record (``_cells``) for its hash and its CSV row."""
    cached = record.get("_cells")
    if cached is None:
        cached = record["_cells"] = [cell(record.get(name)) for name in HASHED]
    return cached


def canonical(record: dict[str, Any]) -> str:
    return json.dumps(cells(record), separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, record: dict[str, Any]) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical(record)}".encode()).hexdigest()


def signing_key() -> str:
    return getattr(settings, "AUDIT_EXPORT_KEY", "") or settings.SECRET_KEY


def signature(final_hash: str) -> str:
    """HMAC-SHA256 of the final hash under a key derived (salted) from ``AUDIT_EXPORT_KEY`` or ``SECRET_KEY``."""
    return salted_hmac(SIGNING_SALT, final_hash, secret=signing_key(), algorithm="sha256").hexdigest()


def signature_valid(final_hash: str, signed: str) -> bool:
    return hmac.compare_digest(signature(final_hash), signed)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _ticket_events(period: Period) -> Iterator[tuple]:
    rows = (
        TicketEvent.objects.filter(created_at__gte=period.since, created_at__lt=period.until)
        .order_by("created_at", "id")
        .values_list("created_at", "id", "kind", "actor__username", "ticket__reference", "is_public", "data")
    )
    for created_at, pk, kind, actor, reference, is_public, data in rows.iterator(chunk_size=CHUNK_SIZE):
        yield (created_at, 0, pk, "ticket", kind, actor or "", "ticket", reference, is_public, None, data)


def _account_events(period: Period) -> Iterator[tuple]:
    rows = (
        AuditEvent.objects.filter(created_at__gte=period.since, created_at__lt=period.until)
        .order_by("created_at", "id")
        .values_list("created_at", "id", "action", "actor_label", "target_type", "target_id", "ip_address", "detail")
    )
    for created_at, pk, action, actor, target_type, target_id, ip, detail in rows.iterator(chunk_size=CHUNK_SIZE):
        yield (created_at, 1, pk, "account", action, actor, target_type, target_id, None, ip, detail)


def export_records(*, period: Period, generated_by: str, fmt: str, now: datetime) -> Iterator[dict[str, Any]]:
    """Header, the period's events in time order (ties: ticket events first, then by id), footer; each chained."""
    header = {
        "record": "header",
        "seq": 0,
        "at": _utc(now),
        "source": "export",
        "action": "audit_export",
        "actor": generated_by,
        "detail": {
            "version": FORMAT_VERSION,
            "format": fmt,
            "from": _utc(period.since),
            "until": _utc(period.until),
            "period": period.label(),
            "hash": "SHA-256 chain; footer signature HMAC-SHA256",
        },
        "prev_hash": GENESIS,
    }
    header["hash"] = previous = chain_hash(GENESIS, header)
    yield header
    seq = 0
    merged = heapq.merge(_ticket_events(period), _account_events(period), key=lambda row: row[:3])
    for created_at, _order, pk, source, action, actor, target_type, target_id, public, ip, detail in merged:
        seq += 1
        record = {
            "record": "event",
            "seq": seq,
            "at": _utc(created_at),
            "source": source,
            "id": pk,
            "action": action,
            "actor": actor,
            "target_type": target_type,
            "target_id": target_id,
            "public": public,
            "ip": ip,
            "detail": detail or {},
            "prev_hash": previous,
        }
        record["hash"] = previous = chain_hash(previous, record)
        yield record
    yield {
        "record": "footer",
        "seq": seq,
        "at": _utc(now),
        "source": "export",
        "action": "audit_export",
        "detail": {"final_hash": previous, "signature": signature(previous), "algorithm": "HMAC-SHA256"},
        "prev_hash": previous,
        "hash": previous,
    }


class _Line:
    """A write target for ``csv.writer`` that hands back what was written (one row at a time)."""

    def write(self, value: str) -> str:
        return value


def render_lines(records: Iterable[dict[str, Any]], *, fmt: str) -> Iterator[str]:
    """The records as lines of CSV (a column header first) or JSON Lines, one string per record."""
    if fmt == "csv":
        writer = csv.writer(_Line())  # anything with write() will do
        yield writer.writerow(COLUMNS)
        for record in records:
            yield writer.writerow([*cells(record), cell(record.get("prev_hash")), cell(record.get("hash"))])
    elif fmt == "jsonl":
        for record in records:
            yield json.dumps({name: record.get(name) for name in COLUMNS}, ensure_ascii=False, default=str) + "\n"
    else:
        raise ValidationError({"format": _("Choose CSV or JSON Lines.")})


def render_chunks(lines: Iterable[str], *, size: int = 64 * 1024) -> Iterator[bytes]:
    """Lines gathered into ~64 KiB chunks: fewer, larger writes to the socket, still constant memory."""
    buffer = io.StringIO()
    for line in lines:
        buffer.write(line)
        if buffer.tell() >= size:
            yield buffer.getvalue().encode()
            buffer = io.StringIO()
    if buffer.tell():
        yield buffer.getvalue().encode()


def export_filename(period: Period, fmt: str) -> str:
    return f"audit-{period.start:%Y%m%d}-{period.end:%Y%m%d}.{fmt}"


# --- verification ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str
    line: int | None = None
    rows: int = 0


def _read_records(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) from a CSV or JSON Lines export, decided by its first character."""
    with open(path, encoding="utf-8", newline="") as handle:
        first = handle.read(1)
        handle.seek(0)
        if first == "{":
            for number, text in enumerate(handle, start=1):
                if text.strip():
                    try:
                        parsed = json.loads(text)
                    except json.JSONDecodeError:
                        parsed = None
                    if not isinstance(parsed, dict):
                        yield number, {"record": "unreadable"}
                        continue
                    # Only the columns count: a smuggled ``_cells`` must not stand in for the text it would hash.
                    yield number, {name: parsed.get(name) for name in COLUMNS}
        else:
            reader = csv.reader(handle)
            columns = next(reader, None)
            if columns is None or tuple(columns) != COLUMNS:
                yield 1, {"record": "unreadable"}
                return
            for row in reader:
                yield reader.line_num, dict(zip(COLUMNS, row, strict=False))


def verify_file(path: str) -> Verdict:
    """Recompute the chain and the signature of an export; name the first record that does not follow."""
    previous: str | None = None
    events = 0
    footer: dict[str, Any] | None = None
    for number, record in _read_records(path):
        kind = record.get("record")
        where = f"line {number}"
        if footer is not None:
            return Verdict(False, f"{where}: a record after the footer.", number, events)
        if previous is None:
            if kind != "header" or cell(record.get("prev_hash")) != GENESIS:
                return Verdict(False, f"{where}: the export does not start with its header.", number, events)
        elif kind not in ("event", "footer"):
            return Verdict(False, f"{where}: not a record of an audit export.", number, events)
        elif cell(record.get("prev_hash")) != previous:
            return Verdict(
                False,
                f"{where} (row {record.get('seq')}): does not follow the record before it — a row was removed, "
                "inserted or reordered there.",
                number,
                events,
            )
        if kind == "footer":
            footer = record
            break
        expected = chain_hash(previous or GENESIS, record)
        if cell(record.get("hash")) != expected:
            label = "the header" if kind == "header" else f"row {record.get('seq')}"
            return Verdict(False, f"{where} ({label}): its content was changed (hash mismatch).", number, events)
        if kind == "event":
            events += 1
            if cell(record.get("seq")) != str(events):
                return Verdict(False, f"{where}: row {record.get('seq')} is out of sequence.", number, events)
        previous = expected
    if footer is None:
        return Verdict(False, "the export has no footer: it was cut short.", None, events)
    return _footer_verdict(footer, final_hash=previous or "", events=events)


def _footer_verdict(footer: dict[str, Any], *, final_hash: str, events: int) -> Verdict:
    detail = footer.get("detail")
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except json.JSONDecodeError:
            detail = {}
    detail = detail if isinstance(detail, dict) else {}
    if cell(footer.get("seq")) != str(events) or detail.get("final_hash") != final_hash:
        return Verdict(False, "the footer does not match the rows: rows were removed or added.", None, events)
    if not signature_valid(final_hash, str(detail.get("signature", ""))):
        return Verdict(
            False, "the signature does not match: the export was re-chained or the key differs.", None, events
        )
    return Verdict(True, f"OK: {events} rows, chain and signature verified.", None, events)


# --- the export itself (admins only, audited) -------------------------------------------------------------------------


def audit_export_response(
    *, actor: User, period: Period, fmt: str, request: HttpRequest | None = None, now: datetime | None = None
) -> StreamingHttpResponse:
    """An administrator exports the trail of a period: the export is recorded (``AUDIT_EXPORT``) before the first
    byte, then streamed. Anyone else is refused. The one home of the rule for the staff page and the API."""
    if not actor.is_admin:
        raise PermissionDenied("Only administrators can export the audit trail.")
    if fmt not in FORMATS:
        raise ValidationError({"format": _("Choose CSV or JSON Lines.")})
    now = now or timezone.now()
    audit.record(
        AuditAction.AUDIT_EXPORT,
        actor=actor,
        request=request,
        detail={"from": _utc(period.since), "until": _utc(period.until), "format": fmt},
    )
    records = export_records(period=period, generated_by=actor.get_username(), fmt=fmt, now=now)
    response = StreamingHttpResponse(render_chunks(render_lines(records, fmt=fmt)), content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{export_filename(period, fmt)}"'
    response["Cache-Control"] = "no-store"
    return response
