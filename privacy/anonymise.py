"""The one place that rewrites stored rows to remove a person's data.

The ticket timeline (``TicketEvent``) and the audit trail (``AuditEvent``) are append-only: their ``save()`` (and the
timeline's own queryset ``update()``/``delete()``) refuse to rewrite a row. An erasure or a retention sweep is the
single sanctioned exception, and this module is its only home: ``_rows`` reaches any model through a plain Django
``QuerySet``, bypassing those guards, and only ``update()`` is called on it (no ``save()``, no signal, no new event).
What changes is text (replaced by ``TOMBSTONE`` or redacted) and contact details (emptied); what stays is every key,
kind, status, timestamp, number and foreign key, so the tickets keep their shape and every SLA, escalation, CSAT and
compensation statistic is unchanged.

Both callers run inside one transaction each: ``tickets_anonymise`` (a customer's tickets on erasure, a batch of
closed tickets on retention) and ``person_anonymise`` (the account and what is theirs outside their tickets).
Attachment files are deleted inside that transaction, before it commits: if it then rolls back, the rows say a
file exists that is gone (its download answers "no longer available") and the rerun finishes the job; the other order
could leave personal files behind for good.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

from helpdesk.models import Attachment, AuditEvent, InboundMessage, LoginFailure, Ticket, User
from privacy.models import AnonymisedTicket
from privacy.registry import Holding, holding_models, text_fields

TOMBSTONE = "[erased]"

# Keys of JSON values that hold free text (message bodies, evidence quoted from messages, search queries ...).
FREE_TEXT_KEYS = frozenset(
    {"body", "subject", "description", "message", "text", "reason", "comment", "note", "summary", "query", "evidence"}
)


def personal_identifiers(user: User) -> list[str]:
    """The strings that identify ``user`` in free text: email, username, phone (as typed and as digits), full name
    and each name."""
    values = {user.email, user.username, user.phone, user.get_full_name(), user.first_name, user.last_name}
    digits = re.sub(r"\D", "", user.phone or "")
    if len(digits) >= 6:
        values.add(digits)
    return sorted({value.strip() for value in values if value and len(value.strip()) >= 2}, key=len, reverse=True)


class Redactor:
    """Replaces a person's identifiers in text (case-insensitively, as whole words) by the tombstone."""

    def __init__(self, identifiers: Iterable[str]):
        words = sorted({value for value in identifiers if value}, key=len, reverse=True)
        self.pattern = (
            re.compile("|".join(rf"(?<!\w){re.escape(word)}(?!\w)" for word in words), re.IGNORECASE) if words else None
        )

    def text(self, value: str) -> str:
        if not value or self.pattern is None:
            return value
        return self.pattern.sub(TOMBSTONE, value)

    def json(self, value: Any, key: str = "") -> Any:
        """Free-text keys tombstoned, identifiers redacted in every other string; keys, numbers, booleans, codes
        (``{"from": "resolved", "to": "open"}``, which the reports read) untouched."""
        if isinstance(value, dict):
            return {k: self.json(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(item, key) for item in value]
        if isinstance(value, str):
            return TOMBSTONE if (key in FREE_TEXT_KEYS and value) else self.text(value)
        return value


def _rows(model: type[models.Model]) -> models.QuerySet:
    """A plain queryset over ``model``: the append-only guards of the timeline's own queryset do not apply. Used for
    the anonymising ``update()`` calls of this module and nowhere else."""
    return models.QuerySet(model=model)


def _rows_scrub(queryset: models.QuerySet, holding: Holding, redactor: Redactor) -> int:
    """Apply one holding to the rows of ``queryset``: set-based updates for tombstones and blanks, then a per-row
    update of the columns where an identifier still appears. Returns the rows touched."""
    model = queryset.model
    if holding.delete:
        deleted, _ = queryset.delete()
        return deleted
    # A subquery, not a list of ids: an erasure of a long-standing customer touches more rows than SQLite takes
    # parameters in one statement.
    rows = _rows(model).filter(pk__in=queryset.values("pk"))
    touched = rows.count()
    if not touched:
        return 0
    for name in holding.tombstone:
        rows.exclude(**{name: ""}).exclude(**{name: TOMBSTONE}).update(**{name: TOMBSTONE})
    if holding.blank:
        rows.update(**dict.fromkeys(holding.blank, ""))
    others = [name for name in text_fields(model) if name not in holding.tombstone and name not in holding.blank]
    columns = others + list(holding.json)
    if (others and redactor.pattern is not None) or holding.json:
        # Read in full before writing: the updates below go to the table being read.
        for values in list(rows.values("pk", *columns)):
            changes = {}
            for name in others:
                if values[name]:
                    new = redactor.text(values[name])
                    if new != values[name]:
                        changes[name] = new
            for name in holding.json:
                new = redactor.json(values[name])
                if new != values[name]:
                    changes[name] = new
            if changes:
                _rows(model).filter(pk=values["pk"]).update(**changes)
    return touched


def _attachment_files_delete(ticket_ids: Sequence[int]) -> int:
    """Delete the stored files of the tickets' attachments (the rows stay, so the timeline keeps its shape)."""
    deleted = 0
    for attachment in Attachment.objects.filter(ticket_id__in=ticket_ids).exclude(file=""):
        storage, name = attachment.file.storage, attachment.file.name or ""
        if name and storage.exists(name):
            storage.delete(name)
            deleted += 1
    return deleted


def _stored_files_delete(queryset: models.QuerySet, holding: Holding) -> int:
    """Delete the stored files of a holding's file fields (``Holding.files``; the rows stay)."""
    deleted = 0
    if not holding.files:
        return 0
    for row in queryset.exclude(**dict.fromkeys(holding.files, "")):
        for name in holding.files:
            stored = getattr(row, name)
            if stored.name and stored.storage.exists(stored.name):
                stored.storage.delete(stored.name)
                deleted += 1
    return deleted


def tickets_anonymise(
    *, ticket_ids: Sequence[int], identifiers: Iterable[str], cause: str, now: datetime
) -> dict[str, int]:
    """Anonymise the tickets and everything hanging off them (timeline, attachments, escalations, surveys, calls,
    notifications ...), and mark them done. Call inside a transaction; already-marked tickets are skipped."""
    done = set(AnonymisedTicket.objects.filter(ticket_id__in=ticket_ids).values_list("ticket_id", flat=True))
    todo = [pk for pk in ticket_ids if pk not in done]
    if not todo:
        return {"tickets": 0, "files": 0}
    redactor = Redactor(identifiers)
    files = _attachment_files_delete(todo)
    for model, holding in holding_models():
        if holding.ticket is None:
            continue
        _rows_scrub(model._default_manager.filter(**{f"{holding.ticket}__in": todo}), holding, redactor)
    _admin_log_redact(model=Ticket, pks=todo, redactor=redactor)
    AnonymisedTicket.objects.bulk_create(
        [AnonymisedTicket(ticket_id=pk, cause=cause, anonymised_at=now) for pk in todo], ignore_conflicts=True
    )
    return {"tickets": len(todo), "files": files}


def person_anonymise(*, user: User, identifiers: Iterable[str]) -> None:
    """Anonymise the account and what is the person's outside their tickets: the profile (irreversibly: random
    username, no email, phone or name, no usable password, deactivated), rows linked to the account (KB votes keep
    their vote, tokens are deleted), received emails from their address, failed sign-ins under their username, and
    their name in the audit trail and Django admin's log. Call inside a transaction, after ``tickets_anonymise``."""
    identifiers = list(identifiers)
    redactor = Redactor(identifiers)
    for model, holding in holding_models():
        if not holding.person:
            continue
        match = Q()
        for lookup in holding.person:
            match |= Q(**{lookup: user})
        _stored_files_delete(model._default_manager.filter(match), holding)
        _rows_scrub(model._default_manager.filter(match), holding, redactor)
    if user.email:
        InboundMessage.objects.filter(from_address__iexact=user.email).update(from_address=TOMBSTONE, subject=TOMBSTONE)
    LoginFailure.objects.filter(username__iexact=user.username).delete()
    _audit_redact(user=user, redactor=redactor)
    _admin_log_redact(model=User, pks=[user.pk], redactor=redactor, replace_repr=True)
    User.objects.filter(pk=user.pk).update(
        username=f"erased-{user.pk}",
        first_name="",
        last_name="",
        email="",
        phone="",
        is_active=False,
        password="!erased",  # noqa: S106 -- an unusable hash: nobody can sign in, and existing sessions no longer verify
    )


def _audit_redact(*, user: User, redactor: Redactor) -> None:
    """The audit trail keeps its rows (who did what, when) with the person pseudonymised: actor label and details
    about their account lose the identifiers, and their own rows (sign-ins) lose the address they came from."""
    label = f"erased-{user.pk}"
    _rows(AuditEvent).filter(actor=user).update(ip_address=None)
    rows = AuditEvent.objects.filter(
        Q(actor=user) | Q(target_type="user", target_id=str(user.pk)) | Q(actor_label__iexact=user.username)
    )
    for pk, detail, actor_label in rows.values_list("pk", "detail", "actor_label"):
        changes: dict[str, Any] = {}
        new_detail = redactor.json(detail)
        if new_detail != detail:
            changes["detail"] = new_detail
        if actor_label and redactor.text(actor_label) != actor_label:
            changes["actor_label"] = label
        if changes:
            _rows(AuditEvent).filter(pk=pk).update(**changes)
    if redactor.pattern is None:
        return
    # Refused sign-ins name the username they tried (no actor, no target).
    for word in (user.username, user.email):
        if not word:
            continue
        for pk, detail in AuditEvent.objects.filter(detail__icontains=word).values_list("pk", "detail"):
            _rows(AuditEvent).filter(pk=pk).update(detail=redactor.json(detail))


def _admin_log_redact(*, model: type[models.Model], pks: Sequence[int], redactor: Redactor, replace_repr=False) -> None:
    """Django admin's change log names the objects it changed (a ticket's subject, a user's username)."""
    content_type = ContentType.objects.get_for_model(model)
    rows = LogEntry.objects.filter(content_type=content_type, object_id__in=[str(pk) for pk in pks])
    if replace_repr or model is Ticket:
        rows.update(object_repr=TOMBSTONE)
    for pk, message in rows.values_list("pk", "change_message"):
        new = redactor.text(message)
        if new != message:
            LogEntry.objects.filter(pk=pk).update(change_message=new)


def storage_names(ticket_ids: Sequence[int]) -> list[str]:
    """The attachment files of these tickets (used by tests and the export)."""
    return [name for name in Attachment.objects.filter(ticket_id__in=ticket_ids).values_list("file", flat=True) if name]


__all__ = ["TOMBSTONE", "Redactor", "person_anonymise", "personal_identifiers", "storage_names", "tickets_anonymise"]
