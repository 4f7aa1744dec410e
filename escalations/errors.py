"""The escalations app's refusals, as kinds of the one application error (``helpdesk.errors``)."""

from __future__ import annotations

from helpdesk.errors import Conflict


class EscalationConflict(Conflict):
    """Someone else changed the escalation first (or a double click created it already); nothing was written."""
