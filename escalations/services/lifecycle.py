"""An escalation's life after it was opened: accept, return with guidance, escalate further, resolve, a manager's
reassign, and the end of every active escalation when its ticket closes. Every state change is a conditional UPDATE
on the status the caller saw, so of two people acting at once one wins and the other gets ``EscalationConflict``
naming the winner."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from escalations import conf, events
from escalations.compensation import amount_parse, compensation_request_create
from escalations.errors import EscalationConflict
from escalations.hops import Dossier, HopRouter, HopSpec
from escalations.models import (
    ACTIVE_ESCALATION_STATUSES,
    Escalation,
    EscalationMode,
    EscalationStatus,
    EscalationType,
    RequestedBy,
    VendorCase,
)
from escalations.services.common import (
    _can_handle,
    _customer_team_words,
    _is_member,
    _lock_ticket,
    _open_one,
    _tell_customer,
    _ticket_update,
    when_words,
)
from helpdesk import services as core
from helpdesk.models import EventKind, NotificationKind, Status, Team, Ticket, User
from helpdesk.notifications import notification_enqueue
from helpdesk.services import require_staff


def _conflict(escalation: Escalation) -> EscalationConflict:
    current = Escalation.objects.select_related("accepted_by").get(pk=escalation.pk)
    if current.status == EscalationStatus.ACCEPTED and current.accepted_by:
        return EscalationConflict(
            gettext("%(name)s accepted this escalation at %(time)s; it is theirs now. Nothing of yours was changed.")
            % {"name": current.accepted_by.display_name, "time": f"{timezone.localtime(current.accepted_at):%H:%M}"}
        )
    return EscalationConflict(
        gettext("This escalation is already %(status)s; nothing of yours was changed.")
        % {"status": str(current.get_status_display()).lower()}
    )


@transaction.atomic
def escalation_accept(*, escalation: Escalation, actor: User, now: datetime | None = None) -> Escalation:
    """The receiver takes ownership: the ticket moves to their team, tier and name; the customer is told who has
    it. One conditional UPDATE decides between simultaneous accepts; the loser gets EscalationConflict. Atomic."""
    require_staff(actor)
    now = now or timezone.now()
    if not _can_handle(actor, escalation):
        raise PermissionDenied(
            gettext("This escalation is for %(team)s; only its members or a manager can accept it.")
            % {"team": escalation.to_team.name if escalation.to_team else gettext("the receiving team")}
        )
    # Lock order everywhere: the ticket row first, then the escalation row (no deadlock with escalate-further).
    ticket = _lock_ticket(escalation.ticket)
    changed = Escalation.objects.filter(pk=escalation.pk, status=EscalationStatus.OPEN).update(
        status=EscalationStatus.ACCEPTED, accepted_by=actor, accepted_at=now
    )
    if not changed:
        raise _conflict(escalation)
    escalation.refresh_from_db()
    team = escalation.to_team if _is_member(actor, escalation.to_team) else _home_team(actor) or escalation.to_team
    core.ticket_assign(ticket=ticket, actor=actor, team=team, assignee=actor if _is_member(actor, team) else None)
    if (
        ticket.is_emergency
        and not Escalation.objects.filter(
            ticket=ticket, status=EscalationStatus.OPEN, escalation_type=EscalationType.EMERGENCY
        ).exists()
    ):
        _ticket_update(ticket=ticket, now=now, is_emergency=False)
    events.escalation_accepted_event(ticket=ticket, actor=actor, escalation=escalation)
    _tell_customer(
        escalation=escalation,
        kind=EventKind.ESCALATION_ACCEPTED,
        actor=actor,
        body=lambda: (
            gettext("%(name)s from %(team)s is now handling your request and will reply here.")
            % {"name": actor.first_name or actor.display_name, "team": _customer_team_words(team)}
        ),
    )
    if escalation.requested_by and escalation.requested_by != actor:
        notification_enqueue(
            kind=NotificationKind.ESCALATION_ACCEPTED,
            subject=f"{actor.display_name} accepted your escalation of {ticket.reference}",
            recipients=[escalation.requested_by],
            ticket=ticket,
            url=core.ticket_url(ticket),
            email=False,
        )
    return escalation


def _home_team(user: User) -> Team | None:
    return Team.objects.filter(memberships__user=user).order_by("-tier", "name").first()


@transaction.atomic
def escalation_return(*, escalation: Escalation, actor: User, guidance: str, now: datetime | None = None) -> Escalation:
    """De-escalate: send it back to the sender's team with guidance for them; counted as avoidable. Atomic."""
    require_staff(actor)
    now = now or timezone.now()
    if not guidance.strip():
        raise ValidationError(
            {"guidance": gettext("Write the guidance for the sender: what they can do themselves next time.")}
        )
    if not _can_handle(actor, escalation):
        raise PermissionDenied(gettext("Only the receiving team or a manager can return this escalation."))
    ticket = _lock_ticket(escalation.ticket)
    changed = Escalation.objects.filter(pk=escalation.pk, status__in=ACTIVE_ESCALATION_STATUSES).update(
        status=EscalationStatus.RETURNED, return_guidance=guidance.strip(), closed_at=now
    )
    if not changed:
        raise _conflict(escalation)
    escalation.refresh_from_db()
    sender = escalation.requested_by if escalation.requested_by_kind == RequestedBy.AGENT else None
    team = escalation.from_team
    assignee = sender if sender is not None and _is_member(sender, team) else None
    core.ticket_assign(ticket=ticket, actor=actor, team=team, assignee=assignee)
    if ticket.is_emergency and escalation.escalation_type == EscalationType.EMERGENCY:
        _ticket_update(ticket=ticket, now=now, is_emergency=False)
    events.escalation_returned_event(ticket=ticket, actor=actor, escalation=escalation)
    _tell_customer(
        escalation=escalation,
        kind=EventKind.ESCALATION_RETURNED,
        actor=actor,
        body=lambda: (
            gettext("Our specialists have reviewed your request and passed it back to %(who)s with clear next steps.")
            % {"who": assignee.first_name or assignee.display_name if assignee else _customer_team_words(team)}
        ),
    )
    if sender is not None:
        notification_enqueue(
            kind=NotificationKind.ESCALATION_RETURNED,
            subject=f"{actor.display_name} returned your escalation of {ticket.reference}",
            body=f"Guidance: {escalation.return_guidance}",
            recipients=[sender],
            ticket=ticket,
            url=core.ticket_url(ticket),
        )
    return escalation


