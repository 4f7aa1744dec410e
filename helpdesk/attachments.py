"""Attachment rules: a server-side allowlist by extension *and* content, a size limit, generated storage names.

The browser's declared content type is ignored; the type we store is the one the allowlist maps the extension to,
after the first bytes agree with it (so ``evil.html`` renamed ``evil.png`` is refused).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from helpdesk.models import Attachment, Ticket, TicketEvent, User

# extension -> (content type, magic-byte prefixes or None for text checked as UTF-8 without NULs)
ALLOWED_TYPES: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", (b"RIFF",)),
    ".txt": ("text/plain", None),
    ".log": ("text/plain", None),
    ".csv": ("text/csv", None),
    ".eml": ("message/rfc822", None),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    ".zip": ("application/zip", (b"PK\x03\x04",)),
}


def _display_name(upload: UploadedFile) -> str:
    return PurePosixPath((upload.name or "file").replace("\\", "/")).name or "file"


def attachment_validate(upload: UploadedFile) -> str:
    """Return the content type to store, or raise a ValidationError that names the file and the rule."""
    name = _display_name(upload)
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in ALLOWED_TYPES:
        allowed = ", ".join(sorted(ext.lstrip(".") for ext in ALLOWED_TYPES))
        raise ValidationError(
            _("“%(name)s” is not an allowed file type. Allowed types: %(allowed)s.")
            % {"name": name, "allowed": allowed}
        )
    if upload.size is not None and upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            _("“%(name)s” is %(size)s; the limit is %(limit)s.")
            % {
                "name": name,
                "size": filesizeformat(upload.size),
                "limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
            }
        )
    if not upload.size:
        raise ValidationError(_("“%(name)s” is empty.") % {"name": name})
    content_type, magic = ALLOWED_TYPES[suffix]
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    if magic is None:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the 8 KiB boundary is fine; anything earlier is binary.
            if exc.start < len(head) - 4:
                raise ValidationError(_("“%(name)s” does not look like a text file.") % {"name": name}) from exc
        if b"\x00" in head:
            raise ValidationError(_("“%(name)s” does not look like a text file.") % {"name": name})
    elif not head.startswith(magic):
        raise ValidationError(
            _("The content of “%(name)s” does not match its %(suffix)s extension.") % {"name": name, "suffix": suffix}
        )
    return content_type


def attachment_store(
    *, ticket: Ticket, event: TicketEvent | None, upload: UploadedFile, uploaded_by: User, is_public: bool
) -> Attachment:
    """Validate and save one upload under a generated name in private storage."""
    content_type = attachment_validate(upload)
    attachment = Attachment(
        ticket=ticket,
        event=event,
        original_name=_display_name(upload)[:200],
        content_type=content_type,
        size=upload.size or 0,  # set for every Django upload; the stubs allow None
        is_public=is_public,
        uploaded_by=uploaded_by,
    )
    attachment.file.save(_display_name(upload), upload, save=False)
    attachment.save()
    return attachment


class StoredFile(Protocol):
    """What a download needs of a stored file: a ticket's ``Attachment``, or another app's file kept by these rules
    (a chat's ``ChatAttachment``)."""

    @property
    def file(self) -> FieldFile: ...
    @property
    def original_name(self) -> str: ...
    @property
    def content_type(self) -> str: ...


def attachment_file_response(attachment: StoredFile) -> FileResponse:
    """The download of an attachment the caller was already authorised for (``attachment_get_for_user``): always a
    download (never rendered inline), its content type the one we stored, sniffing and scripts off. The screens and
    the API both answer with this. A file missing from storage is a 404."""
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The file is no longer available.") from exc
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.original_name, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
