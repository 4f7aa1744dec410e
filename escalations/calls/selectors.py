"""Reads for calls and callbacks: a ticket's calls, my callbacks (overdue and due first), the queue banner."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypedDict

from django.db.models import Case, IntegerField, QuerySet, Value, When

from escalations.models import Call, Callback, CallbackStatus, Playbook
from helpdesk.models import User
from helpdesk.selectors import ticket_visibility_q_for

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _Urgency(TypedDict):
    urgency: int


DUE_SOON = timedelta(hours=1)


def calls_visible_to(user: User) -> QuerySet[Call]:
    """Staff see the calls of the tickets they can see (call notes are staff text: customers none)."""
    if not user.is_authenticated or not user.is_staff_member:
        return Call.objects.none()
    return Call.objects.filter(ticket_visibility_q_for(user, prefix="ticket__"))


def callbacks_visible_to(user: User) -> QuerySet[Callback]:
    if not user.is_authenticated or not user.is_staff_member:
        return Callback.objects.none()
    return Callback.objects.filter(ticket_visibility_q_for(user, prefix="ticket__"))


def callback_get_for_user(*, user: User, pk: int) -> Callback:
    """404 (Callback.DoesNotExist) when the user may not see the callback's ticket."""
    return callbacks_visible_to(user).select_related("ticket", "customer").get(pk=pk)


def _annotated(qs: QuerySet[Callback], now: datetime) -> QuerySet[WithAnnotations[Callback, _Urgency]]:
    return qs.annotate(
        urgency=Case(
            When(window_end__lte=now, then=Value(0)),
            When(window_start__lte=now + DUE_SOON, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    ).select_related("ticket", "customer", "escalation", "escalation__to_team")


def callbacks_open_for_owner(*, user: User, now: datetime) -> list[Callback]:
    """My callbacks still to make (pending, or breached and not yet kept): overdue first, then due, then later."""
    qs = callbacks_visible_to(user).filter(owner=user).exclude(status=CallbackStatus.DONE)
    return list(_annotated(qs, now).order_by("urgency", "window_start")[:200])


def callbacks_done_for_owner(*, user: User, limit: int = 20) -> list[Callback]:
    qs = callbacks_visible_to(user).filter(owner=user, status=CallbackStatus.DONE)
    return list(qs.select_related("ticket", "customer").order_by("-completed_at")[:limit])


def callbacks_due_for_queue(*, user: User, now: datetime) -> list[Callback]:
    """The queue banner: my callbacks overdue or starting within the hour."""
    qs = (
        callbacks_visible_to(user)
        .filter(owner=user, window_start__lte=now + DUE_SOON)
        .exclude(status=CallbackStatus.DONE)
    )
    return list(_annotated(qs, now).order_by("urgency", "window_start")[:20])


def playbooks_by_type() -> dict[str, Playbook]:
    return {p.escalation_type: p for p in Playbook.objects.all()}


def callbacks_attention(*, user: User, now: datetime, limit: int = 8) -> dict:
    """The manager dashboard: every visible callback not yet kept that is overdue or due within the hour, and how many
    windows were missed (breached) in the last 28 days."""
    open_ = callbacks_visible_to(user).exclude(status=CallbackStatus.DONE).select_related("ticket", "customer", "owner")
    overdue = open_.filter(window_end__lte=now).order_by("window_end")
    due = open_.filter(window_start__lte=now + DUE_SOON, window_end__gt=now).order_by("window_start")
    missed = callbacks_visible_to(user).filter(breached_at__gte=now - timedelta(days=28))
    return {
        "overdue": list(overdue[:limit]),
        "overdue_count": overdue.count(),
        "due": list(due[:limit]),
        "due_count": due.count(),
        "missed_28d": missed.count(),
    }
