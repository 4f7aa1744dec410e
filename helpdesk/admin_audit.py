"""What a Django admin add, change or delete writes to the audit trail (``helpdesk.admin_services.AuditedAdminMixin``
calls these; ``helpdesk.audit.record`` writes the rows).

A configuration change is recorded with its model, object id and, per changed field, the old and the new value (from
the admin's bound form: ``initial`` is what the admin saw, ``cleaned_data`` what was saved), inline rows included.
Secrets never reach the trail: a field whose name says secret, password, token, digest, hash or key (or that the
ModelAdmin lists in ``audit_masked_fields``) is recorded as changed with both values masked. A change to who someone
is (role, superuser, staff, active, groups, team memberships) is also recorded as a role change on that person.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models
from django.http import HttpRequest

from helpdesk.audit import record, role_change_record
from helpdesk.models import AuditAction, TeamMembership, User

MASKED = "[masked]"
SECRET_WORDS = ("secret", "password", "token", "digest", "hash", "key")
# The fields of a user that say what they may do; a change to any of them is a role change.
ROLE_FIELDS = ("role", "is_superuser", "is_staff", "is_active", "groups", "user_permissions")


def is_secret_field(name: str, masked: Sequence[str] = ()) -> bool:
    lowered = name.lower()
    return name in masked or any(word in lowered for word in SECRET_WORDS)


def plain(value: Any) -> Any:
    """A JSON-safe, comparable value: a related row by its primary key, a set of rows as their sorted names."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, models.QuerySet | list | tuple | set | frozenset):
        return sorted(str(item) for item in value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    return str(value)


def form_diff(form, masked: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """``{field: {"old": ..., "new": ...}}`` for every field the form changed."""
    diff: dict[str, dict[str, Any]] = {}
    for name in form.changed_data:
        if is_secret_field(name, masked):
            diff[name] = {"old": MASKED, "new": MASKED}
            continue
        old = form.initial.get(name)
        new = form.cleaned_data.get(name)
        # A foreign key's initial is its id while the cleaned value is the row: compare like with like.
        diff[name] = {"old": plain(old), "new": plain(new)}
    return diff


def admin_form_changes(*, form, formsets: Iterable = (), masked: Sequence[str] = ()) -> dict[str, Any]:
    """The field-by-field difference of an admin form and its inline formsets."""
    changes: dict[str, Any] = {"fields": form_diff(form, masked)}
    inlines = []
    for formset in formsets:
        deleted = set(map(id, getattr(formset, "deleted_forms", [])))
        new_objects = list(getattr(formset, "new_objects", []))
        for inline_form in formset.forms:
            instance = inline_form.instance
            if id(inline_form) in deleted:
                operation = "deleted"
            elif not inline_form.has_changed():
                continue
            elif any(instance is new for new in new_objects):
                operation = "added"
            else:
                operation = "changed"
            inlines.append(
                {
                    "model": instance._meta.label_lower,
                    "id": plain(instance.pk),
                    "object": str(instance)[:200],
                    "operation": operation,
                    "fields": form_diff(inline_form, masked) if operation != "deleted" else {},
                    "_instance": instance,
                }
            )
    if inlines:
        changes["inlines"] = inlines
    return changes


def admin_audit_change(*, request: HttpRequest, obj: models.Model, operation: str, changes: dict[str, Any]) -> None:
    """One configuration-change row for an admin add or change; role changes also on the person concerned."""
    actor = _actor(request)
    inlines = changes.get("inlines", [])
    detail = {
        "operation": operation,
        "model": obj._meta.label_lower,
        "object": str(obj)[:200],
        "fields": changes.get("fields", {}),
    }
    if inlines:
        detail["inlines"] = [{k: v for k, v in row.items() if k != "_instance"} for row in inlines]
    record(
        AuditAction.CONFIG_CHANGED,
        actor=actor,
        target=obj,
        target_type=obj._meta.label_lower,
        request=request,
        detail=detail,
    )
    if isinstance(obj, User):
        role_fields = {name: value for name, value in detail["fields"].items() if name in ROLE_FIELDS}
        if role_fields or operation == "added":
            if operation == "added":
                role_fields = {"role": {"old": None, "new": obj.role}, **role_fields}
            role_change_record(actor=actor, user=obj, changes=role_fields, request=request, via="admin")
    for row in inlines:
        instance = row["_instance"]
        if isinstance(instance, TeamMembership):
            role_change_record(
                actor=actor,
                user=instance.user,
                changes={"team": {"team": instance.team.name, "operation": row["operation"], **row["fields"]}},
                request=request,
                via="admin",
            )


def admin_audit_deletions(*, request: HttpRequest, objects: Iterable[models.Model], masked: Sequence[str] = ()) -> None:
    """One configuration-change row per deleted object, with what it held (secrets masked)."""
    actor = _actor(request)
    for obj in objects:
        values = {
            field.name: MASKED if is_secret_field(field.name, masked) else plain(field.value_from_object(obj))
            for field in obj._meta.concrete_fields
        }
        record(
            AuditAction.CONFIG_CHANGED,
            actor=actor,
            target=obj,
            target_type=obj._meta.label_lower,
            request=request,
            detail={"operation": "deleted", "model": obj._meta.label_lower, "object": str(obj)[:200], "values": values},
        )


def _actor(request: HttpRequest) -> User | None:
    user = getattr(request, "user", None)
    return user if isinstance(user, User) else None
