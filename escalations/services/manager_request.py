"""The customer's request for a manager: when they may ask (``manager_request_check``, with the answer in plain
words for the portal) and the hierarchical, managerial hop it opens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from escalations import conf
from escalations.hops import Dossier, HopRouter, HopSpec, automatic_dossiers
from escalations.models import ACTIVE_ESCALATION_STATUSES, Escalation, EscalationMode, EscalationType, RequestedBy
from escalations.services.common import _customer_when, _lock_ticket, _open_one
from helpdesk import events as core_events
from helpdesk.models import EventKind, Ticket, TicketEvent, User


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
        return ManagerRequestCheck(
            False, gettext("This request is closed. If you still need help, please open a new request.")
        )
    open_request = (
        Escalation.objects.filter(
            ticket=ticket, status__in=ACTIVE_ESCALATION_STATUSES, requested_by_kind=RequestedBy.CUSTOMER
        )
        .select_related("to_team", "accepted_by")
        .first()
    )
    if open_request is not None:
        when = _customer_when(open_request.created_at, ticket)
        if open_request.accepted_by:
            name = open_request.accepted_by.first_name or open_request.accepted_by.display_name
            words = gettext("You asked for a manager on %(when)s; %(name)s is looking after it.") % {
                "when": when,
                "name": name,
            }
        else:
            words = gettext("You asked for a manager on %(when)s; a manager will contact you soon.") % {"when": when}
        return ManagerRequestCheck(
            False,
            words,
            open_request=open_request,
        )
    manager_active = Escalation.objects.filter(ticket=ticket, status__in=ACTIVE_ESCALATION_STATUSES, to_tier=3).first()
    if manager_active is not None:
        return ManagerRequestCheck(False, gettext("A manager is already looking after your request."))
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
            ngettext(
                "You have asked for a manager %(count)d time in the last 24 hours. You can ask again from %(when)s.",
                "You have asked for a manager %(count)d times in the last 24 hours. You can ask again from %(when)s.",
                len(recent),
            )
            % {"count": len(recent), "when": _customer_when(again, ticket)},
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
            gettext("You can ask for a manager from %(when)s if we have not resolved this by then.")
            % {"when": _customer_when(available_from, ticket)},
            available_from=available_from,
        )
    return ManagerRequestCheck(True, gettext("You can ask for a manager to look at this request."))


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
        raise PermissionDenied(gettext("Only the customer can ask for a manager on their request."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": gettext("Please tell us why you would like a manager to look at this.")})
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
        raise ValidationError(gettext("A manager is already looking after your request."))
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
        raise ValidationError(gettext("Your request changed a moment ago; please try again."))
    if escalation is None:
        raise ValidationError(gettext("You have already asked for a manager on this request."))
    return escalation
