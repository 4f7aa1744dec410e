"""The one error model: every refusal a service or selector raises on purpose is an ``ApplicationError``.

Interfaces translate it in one place each: the DRF exception handler (``helpdesk.api.views.api_exception_handler``)
answers ``{"detail": message, "code": code, **extra}`` with the error's ``status``; server-rendered views put it on the
form with ``helpdesk.views.form_errors``. Apps subclass the four kinds below (``TicketConflict``,
``EscalationConflict``, ``SurveyLinkError``, ``WebhookRefused``) so callers may catch either the precise class or the
kind. Django's ``ValidationError`` / ``PermissionDenied`` raised by older services are handled by the same two
translators (400 naming the fields / 403).
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A refusal with words meant for the user: ``message``, a stable machine ``code`` and optional ``extra`` data
    (added to the API body as it is, so keep it JSON-safe)."""

    status: int = 400
    default_code: str = "error"

    def __init__(self, message: str = "", *, code: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.extra = dict(extra or {})

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, Any]:
        """The API body: ``detail`` and ``code`` first, then ``extra``."""
        return {"detail": self.message, "code": self.code, **self.extra}


class Invalid(ApplicationError):
    """The input breaks a rule (400). ``extra={"field": name}`` puts it next to that form field."""

    status = 400
    default_code = "invalid"


class NotAllowed(ApplicationError):
    """This user may not do this (403)."""

    status = 403
    default_code = "not_allowed"


class NotFound(ApplicationError):
    """No such thing, or not for this user's eyes (404): a miss is a miss, whoever asks."""

    status = 404
    default_code = "not_found"


class Conflict(ApplicationError):
    """Someone else acted first; nothing was written (409)."""

    status = 409
    default_code = "conflict"
