"""A hop nobody accepted in time: ``escalation_hops_page`` opens the next level through the opener, or, at the top of
the path, stops the hop waiting and alerts the managers on call once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.conf import settings

from escalations.bulk import _Notice, _notify_bulk
from escalations.hops.oncall import oncall_pages_start
from escalations.hops.opener import Dossier, HopSpec, _fmt, escalation_hops_open
from escalations.hops.router import HopRouter
from escalations.models import Escalation, EscalationMode, EscalationStatus, PageCause
from escalations.selectors import managers_on_call
from helpdesk.models import OPEN_STATUSES, NotificationKind, Team


def escalation_hops_page(*, escalations: Sequence[Escalation], now: datetime, router: HopRouter | None = None) -> int:
    """Hops nobody accepted in time (the caller locked them and checked they are open and due): each pages the
    next level (the hop is superseded, the dossier carried), or, at the top of the path, stops waiting and the
    managers on call are alerted once. A ticket no longer open just stops waiting. Returns how many were paged."""
    router = router or HopRouter()
    specs, top, closed = [], [], []
    for esc in escalations:
        if esc.ticket.status not in OPEN_STATUSES:
            closed.append(esc)
            continue
        path, level, team = router.target(
            ticket=esc.ticket,
            escalation_type=esc.escalation_type,
            mode=EscalationMode.AUTOMATIC,
            position=esc.level + 1,
            above_tier=esc.to_tier,
            chain_path_id=esc.path_id,
        )
        if team is None:
            top.append(esc)
        else:
            specs.append(_page_spec(esc, path=path, level=level, team=team, now=now))
    _stop_waiting(closed, alert=False, now=now)
    _stop_waiting(top, alert=True, now=now)
    return len(escalation_hops_open(hops=specs, now=now)) if specs else 0


def _page_spec(esc: Escalation, *, path, level, team: Team, now: datetime) -> HopSpec:
    waited = int((esc.ack_due_at - esc.created_at).total_seconds() // 60) if esc.ack_due_at else 0
    who = esc.to_team.name if esc.to_team else "the previous level"
    return HopSpec(
        ticket=esc.ticket,
        escalation_type=esc.escalation_type,
        mode=EscalationMode.AUTOMATIC,
        to_team=team,
        position=esc.level + 1,
        path=path,
        level=level,
        previous=esc,
        reason=f"Not accepted within {waited} minutes by {who} (level {esc.level}). Original reason: {esc.reason}",
        dossier=Dossier(esc.dossier_problem, esc.dossier_tried, esc.dossier_desired_outcome, esc.dossier_mood),
        caller_waiting=esc.caller_waiting,
        headline="Escalation paged (not accepted in time)",
        tell_customer=False,
    )


def _stop_waiting(escalations: list[Escalation], *, alert: bool, now: datetime) -> None:
    """Clear the acknowledgement clock with one UPDATE and, at the top of the path, alert the person on call of the
    receiving team (the sweep pages the backup and everyone later, ``escalations.hops.oncall``), or the managers on
    call when the team has no rota. The callers hold these hops' row locks, so each is stopped (and alerted about)
    exactly once."""
    if not escalations:
        return
    Escalation.objects.filter(pk__in=[esc.pk for esc in escalations], status=EscalationStatus.OPEN).update(
        ack_due_at=None
    )
    for esc in escalations:
        esc.ack_due_at = None
    if not alert:
        return
    managers = managers_on_call()
    on_call = oncall_pages_start(escalations=escalations, cause=PageCause.UNACKNOWLEDGED, now=now)
    _notify_bulk(
        [
            _Notice(
                ticket=esc.ticket,
                recipients=[on_call[esc.pk]] if esc.pk in on_call else managers,
                kind=NotificationKind.ESCALATION_UNACKNOWLEDGED,
                subject=f"Nobody has accepted the escalation of {esc.ticket.reference} yet",
                body=f"It has waited since {_fmt(esc.created_at, settings.TIME_ZONE)} and there is no higher level "
                "to page.",
                not_before=None,
                data={"escalation_id": esc.pk},
                page=esc.pk in on_call,
            )
            for esc in escalations
        ],
        now,
    )
