"""Writes of the reports app: only the record of a coaching session."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from helpdesk.models import Role, User
from reports.models import CoachingSession

COACHES = (Role.MANAGER, Role.ADMIN)


@transaction.atomic
def coaching_session_record(*, agent: User, manager: User, held_on: dt.date, notes: str) -> CoachingSession:
    """A manager records a coaching session held with a staff member (not in the future). Atomic; not idempotent:
    two sessions on one day are two sessions."""
    if manager.role not in COACHES and not manager.is_superuser:
        raise PermissionDenied("Only managers record coaching sessions.")
    errors = {}
    notes = (notes or "").strip()
    if not agent.is_staff_member or agent.role in COACHES:
        errors["agent"] = "Coaching sessions are recorded for agents and specialists."
    if held_on > timezone.now().date():
        errors["held_on"] = "A coaching session cannot be recorded in the future."
    if not notes:
        errors["notes"] = "Write down what was discussed."
    if errors:
        raise ValidationError(errors)
    return CoachingSession.objects.create(agent=agent, manager=manager, held_on=held_on, notes=notes)
