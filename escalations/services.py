"""Writes for escalations: escalate, accept, return, escalate further, resolve, reassign; the customer's request
for a manager; emergency, financial (compensation approvals), compliance and third-party escalations; the
vendor follow-up reminder. Screens, tasks, the SLA sweep and the admin call these same functions.

Exactly-once is enforced by the database, not by hoping: at most one *open* escalation per ticket and level
(a partial unique constraint; the insert runs in a savepoint so a duplicate becomes a clean refusal), and every
state change is a conditional UPDATE on the status the caller saw (two people accepting at once: one row
changes, the other gets ``EscalationConflict`` naming the winner).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import dateformat, timezone

from escalations import conf, events
from escalations.compensation import amount_parse, compensation_request_create
from escalations.errors import EscalationConflict
from escalations.hops import (
    Dossier,
    HopRouter,
    HopSpec,
    ack_minutes,
    automatic_dossiers,
    breach_hop_specs,
    escalation_hops_open,
    escalation_hops_page,
)
from escalations.models import (
    ACTIVE_ESCALATION_STATUSES,
    ClockState,
    Escalation,
    EscalationMode,
    EscalationPath,
    EscalationStatus,
    EscalationType,
    RequestedBy,
    SLAClock,
    VendorCase,
)
from helpdesk import events as core_events
from helpdesk import services as core
from helpdesk.customer_time import customer_datetime, customer_timezone
from helpdesk.models import (
    OPEN_STATUSES,
    EventKind,
    NotificationKind,
    Status,
    Team,
    TeamMembership,
    Ticket,
    TicketEvent,
    User,
)
from helpdesk.notifications import customer_message_render, notification_enqueue

__all__ = [
    "EscalationConflict",
    "ManagerRequestCheck",
    "escalation_accept",
    "escalation_create",
    "escalation_create_automatic",
    "escalation_escalate_further",
    "escalation_page_next_level",
    "escalation_preview",
    "escalation_reassign",
    "escalation_request_manager",
    "escalation_resolve",
    "escalation_return",
    "manager_request_check",
    "vendor_followups_due_remind",
]

MANUAL_MODES = (EscalationMode.FUNCTIONAL, EscalationMode.HIERARCHICAL)


# --- small helpers --------------------------------------------------------------------------------------------


def when_words(moment: datetime) -> str:
    """A moment as staff read it, in the site's zone: ``Tuesday 24 November, 10:00``. Customer-facing words use
    ``_customer_when`` (the customer's zone, labelled)."""
    return dateformat.format(timezone.localtime(moment), "l j F, H:i")


def _customer_when(moment: datetime, ticket: Ticket) -> str:
    """A moment in words a customer reads: ``Tuesday 24 November, 10:00 (Europe/London)``, in their zone."""
    return customer_datetime(moment, tz=customer_timezone(ticket))


def _team_words(team: Team | None) -> str:
    return f"our {team.name} team" if team else "our senior support team"


def _require_staff(user: User | None) -> None:
    if user is None or not user.is_staff_member:
        raise PermissionDenied("Only staff can do this.")


def _is_member(user: User, team: Team | None) -> bool:
    return team is not None and TeamMembership.objects.filter(team=team, user=user).exists()


def _can_handle(user: User, escalation: Escalation) -> bool:
    """The receiving team's members, whoever accepted it, and tier 3 may act on an escalation."""
    return (
        user.is_tier3
        or (escalation.accepted_by_id is not None and escalation.accepted_by_id == user.pk)
        or _is_member(user, escalation.to_team)
    )


def _ticket_update(*, ticket: Ticket, now: datetime, **fields) -> None:
    """Change ticket fields owned by the escalation engine and advance the optimistic-locking version."""
    for name, value in fields.items():
        setattr(ticket, name, value)
    Ticket.objects.filter(pk=ticket.pk).update(version=F("version") + 1, updated_at=now, **fields)
    ticket.version = Ticket.objects.values_list("version", flat=True).get(pk=ticket.pk)


def _lock_ticket(ticket: Ticket) -> Ticket:
    """Serialise escalation writes on one ticket (PostgreSQL row lock; SQLite serialises writers anyway)."""
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    ticket.restricted, ticket.is_emergency, ticket.status = locked.restricted, locked.is_emergency, locked.status
    ticket.version = locked.version
    return ticket


def _open_one(hop: HopSpec, *, now: datetime) -> Escalation | None:
    """A single hop is a batch of one through the hop opener; None when it could not be opened (``hop.lost``)."""
    opened = escalation_hops_open(hops=[hop], now=now)
    return opened[0] if opened else None


def _tell_customer(
    *, escalation: Escalation, body: str, kind: str, subject: str = "", actor: User | None = None
) -> None:
    """One public timeline event and one email, with the same plain words."""
    ticket = escalation.ticket
    events.escalation_customer_told_event(ticket=ticket, escalation=escalation, body=body, kind=kind, actor=actor)
    notification_enqueue(
        kind=NotificationKind.for_customer(kind),
        subject=subject or f"[{ticket.reference}] An update on your request",
        body=customer_message_render(
            "ticket_update.txt", {"customer_name": ticket.customer.display_name, "message": body}
        ),
        recipients=[ticket.customer],
        ticket=ticket,
        url=core.ticket_url(ticket),
    )


def _customer_words_for_new_hop(escalation: Escalation) -> str:
    """What the customer reads when their request moves to a new team: the plain words for the hop, then the
    time we still promise an answer by (the ticket's earliest SLA due time), in the customer's zone."""
    words = _customer_words_for_hop(escalation)
    due = escalation.ticket.sla_due_at
    if due is not None and due > escalation.created_at:
        words += f" We promised an answer by {_customer_when(due, escalation.ticket)}."
    return words


def _customer_words_for_hop(escalation: Escalation) -> str:
    team = _team_words(escalation.to_team)
    if escalation.escalation_type == EscalationType.EMERGENCY:
        return (
            "We are treating your request as an emergency. Our managers have been alerted and one of them will "
            "take charge straight away. We will update you here."
        )
    if escalation.escalation_type == EscalationType.COMPLIANCE:
        return (
            f"Your request is now with {team}, who handle data and legal matters confidentially. "
            "They have everything you have told us and will reply here."
        )
    if escalation.requested_by_kind == RequestedBy.CUSTOMER:
        return (
            f"You asked for a manager to look at your request. We have passed it to {team}; a manager will "
            "review everything so far and contact you here. You will not need to repeat yourself."
        )
    return (
        f"We have passed your request to {team} so that the right people handle it. They have everything you have "
        "told us, so you will not need to repeat yourself. They will pick it up shortly and reply here."
    )


def _validate_dossier(*, reason: str, problem: str, tried: str, desired: str, mood: str) -> dict[str, str]:
    errors = {}
    if not reason.strip():
        errors["reason"] = "Say why this needs to be escalated."
    if not problem.strip():
        errors["dossier_problem"] = "Describe the problem, so the receiver does not have to ask the customer again."
    if not tried.strip():
        errors["dossier_tried"] = "List what was already tried, even if nothing was."
    if not desired.strip():
        errors["dossier_desired_outcome"] = "Say what the customer wants to happen next."
    if not mood.strip():
        errors["dossier_mood"] = "Choose the customer's mood."
    return errors


# --- path preview ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathPreview:
    path: EscalationPath | None
    team: Team | None
    level: int
    ack_minutes: int
    next_team: Team | None

    @property
    def words(self) -> str:
        if self.team is None:
            return "No team can receive this escalation: ask an administrator to configure an escalation path."
        text = f"Goes to {self.team.name} (tier {self.team.tier}). If nobody accepts within {self.ack_minutes} minutes"
        if self.next_team is not None:
            return f"{text}, {self.next_team.name} (tier {self.next_team.tier}) is paged."
        return f"{text}, the managers are alerted."


def escalation_preview(*, ticket: Ticket, escalation_type: str, mode: str) -> PathPreview:
    """Who receives the escalation and who is paged next if nobody accepts (read-only)."""
    router = HopRouter()
    path, level, team = router.target(
        ticket=ticket, escalation_type=escalation_type, mode=mode, position=1, above_tier=ticket.tier
    )
    next_team = None
    if team is not None:
        _, _, next_team = router.target(
            ticket=ticket,
            escalation_type=escalation_type,
            mode=EscalationMode.AUTOMATIC,
            position=2,
            above_tier=team.tier,
            chain_path_id=path.pk if path else None,
        )
    return PathPreview(path=path, team=team, level=1, ack_minutes=ack_minutes(level), next_team=next_team)


# --- escalate -------------------------------------------------------------------------------------------------


def _validate_create(
    *,
    ticket: Ticket,
    escalation_type: str,
    mode: str,
    reason: str,
    dossier: Dossier,
    compensation_amount,
    compensation_reason: str,
    vendor_name: str,
    vendor_contact: str,
    vendor_follow_up_at: datetime | None,
    now: datetime,
) -> None:
    errors = _validate_dossier(
        reason=reason, problem=dossier.problem, tried=dossier.tried, desired=dossier.desired, mood=dossier.mood
    )
    if escalation_type not in EscalationType.values:
        errors["escalation_type"] = "Choose the type of escalation."
    if mode not in MANUAL_MODES:
        errors["mode"] = "Choose functional (more skill) or hierarchical (more authority)."
    elif mode == EscalationMode.HIERARCHICAL and ticket.tier >= 3:
        errors["mode"] = "This ticket is already with tier 3: choose functional to move it to a team with the skill."
    if escalation_type == EscalationType.FINANCIAL:
        if amount_parse(compensation_amount) is None:
            errors["compensation_amount"] = "A financial escalation needs the compensation amount."
        if not (compensation_reason or reason).strip():
            errors["compensation_reason"] = "Say why the customer should be compensated."
    if escalation_type == EscalationType.THIRD_PARTY:
        errors.update(
            _vendor_errors(name=vendor_name, contact=vendor_contact, follow_up_at=vendor_follow_up_at, now=now)
        )
    if not ticket.is_open:
        errors["__all__"] = "This ticket is not open: reopen it before escalating."
    if errors:
        raise ValidationError(errors)


def _vendor_errors(*, name: str, contact: str, follow_up_at: datetime | None, now: datetime) -> dict[str, str]:
    errors = {}
    if not name.strip():
        errors["vendor_name"] = "Name the vendor."
    if not contact.strip():
        errors["vendor_contact"] = "Give the vendor contact (name, email or phone)."
    if follow_up_at is None:
        errors["vendor_follow_up_at"] = "Set the date to chase the vendor."
    elif follow_up_at <= now:
        errors["vendor_follow_up_at"] = "The follow-up date must be in the future."
    return errors


@transaction.atomic
def escalation_create(
    *,
    ticket: Ticket,
    actor: User,
    escalation_type: str,
    mode: str,
    reason: str,
    dossier_problem: str,
    dossier_tried: str,
    dossier_desired_outcome: str,
    dossier_mood: str,
    caller_waiting: bool = False,
    compensation_amount: Decimal | str | None = None,
    compensation_currency: str = "",
    compensation_reason: str = "",
    vendor_name: str = "",
    vendor_reference: str = "",
    vendor_contact: str = "",
    vendor_follow_up_at: datetime | None = None,
    now: datetime | None = None,
) -> Escalation:
    """A manual escalation with its handoff dossier: to the path's first level (functional) or a tier up
    (hierarchical), opened by the hop opener (receivers notified, customer told in plain words). Type-specific
    effects: emergency pages every manager on call and pins the ticket; financial records a compensation request;
    compliance restricts the ticket and moves it to the compliance team; third party opens a vendor case and
    waits on the vendor. Atomic; a second escalation while one is active (a double click) is refused."""
    _require_staff(actor)
    now = now or timezone.now()
    dossier = Dossier(dossier_problem, dossier_tried, dossier_desired_outcome, dossier_mood)
    _validate_create(
        ticket=ticket,
        escalation_type=escalation_type,
        mode=mode,
        reason=reason,
        dossier=dossier,
        compensation_amount=compensation_amount,
        compensation_reason=compensation_reason,
        vendor_name=vendor_name,
        vendor_contact=vendor_contact,
        vendor_follow_up_at=vendor_follow_up_at,
        now=now,
    )
    _lock_ticket(ticket)
    active = Escalation.objects.filter(ticket=ticket, status__in=ACTIVE_ESCALATION_STATUSES).first()
    if active is not None:
        raise EscalationConflict(
            f"This ticket is already escalated to {active.to_team.name if active.to_team else 'another team'} "
            f"({active.get_status_display().lower()} since {when_words(active.accepted_at or active.created_at)}). "
            "Use “Escalate further” on that escalation instead; nothing new was created."
        )
    path, level, team = HopRouter().target(
        ticket=ticket, escalation_type=escalation_type, mode=mode, position=1, above_tier=ticket.tier
    )
    if team is None:
        raise ValidationError(
            "No team can receive this escalation: ask an administrator to configure an escalation path."
        )
    # An emergency pages every manager until accepted, caller or not; any other caller-waiting hop is a warm
    # transfer with its own short clock (then a promised callback: escalations.calls.services.warm_transfers_expire).
    warm = caller_waiting and escalation_type != EscalationType.EMERGENCY
    escalation = _open_one(
        HopSpec(
            ticket=ticket,
            escalation_type=escalation_type,
            mode=mode,
            to_team=team,
            position=1,
            path=path,
            level=level,
            requested_by_kind=RequestedBy.AGENT,
            requested_by=actor,
            actor=actor,
            reason=reason,
            dossier=dossier,
            caller_waiting=caller_waiting,
            ack_minutes=ack_minutes(level, caller_waiting=warm),
            headline="New escalation",
        ),
        now=now,
    )
    if escalation is None:
        raise EscalationConflict("This ticket was escalated a moment ago (a double click?). Nothing new was created.")
    if escalation_type == EscalationType.FINANCIAL:
        assert compensation_amount is not None  # refused above when missing
        compensation_request_create(
            ticket=ticket,
            actor=actor,
            amount=compensation_amount,
            currency=compensation_currency or conf.get("ESCALATION_DEFAULT_CURRENCY"),
            reason=(compensation_reason or reason).strip(),
            escalation=escalation,
            now=now,
        )
    if escalation_type == EscalationType.THIRD_PARTY:
        assert vendor_follow_up_at is not None  # refused above when missing
        _vendor_case_open(
            escalation=escalation,
            actor=actor,
            vendor_name=vendor_name.strip(),
            external_reference=vendor_reference.strip(),
            contact=vendor_contact.strip(),
            follow_up_at=vendor_follow_up_at,
            now=now,
        )
    return escalation


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


# --- accept, return, escalate further, resolve, reassign --------------------------------------------------------


def _conflict(escalation: Escalation) -> EscalationConflict:
    current = Escalation.objects.select_related("accepted_by").get(pk=escalation.pk)
    if current.status == EscalationStatus.ACCEPTED and current.accepted_by:
        return EscalationConflict(
            f"{current.accepted_by.display_name} accepted this escalation at "
            f"{timezone.localtime(current.accepted_at):%H:%M}; it is theirs now. Nothing of yours was changed."
        )
    return EscalationConflict(
        f"This escalation is already {current.get_status_display().lower()}; nothing of yours was changed."
    )


@transaction.atomic
def escalation_accept(*, escalation: Escalation, actor: User, now: datetime | None = None) -> Escalation:
    """The receiver takes ownership: the ticket moves to their team, tier and name; the customer is told who has
    it. One conditional UPDATE decides between simultaneous accepts; the loser gets EscalationConflict. Atomic."""
    _require_staff(actor)
    now = now or timezone.now()
    if not _can_handle(actor, escalation):
        team_name = escalation.to_team.name if escalation.to_team else "the receiving team"
        raise PermissionDenied(f"This escalation is for {team_name}; only its members or a manager can accept it.")
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
        body=f"{actor.first_name or actor.display_name} from {_team_words(team)} is now handling your request "
        "and will reply here.",
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
    _require_staff(actor)
    now = now or timezone.now()
    if not guidance.strip():
        raise ValidationError({"guidance": "Write the guidance for the sender: what they can do themselves next time."})
    if not _can_handle(actor, escalation):
        raise PermissionDenied("Only the receiving team or a manager can return this escalation.")
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
        body=f"Our specialists have reviewed your request and passed it back to "
        f"{assignee.first_name or assignee.display_name if assignee else _team_words(team)} with clear next steps.",
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
    _require_staff(actor)
    now = now or timezone.now()
    errors = {}
    if not reason.strip():
        errors["reason"] = "Say why this needs a higher tier."
    amount = amount_parse(compensation_amount) if compensation_amount not in (None, "") else None
    if amount is not None and not (compensation_reason or reason).strip():
        errors["compensation_reason"] = "Say why the customer should be compensated."
    if errors:
        raise ValidationError(errors)
    if not _can_handle(actor, escalation):
        raise PermissionDenied("Only the receiving team or a manager can escalate this further.")
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
        raise ValidationError("This escalation is already with tier 3; there is no higher level to escalate to.")
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
        raise EscalationConflict("This escalation was escalated further a moment ago; nothing new was created.")
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
    _require_staff(actor)
    now = now or timezone.now()
    if not summary.strip():
        raise ValidationError({"summary": "Write the resolution summary: what was done for the customer."})
    if not _can_handle(actor, escalation):
        raise PermissionDenied("Only whoever accepted it, the receiving team or a manager can resolve this escalation.")
    if escalation.status == EscalationStatus.OPEN:
        raise ValidationError("Accept the escalation before resolving it.")
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
        subject=f"[{ticket.reference}] Your request has been resolved",
        body=f"{actor.first_name or actor.display_name} has resolved your request. What we did: "
        f"{escalation.resolution_summary}\n\nIf anything is still wrong, just reply and we will pick it up again.",
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
    _require_staff(actor)
    now = now or timezone.now()
    if not actor.is_tier3:
        raise PermissionDenied("Only a manager can reassign an escalation.")
    if team == escalation.to_team and escalation.status == EscalationStatus.OPEN:
        raise ValidationError({"team": f"This escalation is already with {team.name}."})
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


# --- the customer's request for a manager ----------------------------------------------------------------------


@dataclass(frozen=True)
class ManagerRequestCheck:
    allowed: bool
    message: str
    open_request: Escalation | None = None
    available_from: datetime | None = None


def _last_agent_activity(ticket: Ticket) -> datetime:
    last = (
        TicketEvent.objects.filter(ticket=ticket, kind=EventKind.AGENT_REPLY)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return last or ticket.created_at


def manager_request_check(*, ticket: Ticket, customer: User, now: datetime) -> ManagerRequestCheck:
    """May this customer ask for a manager now? Every guard but the reason, with the answer in plain words.
    Allowed once the configured share of the SLA time has elapsed, or after N hours without a reply from us;
    at most one open request per ticket; rate-limited per customer."""
    if not ticket.is_open:
        return ManagerRequestCheck(False, "This request is closed. If you still need help, please open a new request.")
    open_request = (
        Escalation.objects.filter(
            ticket=ticket, status__in=ACTIVE_ESCALATION_STATUSES, requested_by_kind=RequestedBy.CUSTOMER
        )
        .select_related("to_team", "accepted_by")
        .first()
    )
    if open_request is not None:
        who = (
            f"{open_request.accepted_by.first_name or open_request.accepted_by.display_name} is looking after it"
            if open_request.accepted_by
            else "a manager will contact you soon"
        )
        return ManagerRequestCheck(
            False,
            f"You asked for a manager on {_customer_when(open_request.created_at, ticket)}; {who}.",
            open_request=open_request,
        )
    manager_active = Escalation.objects.filter(ticket=ticket, status__in=ACTIVE_ESCALATION_STATUSES, to_tier=3).first()
    if manager_active is not None:
        return ManagerRequestCheck(False, "A manager is already looking after your request.")
    limit = int(conf.get("ESCALATION_MANAGER_REQUEST_MAX_PER_DAY"))
    recent = list(
        Escalation.objects.filter(
            requested_by=customer, requested_by_kind=RequestedBy.CUSTOMER, created_at__gt=now - timedelta(hours=24)
        )
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    if len(recent) >= limit:
        again = recent[-limit] + timedelta(hours=24)
        return ManagerRequestCheck(
            False,
            f"You have asked for a manager {len(recent)} times in the last 24 hours. "
            f"You can ask again from {_customer_when(again, ticket)}.",
            available_from=again,
        )
    moments = []
    share = float(conf.get("ESCALATION_MANAGER_REQUEST_SLA_SHARE"))
    if ticket.sla_due_at is not None and ticket.sla_due_at > ticket.created_at:
        moments.append(ticket.created_at + (ticket.sla_due_at - ticket.created_at) * share)
    moments.append(
        _last_agent_activity(ticket) + timedelta(hours=float(conf.get("ESCALATION_MANAGER_REQUEST_IDLE_HOURS")))
    )
    available_from = min(moments)
    if now < available_from:
        return ManagerRequestCheck(
            False,
            f"You can ask for a manager from {_customer_when(available_from, ticket)} if we have not resolved this by "
            "then.",
            available_from=available_from,
        )
    return ManagerRequestCheck(True, "You can ask for a manager to look at this request.")


@transaction.atomic
def escalation_request_manager(
    *, ticket: Ticket, customer: User, reason: str, now: datetime | None = None
) -> Escalation:
    """The customer asks for a manager: a hierarchical, managerial escalation (above any active one, which it
    supersedes), subject to the guards of ``manager_request_check`` and a required reason. Atomic."""
    now = now or timezone.now()
    if not customer.is_customer or (
        ticket.customer_id != customer.pk and ticket.organization_id != customer.organization_id
    ):
        raise PermissionDenied("Only the customer can ask for a manager on their request.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Please tell us why you would like a manager to look at this."})
    _lock_ticket(ticket)
    check = manager_request_check(ticket=ticket, customer=customer, now=now)
    if not check.allowed:
        raise ValidationError(check.message)
    active = Escalation.objects.filter(ticket=ticket, status__in=ACTIVE_ESCALATION_STATUSES).order_by("-level").first()
    path, level, team = HopRouter().target(
        ticket=ticket,
        escalation_type=EscalationType.MANAGERIAL,
        mode=EscalationMode.HIERARCHICAL,
        position=active.level + 1 if active else 1,
        above_tier=active.to_tier if active else ticket.tier,
    )
    if team is None:
        raise ValidationError("A manager is already looking after your request.")
    core_events.manager_requested_event(ticket=ticket, actor=customer, reason=reason)
    written = automatic_dossiers(tickets=[ticket], now=now)[ticket.pk]
    hop = HopSpec(
        ticket=ticket,
        escalation_type=EscalationType.MANAGERIAL,
        mode=EscalationMode.HIERARCHICAL,
        to_team=team,
        position=active.level + 1 if active else 1,
        path=path,
        level=level,
        previous=active,
        requested_by_kind=RequestedBy.CUSTOMER,
        requested_by=customer,
        actor=customer,
        reason=reason,
        dossier=Dossier(
            active.dossier_problem if active else written.problem,
            active.dossier_tried if active else written.tried,
            f"The customer asked for a manager: {reason}",
            written.mood,
        ),
        headline="Customer asked for a manager",
    )
    escalation = _open_one(hop, now=now)
    if hop.lost == "moved":
        raise ValidationError("Your request changed a moment ago; please try again.")
    if escalation is None:
        raise ValidationError("You have already asked for a manager on this request.")
    return escalation


# --- third party -----------------------------------------------------------------------------------------------


def _vendor_case_open(
    *,
    escalation: Escalation,
    actor: User,
    vendor_name: str,
    external_reference: str,
    contact: str,
    follow_up_at: datetime,
    now: datetime,
) -> VendorCase:
    ticket = escalation.ticket
    case = VendorCase.objects.create(
        ticket=ticket,
        escalation=escalation,
        vendor_name=vendor_name,
        external_reference=external_reference,
        contact=contact,
        follow_up_at=follow_up_at,
        opened_by=actor,
        created_at=now,
    )
    events.vendor_case_event(
        ticket=ticket,
        actor=actor,
        case=case,
        body=f"Case opened with {vendor_name} ({external_reference or 'no reference yet'}), contact {contact}; "
        f"follow up on {when_words(follow_up_at)}.",
    )
    if ticket.status != Status.PENDING_THIRD_PARTY and ticket.can_transition_to(Status.PENDING_THIRD_PARTY):
        core.ticket_change_status(ticket=ticket, actor=actor, status=Status.PENDING_THIRD_PARTY)
    events.escalation_customer_told_event(
        ticket=ticket,
        escalation=escalation,
        actor=actor,
        kind=EventKind.THIRD_PARTY,
        body=f"We have raised this with our partner {vendor_name}, who need to act on it. We will chase them by "
        f"{_customer_when(follow_up_at, ticket)} and keep you updated here.",
    )
    return case


@transaction.atomic
def vendor_followups_due_remind(*, now: datetime) -> int:
    """Beat: remind whoever opened each vendor case (and the ticket's owner) when its follow-up date has passed.
    Each case is reminded once per follow-up date (conditional UPDATE), so re-running finds nothing. Idempotent."""
    from escalations.selectors import vendor_cases_followup_due

    reminded = 0
    for case in vendor_cases_followup_due(now=now).select_related("ticket__assignee", "opened_by")[:500]:
        if not VendorCase.objects.filter(pk=case.pk, reminded_at__isnull=True).update(reminded_at=now):
            continue
        ticket = case.ticket
        if ticket.status not in OPEN_STATUSES:
            continue
        recipients = [u for u in (case.opened_by, ticket.assignee) if u is not None]
        if not recipients and ticket.team is not None:
            recipients = list(ticket.team.members.filter(is_active=True))
        notification_enqueue(
            kind=NotificationKind.VENDOR_FOLLOW_UP,
            subject=f"Chase {case.vendor_name} about {ticket.reference}",
            body=f"The follow-up date for {case.vendor_name} ({case.external_reference or 'no reference'}) has passed. "
            f"Contact: {case.contact}.",
            recipients=recipients,
            ticket=ticket,
            url=core.ticket_url(ticket),
        )
        events.vendor_case_event(
            ticket=ticket, actor=None, case=case, body=f"Follow-up with {case.vendor_name} is due: reminder sent."
        )
        reminded += 1
    return reminded


# --- escalation risk -------------------------------------------------------------------------------------------


@transaction.atomic
def risk_assess_message(*, ticket: Ticket, event: TicketEvent, now: datetime | None = None):
    """Run the detector on an incoming customer message and merge its signals into the ticket's assessment (each
    signal kept once, with its latest evidence). An internal risk event is written when the level rises. Atomic."""
    from escalations.models import RiskAssessment
    from escalations.risk import risk_detect, suggest_type

    now = now or timezone.now()
    recent = TicketEvent.objects.filter(
        ticket=ticket,
        kind__in=(EventKind.CUSTOMER_MESSAGE, EventKind.CREATED),
        created_at__gte=now - timedelta(days=7),
    ).count()
    reading = risk_detect(event.body, recent_customer_messages=recent)
    assessment, _ = RiskAssessment.objects.select_for_update().get_or_create(ticket=ticket)
    before = assessment.level
    merged = {signal["code"]: signal for signal in assessment.signals}
    for signal in reading.signals:
        merged[signal.code] = signal.as_dict()
    assessment.signals = list(merged.values())
    assessment.score = min(100, sum(signal["weight"] for signal in assessment.signals))
    assessment.suggested_type = reading.suggested_type or assessment.suggested_type or suggest_type(set(merged), "")
    assessment.messages_assessed += 1
    assessment.updated_at = now
    assessment.save()
    levels = ["none", "low", "medium", "high"]
    if (
        reading.signals
        and levels.index(assessment.level) > levels.index(before)
        and assessment.score >= int(conf.get("ESCALATION_RISK_FLAG_SCORE"))
    ):
        events.risk_flagged_event(ticket=ticket, assessment=assessment)
    return assessment


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
