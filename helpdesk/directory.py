"""The customer directory's writes: organisations and their contacts (customer accounts).

One home for the rules that the Django admin (``OrganizationAdmin``) and the API share: who may write (administrators
only: ``require_admin``), what is valid (the model's own validation, so a refusal names its fields), and the
optimistic lock. Neither model carries a version, so the lock is a content tag: ``record_etag`` hashes the fields a
client can change; a write with the tag the client read is refused (``RecordConflict``, 412 in the API) when any of
them changed since, by whatever path (admin, API, inbound email).

Every write here is audited as a configuration change (``helpdesk.audit``); the Django admin audits its own forms
(``AuditedAdminMixin``), so it calls these with ``audit=False``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model

from helpdesk import audit
from helpdesk.errors import Conflict
from helpdesk.models import AuditAction, Organization, Plan, Role, User

ORGANIZATION_FIELDS = ("name", "plan", "email_domain", "timezone", "phone")
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "timezone", "organization")


def require_admin(user: User | None, *, to: str = "do this") -> None:
    """The one administrator check of the directory's writes (``User.is_admin``, as the Django admin's screens)."""
    if user is None or not user.is_admin:
        raise PermissionDenied(f"Only administrators can {to}.")


class RecordConflict(Conflict):
    """The record changed since the caller read it (its ETag no longer matches). The API answers 412."""

    status = 412

    def __init__(self, *, what: str, current: str):
        super().__init__(
            f"This {what} was changed since you read it. Nothing was saved: read it again and retry.",
            extra={"current_etag": current},
        )


def record_etag(obj: Model, fields: tuple[str, ...]) -> str:
    """A short tag of the values of ``fields`` (foreign keys by id): equal tags, equal writable state."""
    values = [obj.pk, *(getattr(obj, obj._meta.get_field(name).attname) for name in fields)]  # type: ignore[union-attr]
    return hashlib.sha256(json.dumps(values, default=str).encode()).hexdigest()[:16]


def _check_etag(obj: Model, fields: tuple[str, ...], expected: str | None, *, what: str) -> None:
    if expected is not None and record_etag(obj, fields) != expected:
        raise RecordConflict(what=what, current=record_etag(obj, fields))


def _apply(obj: Model, changes: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, dict[str, str | None]]:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be changed here."))
    diff = {}
    for name, value in changes.items():
        old = getattr(obj, name)
        if old != value:
            diff[name] = {
                "old": str(old) if old is not None else None,
                "new": str(value) if value is not None else None,
            }
            setattr(obj, name, value)
    return diff


def _audit(*, actor: User, obj: Model, operation: str, changes: dict, via: str) -> None:
    audit.record(
        AuditAction.CONFIG_CHANGED,
        actor=actor,
        target=obj,
        target_type=obj._meta.label_lower,
        detail={
            "operation": operation,
            "model": obj._meta.label_lower,
            "object": str(obj)[:200],
            "fields": changes,
            "via": via,
        },
    )


def _valid_timezone(value: str, *, field: str = "timezone") -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not value:
        return
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError({field: f"Unknown time zone {value!r}: use an IANA name such as Europe/Paris."}) from None


_DOMAIN = re.compile(r"^(?=.{1,120}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def organization_validate(organization: Organization) -> None:
    """The organisation rules (tidy name, unique whatever its case, a bare domain, a real time zone, the model's
    own checks); a ``ValidationError`` naming the fields. The admin's form and the services call this."""
    organization.name = " ".join((organization.name or "").split())
    organization.email_domain = (organization.email_domain or "").strip().lower()
    organization.phone = (organization.phone or "").strip()
    if organization.email_domain and not _DOMAIN.match(organization.email_domain):
        raise ValidationError({"email_domain": "Give a domain such as example.com (no @, no spaces)."})
    _valid_timezone(organization.timezone)
    if Organization.objects.filter(name__iexact=organization.name).exclude(pk=organization.pk).exists():
        raise ValidationError({"name": f"An organisation called “{organization.name}” already exists."})
    organization.full_clean(validate_unique=False)


