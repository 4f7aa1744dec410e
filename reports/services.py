"""Writes of the reports app: the record of a coaching session, and applying a simulated SLA draft."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from escalations.models import BusinessCalendar, SLAPolicy
from escalations.sla.services import sla_admin_required, sla_policy_save
from helpdesk.models import User
from reports.models import CoachingSession
from reports.simulator import Draft


@transaction.atomic
def coaching_session_record(*, agent: User, manager: User, held_on: dt.date, notes: str) -> CoachingSession:
    """A manager records a coaching session held with a staff member (not in the future). Atomic; not idempotent:
    two sessions on one day are two sessions."""
    if not manager.can_coach:
        raise PermissionDenied("Only managers record coaching sessions.")
    errors = {}
    notes = (notes or "").strip()
    if not agent.is_staff_member or agent.tier == 3:
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
    """An admin applies a simulated draft to the live policies, after confirming it, through the one policy-change
    service (``escalations.sla.services.sla_policy_save``: same permission, live clocks recomputed with used time kept).
    Atomic; applying the same draft twice changes nothing the second time."""
    sla_admin_required(actor)
    if not confirmed:
        raise ValidationError({"confirm": "Tick the box to confirm that the live SLA policy changes."})
    now = now or timezone.now()
    if draft.replace_calendar_id is not None:
        if draft.calendar_id is None or not BusinessCalendar.objects.filter(pk=draft.calendar_id).exists():
            raise ValidationError({"calendar": "Choose the calendar to use instead."})
        policies = list(
            SLAPolicy.objects.select_for_update().filter(calendar_id=draft.replace_calendar_id, is_active=True)
        )
        changes: dict[int, dict] = {policy.pk: {"calendar_id": draft.calendar_id} for policy in policies}
    else:
        policies = []
        if draft.policy_id is not None:
            policies = list(SLAPolicy.objects.select_for_update().filter(pk=draft.policy_id, is_active=True))
        if not policies:
            raise ValidationError({"policy": "Choose an active SLA policy."})
        fields = {}
        for name in ("first_response_minutes", "next_response_minutes", "resolution_minutes"):
            if getattr(draft, name) is not None:
                fields[name] = getattr(draft, name) or None
        for name in ("warn_percent", "calendar_id"):
            if getattr(draft, name) is not None:
                fields[name] = getattr(draft, name)
        changes = {policies[0].pk: fields}
    reason = f"SLA draft applied by {actor.display_name}."
    return [
        sla_policy_save(policy=policy, actor=actor, fields=changes[policy.pk], now=now, reason=reason)
        for policy in policies
    ]
