"""What the escalation flows share: the staff and customer words for moments and teams, who may act on an
escalation, the ticket lock and the engine-owned ticket update, a single hop through the opener, and the one way a
customer is told of a step (a public timeline event and an email in the same words). The hop opener reads the
customer's words for a new hop from here, so every route tells the customer the same thing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db.models import F
from django.utils import dateformat, timezone
from django.utils.translation import gettext

from escalations import events
from escalations.hops import HopSpec, escalation_hops_open
from escalations.models import Escalation, EscalationType, RequestedBy
from helpdesk import services as core
from helpdesk.customer_time import customer_datetime, customer_timezone
from helpdesk.locale import in_language_of
from helpdesk.models import NotificationKind, Team, TeamMembership, Ticket, User
from helpdesk.notifications import customer_message_render, notification_enqueue


def when_words(moment: datetime) -> str:
    """A moment as staff read it, in the site's zone: ``Tuesday 24 November, 10:00``. Customer-facing words use
    ``_customer_when`` (the customer's zone, labelled)."""
    return dateformat.format(timezone.localtime(moment), "l j F, H:i")


def _customer_when(moment: datetime, ticket: Ticket) -> str:
    """A moment in words a customer reads: ``Tuesday 24 November, 10:00 (Europe/London)``, in their zone."""
    return customer_datetime(moment, tz=customer_timezone(ticket))


def _team_words(team: Team | None) -> str:
    """A team as the audit trail names it (the product's language)."""
    return f"our {team.name} team" if team else "our senior support team"


def _customer_team_words(team: Team | None) -> str:
    """A team as a customer reads it, in the active language (callers run under ``in_language_of(customer)``)."""
    return gettext("our %(team)s team") % {"team": team.name} if team else gettext("our senior support team")


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
    *,
    escalation: Escalation,
    body: Callable[[], str],
    kind: str,
    subject: Callable[[], str] | None = None,
    actor: User | None = None,
) -> None:
    """One public timeline event and one email, with the same plain words, in the customer's language: ``body``
    (and ``subject``) are called under ``in_language_of(customer)``."""
    ticket = escalation.ticket
    with in_language_of(ticket.customer):
        words = body()
        subject_words = f"[{ticket.reference}] " + (subject() if subject else gettext("An update on your request"))
        email = customer_message_render(
            "ticket_update.txt", {"customer_name": ticket.customer.display_name, "message": words}, to=ticket.customer
        )
    events.escalation_customer_told_event(ticket=ticket, escalation=escalation, body=words, kind=kind, actor=actor)
    notification_enqueue(
        kind=NotificationKind.for_customer(kind),
        subject=subject_words,
        body=email,
        recipients=[ticket.customer],
        ticket=ticket,
        url=core.ticket_url(ticket),
    )


def _customer_words_for_new_hop(escalation: Escalation) -> str:
    """What the customer reads when their request moves to a new team: the plain words for the hop, then the
    time we still promise an answer by (the ticket's earliest SLA due time), in the customer's zone and language."""
    with in_language_of(escalation.ticket.customer):
        words = _customer_words_for_hop(escalation)
        due = escalation.ticket.sla_due_at
        if due is not None and due > escalation.created_at:
            words += " " + gettext("We promised an answer by %(when)s.") % {
                "when": _customer_when(due, escalation.ticket)
            }
        return words


def _customer_words_for_hop(escalation: Escalation) -> str:
    team = _customer_team_words(escalation.to_team)
    if escalation.escalation_type == EscalationType.EMERGENCY:
        return gettext(
            "We are treating your request as an emergency. Our managers have been alerted and one of them will "
            "take charge straight away. We will update you here."
        )
    if escalation.escalation_type == EscalationType.COMPLIANCE:
        return gettext(
            "Your request is now with %(team)s, who handle data and legal matters confidentially. "
            "They have everything you have told us and will reply here."
        ) % {"team": team}
    if escalation.requested_by_kind == RequestedBy.CUSTOMER:
        return gettext(
            "You asked for a manager to look at your request. We have passed it to %(team)s; a manager will "
            "review everything so far and contact you here. You will not need to repeat yourself."
        ) % {"team": team}
    return gettext(
        "We have passed your request to %(team)s so that the right people handle it. They have everything you have "
        "told us, so you will not need to repeat yourself. They will pick it up shortly and reply here."
    ) % {"team": team}