@transaction.atomic
def escalation_escalate_further(
    *,
    escalation: Escalation,
    actor: User,
    reason: str,
    dossier_tried: str = "",
    compensation_amount: Decimal | str | None = None,
    compensation_currency: str = "",
    compensation_reason: str = "",
    now: datetime | None = None,
) -> Escalation:
    """Hand the escalation up a tier (e.g. 2 → 3): this hop is superseded and the next one keeps the dossier and a
    link to it, so the chain keeps every hop. An optional compensation request goes with it (approval rules apply).
    Exactly once: a conditional UPDATE on the hop and the open-per-level constraint. Atomic."""
    require_staff(actor)
    now = now or timezone.now()
    errors = {}
    if not reason.strip():
        errors["reason"] = gettext("Say why this needs a higher tier.")
    amount = amount_parse(compensation_amount) if compensation_amount not in (None, "") else None
    if amount is not None and not (compensation_reason or reason).strip():
        errors["compensation_reason"] = gettext("Say why the customer should be compensated.")
    if errors:
        raise ValidationError(errors)
    if not _can_handle(actor, escalation):
        raise PermissionDenied(gettext("Only the receiving team or a manager can escalate this further."))
    ticket = _lock_ticket(escalation.ticket)
    path, level, team = HopRouter().target(
        ticket=ticket,
        escalation_type=escalation.escalation_type,
        mode=EscalationMode.HIERARCHICAL,
        position=escalation.level + 1,
        above_tier=escalation.to_tier,
        chain_path_id=escalation.path_id,
    )
    if team is None:
        raise ValidationError(
            gettext("This escalation is already with tier 3; there is no higher level to escalate to.")
        )
    tried = escalation.dossier_tried
    if dossier_tried.strip():
        tried = f"{tried}\n{actor.display_name} (tier {actor.tier}): {dossier_tried.strip()}"
    hop = HopSpec(
        ticket=ticket,
        escalation_type=escalation.escalation_type,
        mode=EscalationMode.HIERARCHICAL,
        to_team=team,
        position=escalation.level + 1,
        path=path,
        level=level,
        previous=escalation,
        requested_by_kind=RequestedBy.AGENT,
        requested_by=actor,
        actor=actor,
        reason=reason,
        dossier=Dossier(escalation.dossier_problem, tried, escalation.dossier_desired_outcome, escalation.dossier_mood),
        caller_waiting=escalation.caller_waiting,
        headline="Escalated further",
    )
    new = _open_one(hop, now=now)
    if hop.lost == "moved":
        raise _conflict(escalation)
    if new is None:
        raise EscalationConflict(
            gettext("This escalation was escalated further a moment ago; nothing new was created.")
        )
    if amount is not None:
        compensation_request_create(
            ticket=ticket,
            actor=actor,
            amount=amount,
            currency=compensation_currency or conf.get("ESCALATION_DEFAULT_CURRENCY"),
            reason=(compensation_reason or reason).strip(),
            escalation=new,
            now=now,
        )
    return new


