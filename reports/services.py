"""Writes of the reports app: the record of a coaching session, and applying a simulated SLA draft."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from escalations.models import LIVE_CLOCK_STATES, BusinessCalendar, SLAClock, SLAPolicy
from escalations.sla import sla_recompute
from helpdesk.models import Role, Ticket, User
from reports.models import CoachingSession
from reports.simulator import Draft

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


@transaction.atomic
def sla_draft_apply(*, draft: Draft, actor: User, confirmed: bool, now: dt.datetime | None = None) -> list[SLAPolicy]:
    """An admin applies a simulated draft to the live policies, after confirming it. Live clocks of the affected
    policies are recomputed (``escalations.sla.sla_recompute``: used time is kept, new targets apply). Atomic;
    applying the same draft twice changes nothing the second time."""
    if actor.role != Role.ADMIN and not actor.is_superuser:
        raise PermissionDenied("Only admins change SLA policies.")
    if not confirmed:
        raise ValidationError({"confirm": "Tick the box to confirm that the live SLA policy changes."})
    now = now or timezone.now()
    if draft.replace_calendar_id is not None:
        if draft.calendar_id is None or not BusinessCalendar.objects.filter(pk=draft.calendar_id).exists():
            raise ValidationError({"calendar": "Choose the calendar to use instead."})
        policies = list(
            SLAPolicy.objects.select_for_update().filter(calendar_id=draft.replace_calendar_id, is_active=True)
        )
        for policy in policies:
            policy.calendar_id = draft.calendar_id
    else:
        policies = []
        if draft.policy_id is not None:
            policies = list(SLAPolicy.objects.select_for_update().filter(pk=draft.policy_id, is_active=True))
        if not policies:
            raise ValidationError({"policy": "Choose an active SLA policy."})
        policy = policies[0]
        for name in (
            "first_response_minutes",
            "next_response_minutes",
            "resolution_minutes",
            "warn_percent",
            "calendar_id",
        ):
            value = getattr(draft, name)
            if value is not None:
                setattr(policy, name, value or None if name.endswith("_minutes") else value)
    for policy in policies:
        policy.full_clean()
        policy.save()
    ticket_ids = (
        SLAClock.objects.filter(policy__in=policies, state__in=LIVE_CLOCK_STATES)
        .values_list("ticket", flat=True)
        .distinct()
    )
    for ticket in Ticket.objects.filter(pk__in=list(ticket_ids)).select_related("organization"):
        sla_recompute(ticket=ticket, now=now, reason=f"SLA draft applied by {actor.display_name}.")
    return policies