@transaction.atomic
def organization_create(
    *,
    actor: User,
    name: str,
    plan: Plan,
    email_domain: str = "",
    timezone: str = "Europe/London",
    phone: str = "",
    audit_it: bool = True,
) -> Organization:
    """Add a customer organisation (administrators). Validated like the admin's form. Atomic; audited."""
    require_admin(actor, to="add organisations")
    organization = Organization(name=name, plan=plan, email_domain=email_domain, timezone=timezone, phone=phone)
    organization_validate(organization)
    organization.save()
    if audit_it:
        fields = {name: {"old": None, "new": str(getattr(organization, name))} for name in ORGANIZATION_FIELDS}
        _audit(actor=actor, obj=organization, operation="added", changes=fields, via="api")
    return organization


@transaction.atomic
def organization_update(
    *, actor: User, organization: Organization, expected_etag: str | None = None, audit_it: bool = True, **changes: Any
) -> Organization:
    """Change an organisation (administrators): name, plan (its tickets' SLA clocks follow through the plan-change
    hook), email domain, time zone, phone. With ``expected_etag``, refused if it changed since. Atomic; audited."""
    require_admin(actor, to="change organisations")
    current = Organization.objects.select_for_update().get(pk=organization.pk)
    _check_etag(current, ORGANIZATION_FIELDS, expected_etag, what="organisation")
    diff = _apply(current, changes, ORGANIZATION_FIELDS)
    organization_validate(current)
    if diff:
        current.save()
        if audit_it:
            _audit(actor=actor, obj=current, operation="changed", changes=diff, via="api")
    return current


def _clean_contact(contact: User) -> None:
    contact.email = (contact.email or "").strip()
    contact.first_name = " ".join((contact.first_name or "").split())
    contact.last_name = " ".join((contact.last_name or "").split())
    if not contact.email:
        raise ValidationError({"email": "A contact needs an email address."})
    if User.objects.filter(email__iexact=contact.email, is_active=True).exclude(pk=contact.pk).exists():
        raise ValidationError({"email": f"Someone already signs in with {contact.email}."})
    if contact.organization_id is None:
        raise ValidationError({"organization": "A contact belongs to an organisation."})
    _valid_timezone(contact.timezone)
    contact.full_clean(exclude=["password", "username"], validate_unique=False)


def customer_username_for(address: str) -> str:
    """A free username made from an email address (``dana@x.test``, then ``dana@x.test-2`` ...)."""
    base = re.sub(r"[^a-z0-9.@+_-]", "", address.lower())[:140] or "contact"
    username, suffix = base, 1
    while User.objects.filter(username=username).exists():
        suffix += 1
        username = f"{base}-{suffix}"
    return username


@transaction.atomic
def contact_create(
    *,
    actor: User,
    email: str,
    organization: Organization,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    timezone: str = "",
) -> User:
    """Add a customer contact to an organisation (administrators). No password: they sign in with a reset link or
    SSO. Atomic; audited (as a configuration change and, being a new account, a role change)."""
    require_admin(actor, to="add contacts")
    contact = User(
        role=Role.CUSTOMER,
        email=email,
        organization=organization,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        timezone=timezone,
    )
    _clean_contact(contact)
    contact.username = customer_username_for(contact.email)
    contact.set_unusable_password()
    contact.save()
    fields = {name: {"old": None, "new": str(getattr(contact, name))} for name in CONTACT_FIELDS}
    _audit(actor=actor, obj=contact, operation="added", changes=fields, via="api")
    audit.role_change_record(
        actor=actor, user=contact, changes={"role": {"old": None, "new": Role.CUSTOMER}}, via="api"
    )
    return contact


@transaction.atomic
def contact_update(*, actor: User, contact: User, expected_etag: str | None = None, **changes: Any) -> User:
    """Change a customer contact's name, email, phone, time zone or organisation (administrators); never their role,
    password or access. With ``expected_etag``, refused if it changed since. Atomic; audited."""
    require_admin(actor, to="change contacts")
    current = User.objects.select_for_update().get(pk=contact.pk)
    if current.role != Role.CUSTOMER:
        raise PermissionDenied("Only customer contacts are changed here.")
    _check_etag(current, CONTACT_FIELDS, expected_etag, what="contact")
    diff = _apply(current, changes, CONTACT_FIELDS)
    _clean_contact(current)
    if diff:
        current.save()
        _audit(actor=actor, obj=current, operation="changed", changes=diff, via="api")
        if "organization" in diff:
            # The organisation decides which tickets a customer sees: an access change, audited as one.
            audit.role_change_record(
                actor=actor, user=current, changes={"organization": diff["organization"]}, via="api"
            )
    return current