@transaction.atomic
def escalation_resolve(
    *, escalation: Escalation, actor: User, summary: str, resolve_ticket: bool = True, now: datetime | None = None
) -> Escalation:
    """Close the escalation with a required resolution summary; the customer is told what was done and, by
    default, the ticket is resolved. Open vendor cases of the hop are closed. Atomic."""
    require_staff(actor)
    now = now or timezone.now()
    if not summary.strip():
        raise ValidationError({"summary": gettext("Write the resolution summary: what was done for the customer.")})
    if not _can_handle(actor, escalation):
        raise PermissionDenied(
            gettext("Only whoever accepted it, the receiving team or a manager can resolve this escalation.")
        )
    if escalation.status == EscalationStatus.OPEN:
        raise ValidationError(gettext("Accept the escalation before resolving it."))
    ticket = _lock_ticket(escalation.ticket)
    changed = Escalation.objects.filter(pk=escalation.pk, status=EscalationStatus.ACCEPTED).update(
        status=EscalationStatus.RESOLVED, resolution_summary=summary.strip(), closed_at=now
    )
    if not changed:
        raise _conflict(escalation)
    escalation.refresh_from_db()
    VendorCase.objects.filter(escalation=escalation, closed_at__isnull=True).update(closed_at=now)
    events.escalation_resolved_event(ticket=ticket, actor=actor, escalation=escalation)
    _tell_customer(
        escalation=escalation,
        kind=EventKind.ESCALATION_RESOLVED,
        actor=actor,
        subject=lambda: gettext("Your request has been resolved"),
        body=lambda: (
            gettext(
                "%(name)s has resolved your request. What we did: %(summary)s\n\n"
                "If anything is still wrong, just reply and we will pick it up again."
            )
            % {"name": actor.first_name or actor.display_name, "summary": escalation.resolution_summary}
        ),
    )
    _notify_escalating_teams(escalation=escalation, actor=actor)
    if resolve_ticket and ticket.status != Status.RESOLVED and ticket.can_transition_to(Status.RESOLVED):
        core.ticket_change_status(ticket=ticket, actor=actor, status=Status.RESOLVED)
    return escalation


def _notify_escalating_teams(*, escalation: Escalation, actor: User) -> None:
    """Every team that passed the ticket up the chain learns how it ended (a resolution criterion)."""
    ticket = escalation.ticket
    team_ids = set(
        Escalation.objects.filter(ticket=ticket, from_team__isnull=False).values_list("from_team_id", flat=True)
    )
    members = User.objects.filter(memberships__team_id__in=team_ids, is_active=True).distinct()
    notification_enqueue(
        kind=NotificationKind.ESCALATION_RESOLVED,
        subject=f"{ticket.reference} resolved: {ticket.subject}",
        body=f"{actor.display_name} resolved the escalation you raised. What was done: {escalation.resolution_summary}",
        recipients=members,
        ticket=ticket,
        url=core.ticket_url(ticket),
        email=False,
    )


@transaction.atomic
def escalation_reassign(*, escalation: Escalation, actor: User, team: Team, now: datetime | None = None) -> Escalation:
    """A manager moves an active escalation to another team: the hop is superseded and a new open hop at the same
    level goes to that team through the hop opener (its clock restarts, the team is notified, the customer told).
    Returns the new hop. Atomic."""
    require_staff(actor)
    now = now or timezone.now()
    if not actor.is_tier3:
        raise PermissionDenied(gettext("Only a manager can reassign an escalation."))
    if team == escalation.to_team and escalation.status == EscalationStatus.OPEN:
        raise ValidationError({"team": gettext("This escalation is already with %(team)s.") % {"team": team.name}})
    ticket = _lock_ticket(escalation.ticket)
    router = HopRouter()
    hop = HopSpec(
        ticket=ticket,
        escalation_type=escalation.escalation_type,
        mode=escalation.mode,
        to_team=team,
        position=escalation.level,
        path=escalation.path,
        level=router.level(
            router.paths_by_pk.get(escalation.path_id) if escalation.path_id is not None else None, escalation.level
        ),
        previous=escalation,
        requested_by_kind=escalation.requested_by_kind,
        requested_by=escalation.requested_by,
        actor=actor,
        reason=f"{actor.display_name} reassigned the escalation to {team.name}. {escalation.reason}",
        dossier=Dossier(
            escalation.dossier_problem,
            escalation.dossier_tried,
            escalation.dossier_desired_outcome,
            escalation.dossier_mood,
        ),
        caller_waiting=escalation.caller_waiting,
        headline=f"Escalation reassigned to {team.name}",
    )
    new = _open_one(hop, now=now)
    if new is None:
        raise _conflict(escalation)
    return new


def escalation_can_handle(*, user: User, escalation: Escalation) -> bool:
    """Whether the user may accept, return, escalate further or resolve this escalation (read-only)."""
    return user.is_staff_member and _can_handle(user, escalation)


@transaction.atomic
def escalations_close_with_ticket(*, ticket: Ticket, actor: User | None, now: datetime | None = None) -> int:
    """When a ticket is closed, its still-active escalations end with it (resolved, saying so), so no inbox or
    sweep keeps them alive. Idempotent: closed escalations are left alone."""
    now = now or timezone.now()
    who = actor.display_name if actor else "the system"
    return Escalation.objects.filter(ticket=ticket, status__in=ACTIVE_ESCALATION_STATUSES).update(
        status=EscalationStatus.RESOLVED,
        resolution_summary=f"Closed with the ticket by {who} on {when_words(now)}; no escalation summary was written.",
        closed_at=now,
        ack_due_at=None,
    )
