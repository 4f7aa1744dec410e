"""Automatic hops for one escalation or ticket at a time, by the SLA sweep's own route (``breach_hop_specs``,
``escalation_hops_page`` and the hop opener): the breach escalation and paging the next level when nobody accepted.
The sweep does the same in batches; ``tests/escalations/sla/test_hop_routes.py`` compares the two."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from escalations.hops import breach_hop_specs, escalation_hops_open, escalation_hops_page
from escalations.models import ClockState, Escalation, EscalationStatus, EscalationType, SLAClock
from escalations.services.common import _lock_ticket
from helpdesk.models import Ticket


@transaction.atomic
def escalation_create_automatic(*, ticket: Ticket, now: datetime | None = None) -> Escalation | None:
    """The SLA breach escalation of one ticket, by the very route the sweep takes (``breach_hop_specs`` and the
    hop opener) for its earliest overdue running clock: mode automatic, type support_level, to the next level
    above any accepted hop (which it supersedes), with the generated dossier. None when nothing is overdue, an
    open hop already waits, there is no higher level, or a concurrent call opened it first. Atomic, idempotent."""
    now = now or timezone.now()
    _lock_ticket(ticket)
    if not ticket.is_open:
        return None
    clock = (
        SLAClock.objects.select_related("policy__calendar", "policy__plan")
        .filter(ticket=ticket, state=ClockState.RUNNING, due_at__lte=now)
        .order_by("due_at", "pk")
        .first()
    )
    if clock is None:
        return None
    clock.ticket = ticket
    hops = breach_hop_specs(clocks=[clock], now=now)
    opened = escalation_hops_open(hops=hops, now=now) if hops else []
    return opened[0] if opened else None


@transaction.atomic
def escalation_page_next_level(*, escalation: Escalation, now: datetime | None = None) -> Escalation | None:
    """Nobody accepted within the level's time: the sweep's paging (``escalation_hops_page``) for one hop: the
    next level is opened (up to tier 3) exactly once; at the top the managers are alerted once and the hop stays
    open. Atomic and idempotent."""
    now = now or timezone.now()
    ticket = _lock_ticket(escalation.ticket)
    # The hop's row lock too (the sweep pages under it), so a page or a top-of-path alert happens exactly once.
    current = (
        Escalation.objects.select_for_update(of=("self",)).select_related("to_team").filter(pk=escalation.pk).first()
    )
    if (
        current is None
        or current.status != EscalationStatus.OPEN
        or current.ack_due_at is None
        or current.ack_due_at > now
        # A warm transfer times out into a callback (escalations.calls.services), not a page; emergencies still page.
        or (current.caller_waiting and current.escalation_type != EscalationType.EMERGENCY)
    ):
        return None
    current.ticket = ticket
    escalation_hops_page(escalations=[current], now=now)
    escalation.status, escalation.closed_at, escalation.ack_due_at = (
        current.status,
        current.closed_at,
        current.ack_due_at,
    )
    return Escalation.objects.filter(previous=current, status=EscalationStatus.OPEN).first()
