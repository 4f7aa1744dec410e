"""A manual escalation: the path preview on the escalate form, the dossier and type checks, and
``escalation_create``, which opens the first hop with its type's effects (a compensation request for financial, a
vendor case for third party)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from escalations import conf
from escalations.compensation import amount_parse, compensation_request_create
from escalations.errors import EscalationConflict
from escalations.hops import Dossier, HopRouter, HopSpec, ack_minutes
from escalations.models import (
    ACTIVE_ESCALATION_STATUSES,
    Escalation,
    EscalationMode,
    EscalationPath,
    EscalationType,
    RequestedBy,
)
from escalations.services.common import _lock_ticket, _open_one, when_words
from escalations.services.vendors import _vendor_case_open, _vendor_errors
from helpdesk.models import Team, Ticket, User
from helpdesk.services import require_staff

MANUAL_MODES = (EscalationMode.FUNCTIONAL, EscalationMode.HIERARCHICAL)


def _validate_dossier(*, reason: str, problem: str, tried: str, desired: str, mood: str) -> dict[str, str]:
    errors = {}
    if not reason.strip():
        errors["reason"] = gettext("Say why this needs to be escalated.")
    if not problem.strip():
        errors["dossier_problem"] = gettext(
            "Describe the problem, so the receiver does not have to ask the customer again."
        )
    if not tried.strip():
        errors["dossier_tried"] = gettext("List what was already tried, even if nothing was.")
    if not desired.strip():
        errors["dossier_desired_outcome"] = gettext("Say what the customer wants to happen next.")
    if not mood.strip():
        errors["dossier_mood"] = gettext("Choose the customer's mood.")
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
        errors["escalation_type"] = gettext("Choose the type of escalation.")
    if mode not in MANUAL_MODES:
        errors["mode"] = gettext("Choose functional (more skill) or hierarchical (more authority).")
    elif mode == EscalationMode.HIERARCHICAL and ticket.tier >= 3:
        errors["mode"] = gettext(
            "This ticket is already with tier 3: choose functional to move it to a team with the skill."
        )
    if escalation_type == EscalationType.FINANCIAL:
        if amount_parse(compensation_amount) is None:
            errors["compensation_amount"] = gettext("A financial escalation needs the compensation amount.")
        if not (compensation_reason or reason).strip():
            errors["compensation_reason"] = gettext("Say why the customer should be compensated.")
    if escalation_type == EscalationType.THIRD_PARTY:
        errors.update(
            _vendor_errors(name=vendor_name, contact=vendor_contact, follow_up_at=vendor_follow_up_at, now=now)
        )
    if not ticket.is_open:
        errors["__all__"] = gettext("This ticket is not open: reopen it before escalating.")
    if errors:
        raise ValidationError(errors)


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
    to_team: Team | None = None,
    now: datetime | None = None,
) -> Escalation:
    """A manual escalation with its handoff dossier: to the path's first level (functional) or a tier up
    (hierarchical), opened by the hop opener (receivers notified, customer told in plain words). Type-specific
    effects: emergency pages every manager on call and pins the ticket; financial records a compensation request;
    compliance restricts the ticket and moves it to the compliance team; third party opens a vendor case and
    waits on the vendor. ``to_team`` names the receiving team when something other than the path chose it (a
    transfer made on the phone system); the path still decides the levels above it. Atomic; a second escalation
    while one is active (a double click) is refused."""
    require_staff(actor)
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
            gettext(
                "This ticket is already escalated to %(team)s (%(status)s since %(when)s). "
                "Use “Escalate further” on that escalation instead; nothing new was created."
            )
            % {
                "team": active.to_team.name if active.to_team else gettext("another team"),
                "status": str(active.get_status_display()).lower(),
                "when": when_words(active.accepted_at or active.created_at),
            }
        )
    path, level, team = HopRouter().target(
        ticket=ticket, escalation_type=escalation_type, mode=mode, position=1, above_tier=ticket.tier
    )
    if to_team is not None:
        team = to_team
    if team is None:
        raise ValidationError(
            gettext("No team can receive this escalation: ask an administrator to configure an escalation path.")
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
        raise EscalationConflict(
            gettext("This ticket was escalated a moment ago (a double click?). Nothing new was created.")
        )
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
