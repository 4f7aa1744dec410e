"""Changing what the SLA engine measures against: one service saves an SLA policy or a business calendar and
recomputes the running clocks it affects. The API, Django admin (``save_model``) and the what-if "apply" all call
it, with the same permission check."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from escalations.models import BusinessCalendar, SLAPolicy
from escalations.sla.engine import clock_policy_of, sla_policies_recompute
from escalations.sla.selectors import calendar_spec
from helpdesk.models import User


def sla_admin_required(actor: User) -> None:
    """SLA policies and calendars are changed by administrators (``User.is_admin``: a superuser is one too)."""
    if not actor.is_admin:
        raise PermissionDenied("Only administrators can change SLA policies.")


@transaction.atomic
def sla_policy_save(
    *, policy: SLAPolicy, actor: User, fields: dict, now: datetime | None = None, reason: str = ""
) -> SLAPolicy:
    """An administrator creates or changes an SLA policy: the model's rules (one active policy per plan, priority
    and category) are checked before saving, then the live clocks running under it are recomputed (used time kept,
    new targets, warn share and calendar applied). The one way a policy changes: API, Django admin and the what-if
    "apply" all call it. Atomic; saving the same values again changes no clock."""
    sla_admin_required(actor)
    stored = SLAPolicy.objects.select_related("calendar").filter(pk=policy.pk).first() if policy.pk else None
    previous = {stored.pk: clock_policy_of(stored)} if stored is not None else {}
    for name, value in fields.items():
        setattr(policy, name, value)
    if policy.is_active and policy.plan_id:
        rival = (
            SLAPolicy.objects.filter(
                plan_id=policy.plan_id, priority=policy.priority, category_id=policy.category_id, is_active=True
            )  # type: ignore[misc]  # stubs refuse None, but exact=None is IS NULL: a catch-all policy's rival
            .exclude(pk=policy.pk)
            .first()
        )
        if rival is not None:
            scope = f"the {policy.category.name} category" if policy.category else "all categories"
            raise ValidationError(
                f"“{rival.name}” is already the active policy for {policy.plan.name}, {policy.priority} priority, "
                f"{scope}. Deactivate it first."
            )
    policy.full_clean()
    policy.save()
    if previous:
        reason = reason or f"SLA policy changed by {actor.display_name}."
        sla_policies_recompute(previous=previous, now=now, reason=reason)
    return policy


@transaction.atomic
def business_calendar_save(
    *,
    calendar: BusinessCalendar,
    actor: User,
    fields: dict,
    previous: dict | None = None,
    now: datetime | None = None,
) -> BusinessCalendar:
    """An administrator changes a business calendar (``fields``; its hours and holidays may have been saved just
    before, with ``previous`` = ``business_calendar_snapshot`` taken before any change); the live clocks of every
    policy on it are recomputed in the new working time. Atomic; idempotent."""
    sla_admin_required(actor)
    if previous is None:
        previous = business_calendar_snapshot(calendar=calendar) if calendar.pk else {}
    for name, value in fields.items():
        setattr(calendar, name, value)
    calendar.full_clean()
    calendar.save()
    if previous:
        sla_policies_recompute(
            previous=previous, now=now, reason=f"Calendar {calendar} changed by {actor.display_name}."
        )
    return calendar


def business_calendar_snapshot(*, calendar: BusinessCalendar) -> dict:
    """The policies on a calendar as the clocks see them now (read before changing the calendar)."""
    stored = BusinessCalendar.objects.prefetch_related("intervals", "holidays").filter(pk=calendar.pk).first()
    if stored is None:
        return {}
    spec = calendar_spec(stored)
    return {p.pk: clock_policy_of(p, spec=spec) for p in SLAPolicy.objects.filter(calendar=stored, is_active=True)}
