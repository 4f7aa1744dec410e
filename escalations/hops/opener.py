"""The opener: ``escalation_hops_open`` opens a batch of ``HopSpec`` (a single escalation is a batch of one):
supersede the previous hops, insert the new ones under the open-per-level constraint, apply the type's ticket effects,
write the timeline events and webhooks, and queue who hears of it (the receiving team, the managers on call for an
emergency, the customer in the words of ``escalations.services.common``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import router
from django.utils.translation import gettext

from escalations import events
from escalations.bulk import _events_record_bulk, _insert_many, _Notice, _notify_bulk, _quiet_until, _team_people
from escalations.hooks import teams_next_working_moment
from escalations.hops.oncall import oncall_pages_start
from escalations.hops.router import ack_minutes
from escalations.models import (
    ACTIVE_ESCALATION_STATUSES,
    Escalation,
    EscalationLevel,
    EscalationMode,
    EscalationPath,
    EscalationStatus,
    EscalationType,
    PageCause,
    RequestedBy,
)
from escalations.receivers import escalation_payload
from escalations.selectors import managers_on_call
from helpdesk.locale import in_language_of
from helpdesk.models import NotificationKind, Team, Ticket, User, WebhookEventType
from helpdesk.notifications import customer_message_render
from helpdesk.webhooks import webhook_emit_many


def _fmt(moment: datetime | None, tz: str) -> str:
    # strftime, not Django's dateformat: this runs for every hop of a sweep batch.
    return moment.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y %H:%M") if moment else ""


@dataclass(frozen=True)
class Dossier:
    problem: str
    tried: str
    desired: str
    mood: str


@dataclass
class HopSpec:
    """One hop to open. ``previous`` is the active hop it supersedes (None for the first hop of a chain);
    ``level`` is the path level it lands on (None on the fallback), which decides who is notified."""

    ticket: Ticket
    escalation_type: str
    mode: str
    to_team: Team
    position: int
    reason: str
    dossier: Dossier
    path: EscalationPath | None = None
    level: EscalationLevel | None = None
    previous: Escalation | None = None
    requested_by_kind: str = RequestedBy.SYSTEM
    requested_by: User | None = None
    actor: User | None = None
    caller_waiting: bool = False
    ack_minutes: int | None = None
    headline: str = "New escalation"
    tell_customer: bool = True
    # Set by the opener when the hop could not be opened: "moved" (the previous hop changed first) or "duplicate"
    # (an open hop at that level already exists: a double click or a racing sweep).
    lost: str = field(default="", init=False)
    previous_status: str | None = field(default=None, init=False)

    @property
    def key(self) -> tuple[int, int]:
        return (self.ticket.pk, self.position)


def _row(hop: HopSpec, now: datetime) -> dict:
    previous = hop.previous
    minutes = hop.ack_minutes if hop.ack_minutes is not None else ack_minutes(hop.level)
    return {
        "ticket_id": hop.ticket.pk,
        "escalation_type": hop.escalation_type,
        "mode": hop.mode,
        "status": EscalationStatus.OPEN,
        "path_id": hop.path.pk if hop.path else (previous.path_id if previous else None),
        "level": hop.position,
        "previous_id": previous.pk if previous else None,
        "from_tier": previous.to_tier if previous else hop.ticket.tier,
        "to_tier": hop.to_team.tier,
        "from_team_id": previous.to_team_id if previous else hop.ticket.team_id,
        "to_team_id": hop.to_team.pk,
        "requested_by_kind": hop.requested_by_kind,
        "requested_by_id": hop.requested_by.pk if hop.requested_by else None,
        "reason": hop.reason.strip(),
        "dossier_problem": hop.dossier.problem.strip(),
        "dossier_tried": hop.dossier.tried.strip(),
        "dossier_desired_outcome": hop.dossier.desired.strip(),
        "dossier_mood": hop.dossier.mood.strip() or "unknown",
        "caller_waiting": hop.caller_waiting,
        "created_at": now,
        "ack_due_at": now + timedelta(minutes=minutes),
    }


def _supersede(hops: list[HopSpec], now: datetime) -> list[HopSpec]:
    """One conditional UPDATE for every previous hop; a hop whose previous one moved on meanwhile is lost."""
    previous = {hop.previous.pk: hop for hop in hops if hop.previous is not None}
    if not previous:
        return hops
    changed = Escalation.objects.filter(pk__in=previous, status__in=ACTIVE_ESCALATION_STATUSES).update(
        status=EscalationStatus.SUPERSEDED, closed_at=now
    )
    if changed < len(previous):
        ours = set(
            Escalation.objects.filter(pk__in=previous, status=EscalationStatus.SUPERSEDED, closed_at=now).values_list(
                "pk", flat=True
            )
        )
        for pk, hop in previous.items():
            if pk not in ours:
                hop.lost = "moved"
    for hop in hops:
        if hop.previous is not None and not hop.lost:
            hop.previous.status, hop.previous.closed_at = EscalationStatus.SUPERSEDED, now
    return [hop for hop in hops if not hop.lost]


def _restore(hops: list[HopSpec]) -> None:
    """Undo the supersede of hops that could not be inserted (the open-per-level constraint refused them)."""
    for hop in hops:
        if hop.previous is not None:
            Escalation.objects.filter(pk=hop.previous.pk, status=EscalationStatus.SUPERSEDED).update(
                status=hop.previous_status, closed_at=None
            )
            hop.previous.status, hop.previous.closed_at = hop.previous_status or hop.previous.status, None


def escalation_hops_open(*, hops: Sequence[HopSpec], now: datetime) -> list[Escalation]:
    """Open escalation hops, set-based: supersede each previous hop (conditional UPDATE), INSERT the new ones
    (the open-per-ticket-and-level constraint refuses duplicates), write their timeline events and webhooks, and
    queue the notifications (receivers, managers on call for an emergency, the customer's plain words). Runs in
    the caller's transaction, which must hold the tickets' locks. Returns the opened hops in the order given; a
    hop that could not be opened says why in ``lost``."""
    for hop in hops:
        hop.previous_status = hop.previous.status if hop.previous is not None else None
    live = _supersede(list(hops), now)
    if not live:
        return []
    rows = [_row(hop, now) for hop in live]
    # The rows the constraint let in come back from the INSERT itself (no second read).
    inserted = _insert_many(Escalation, rows, ignore_conflicts=True, returning=("id", "ticket_id", "level")) or []
    ids = {(ticket_id, level): pk for pk, ticket_id, level in inserted}
    alias = router.db_for_write(Escalation)
    # As the database holds them: what ``_row`` gave, the model's defaults for the rest (positional ``from_db`` is
    # Django's fast path for building instances).
    fields = [(f.attname, f.get_default()) for f in Escalation._meta.concrete_fields]
    attnames = [name for name, _ in fields]
    opened = {}
    for hop, row in zip(live, rows, strict=True):
        if hop.key not in ids:
            hop.lost = "duplicate"
            continue
        row["id"] = ids[hop.key]
        escalation = Escalation.from_db(alias, attnames, [row.get(name, default) for name, default in fields])
        escalation.to_team = hop.to_team
        opened[hop.key] = escalation
    _restore([hop for hop in live if hop.lost])
    pairs = [(hop, opened[hop.key]) for hop in live if not hop.lost]
    for hop, escalation in pairs:
        escalation.ticket = hop.ticket
        escalation.previous = hop.previous
        escalation.requested_by = hop.requested_by
    _ticket_effects(pairs, now)
    # The customer's words for each hop, worked out once in their language: the timeline and the email say the same.
    _customers_attach([hop.ticket for hop, _ in pairs if hop.tell_customer])
    words = {esc.pk: _customer_words(esc) for hop, esc in pairs if hop.tell_customer}
    _events(pairs, words, now)
    _risk_outcomes(pairs, now)
    _notifications(pairs, words, now)
    return [escalation for _, escalation in pairs]


def _customers_attach(tickets: list[Ticket]) -> None:
    """Load the customers of the tickets to tell in one query (their language and zone choose the words)."""
    missing = [ticket for ticket in tickets if not Ticket.customer.is_cached(ticket)]
    customers = User.objects.in_bulk({ticket.customer_id for ticket in missing})
    for ticket in missing:
        ticket.customer = customers[ticket.customer_id]


def _ticket_effects(pairs: list[tuple[HopSpec, Escalation]], now: datetime) -> None:
    """The type's ticket changes: an emergency pins the ticket; compliance restricts it to the compliance team."""
    from escalations.services.common import _ticket_update

    emergency = [hop.ticket for hop, esc in pairs if esc.escalation_type == EscalationType.EMERGENCY]
    for ticket in emergency:
        if not ticket.is_emergency:
            _ticket_update(ticket=ticket, now=now, is_emergency=True)
    for hop, escalation in pairs:
        if escalation.escalation_type == EscalationType.COMPLIANCE:
            # Restricted from this moment: only the compliance team (now the ticket's team), tier 3 and admins.
            _ticket_update(
                ticket=hop.ticket,
                now=now,
                restricted=True,
                team=escalation.to_team,
                assignee=None,
                tier=escalation.to_tier,
            )


def _risk_outcomes(pairs: list[tuple[HopSpec, Escalation]], now: datetime) -> None:
    """The outcome loop of the risk flag: these tickets escalated (only a ticket's first hop changes anything)."""
    from escalations.models import RiskOutcome
    from escalations.services.risk import risk_outcomes_record

    first_hops = [hop.ticket.pk for hop, _ in pairs if hop.previous is None]
    if first_hops:
        risk_outcomes_record(ticket_ids=first_hops, outcome=RiskOutcome.ESCALATED, now=now)


def _customer_words(escalation: Escalation) -> str:
    # The one home of the customer's words for a new hop stays in services (its wording is reviewed there).
    from escalations.services.common import _customer_words_for_new_hop

    return _customer_words_for_new_hop(escalation)


def _events(pairs: list[tuple[HopSpec, Escalation]], words: dict[int, str], now: datetime) -> None:
    """Each hop's timeline rows (``events.escalation_opened_events``) in one INSERT, then one ``ticket.escalated``
    webhook per hop."""
    rows = []
    for hop, esc in pairs:
        rows += events.escalation_opened_events(
            ticket=hop.ticket, actor=hop.actor, escalation=esc, customer_words=words.get(esc.pk, ""), now=now
        )
    _events_record_bulk(rows)
    webhook_emit_many(
        event_type=WebhookEventType.TICKET_ESCALATED,
        items=[(hop.ticket, escalation_payload(events.escalation_hop_data(esc))) for hop, esc in pairs],
    )


class _Receivers:
    """Who hears of a hop (``__call__``): the receiving team (leads only when the level says so, or when it says
    not to page the team: someone must always learn of a hop), and every manager on call for an emergency. Worked
    out once per team and rule, and the managers on call once, for a whole batch."""

    def __init__(self, people: dict) -> None:
        self.people = people
        self.chosen: dict[tuple[int | None, bool], list[User]] = {}
        self.managers: list[User] | None = None

    def __call__(self, hop: HopSpec, escalation: Escalation) -> list[User]:
        level = hop.level
        leads_only = level is not None and (level.notify_leads_only or not level.notify_team)
        key = (escalation.to_team_id, leads_only)
        if key not in self.chosen:
            members = self.people.get(escalation.to_team_id, [])
            self.chosen[key] = [user for user, lead in members if lead or not leads_only]
        recipients = list(self.chosen[key])
        if escalation.escalation_type == EscalationType.EMERGENCY:
            # Every tier-3 manager on call, by every channel, at once.
            if self.managers is None:
                self.managers = list(managers_on_call())
            recipients += self.managers
        return recipients


def hop_notice_kind(escalation: Escalation) -> NotificationKind:
    return NotificationKind.for_escalation(
        escalation.escalation_type, automatic=escalation.mode == EscalationMode.AUTOMATIC
    )


def _notifications(pairs: list[tuple[HopSpec, Escalation]], words: dict[int, str], now: datetime) -> None:
    """Queue who hears of each hop (``_Receivers``, or only the person on call for an emergency to a team with a
    rota) and the customer's words; email waits for the team's working hours unless the hop is urgent."""
    team_ids = {esc.to_team_id for _, esc in pairs if esc.to_team_id is not None}
    receivers = _Receivers(_team_people(team_ids))
    working = teams_next_working_moment(team_ids=team_ids, now=now)
    customers = {hop.ticket.customer_id: hop.ticket.customer for hop, _ in pairs if hop.tell_customer}
    # An emergency to a team with a rota pages the person on call first; the sweep pages the rest in stages.
    on_call = oncall_pages_start(
        escalations=[esc for _, esc in pairs if esc.escalation_type == EscalationType.EMERGENCY],
        cause=PageCause.EMERGENCY,
        now=now,
    )
    notices = []
    for hop, esc in pairs:
        ticket = hop.ticket
        urgent = ticket.is_emergency or esc.caller_waiting
        paged = on_call.get(esc.pk)
        notices.append(
            _Notice(
                ticket=ticket,
                recipients=[paged] if paged is not None else receivers(hop, esc),
                kind=hop_notice_kind(esc),
                subject=f"[{ticket.reference}] {'You are on call. ' if paged else ''}{hop.headline}: {esc.to_team.name if esc.to_team else 'no team'} (level {esc.level}): {ticket.subject}",
                body=(
                    f"Problem: {esc.dossier_problem}\nTried: {esc.dossier_tried}\n"
                    f"Customer wants: {esc.dossier_desired_outcome}\nMood: {esc.dossier_mood}\n\n"
                    f"Reason: {esc.reason}\nAccept by {_fmt(esc.ack_due_at, settings.TIME_ZONE)}."
                ),
                not_before=None
                if urgent
                else _quiet_until(team_id=esc.to_team_id, ticket=ticket, working=working, now=now),
                data={"escalation_id": esc.pk},
                page=paged is not None,
            )
        )
        customer = customers.get(ticket.customer_id)
        if customer is not None:
            with in_language_of(customer):  # the words are already in the customer's language; so is the rest
                subject = f"[{ticket.reference}] " + gettext("An update on your request")
                body = customer_message_render(
                    "ticket_update.txt", {"customer_name": customer.display_name, "message": words[esc.pk]}
                )
            notices.append(
                _Notice(
                    ticket=ticket,
                    recipients=[customer],
                    kind=NotificationKind.CUSTOMER_ESCALATED,
                    subject=subject,
                    body=body,
                    not_before=None,
                )
            )
    _notify_bulk(notices, now)
