"""The data-subject export: a zip archive of everything we hold about one customer.

Layout (machine-readable, documented in ``manifest.json`` itself):

- ``manifest.json``: when, for which request, the format version and the list of files;
- ``profile.json``: the account and its organisation;
- ``data/<app_label.Model>.json``: every holding's rows about the customer (``privacy.registry``), serialised with
  Django's JSON serializer (``model``, ``pk``, ``fields``);
- ``files/<attachment id>-<name>``: the attachments' contents.

Product decision: the archive contains everything on the customer's tickets, internal notes and internal events
included (each event carries ``is_public``). It goes to the approved requester, not straight to the customer, so the
compliance reviewer can withhold what the law lets them (third parties' data, legal advice) before handing it over.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
import zipfile
from datetime import datetime
from pathlib import PurePosixPath

from django.core import serializers
from django.core.files import File
from django.core.files.storage import storages
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q

from helpdesk.models import Attachment, AuditEvent, Ticket, User
from privacy.registry import holding_models

FORMAT_VERSION = 1
ARCHIVE_FOLDER = "privacy/exports"


def private_storage():
    return storages["private"]


def _profile(user: User) -> dict:
    organization = user.organization
    return {
        "id": user.pk,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "phone": user.phone,
        "timezone": user.timezone,
        "role": user.role,
        "is_active": user.is_active,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "organization": (
            {
                "id": organization.pk,
                "name": organization.name,
                "plan": organization.plan.name if organization.plan_id else None,
            }
            if organization is not None
            else None
        ),
    }


def _safe_name(name: str) -> str:
    base = PurePosixPath((name or "file").replace("\\", "/")).name
    return "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in base)[:120] or "file"


def archive_build(*, customer: User, request_id: int, now: datetime) -> tuple[str, int, dict[str, int]]:
    """Write the archive to private storage. Returns its storage name, its size in bytes and counts per part."""
    ticket_ids = list(Ticket.objects.filter(customer=customer).values_list("pk", flat=True))
    counts: dict[str, int] = {"tickets": len(ticket_ids), "files": 0}
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            names = ["profile.json"]
            archive.writestr("profile.json", json.dumps(_profile(customer), cls=DjangoJSONEncoder, indent=2))
            for model, holding in holding_models():
                if not holding.export:
                    continue
                match = Q(pk__in=[])
                if holding.ticket is not None:
                    match |= Q(**{f"{holding.ticket}__in": ticket_ids})
                for lookup in holding.person:
                    match |= Q(**{lookup: customer})
                rows = model._default_manager.filter(match).order_by("pk")
                name = f"data/{model._meta.label}.json"
                archive.writestr(name, serializers.serialize("json", rows, indent=2))
                names.append(name)
                counts[model._meta.label] = rows.count()
            # Their own account events (sign-ins, refused sign-ins): when and from which address.
            own = AuditEvent.objects.filter(actor=customer).order_by("pk")
            archive.writestr("data/helpdesk.AuditEvent.json", serializers.serialize("json", own, indent=2))
            names.append("data/helpdesk.AuditEvent.json")
            counts["helpdesk.AuditEvent"] = own.count()
            for attachment in Attachment.objects.filter(ticket_id__in=ticket_ids).exclude(file="").order_by("pk"):
                try:
                    with attachment.file.open("rb") as source:
                        name = f"files/{attachment.pk}-{_safe_name(attachment.original_name)}"
                        with archive.open(name, "w") as target:
                            shutil.copyfileobj(source, target, 64 * 1024)
                except FileNotFoundError:
                    continue
                names.append(name)
                counts["files"] += 1
            manifest = {
                "format_version": FORMAT_VERSION,
                "generated_at": now.isoformat(),
                "timezone": "UTC",
                "request_id": request_id,
                "customer_id": customer.pk,
                "contents": names,
                "notes": "data/*.json use Django's JSON serialisation (model, pk, fields); timeline events carry "
                "is_public (false: internal to our staff); files/ holds attachment contents named <attachment id>-<name>.",
            }
            archive.writestr("manifest.json", json.dumps(manifest, indent=2))
        size = handle.tell()
        handle.seek(0)
        stored = private_storage().save(f"{ARCHIVE_FOLDER}/{uuid.uuid4().hex}.zip", File(handle))
    return stored, size, counts
