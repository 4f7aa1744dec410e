"""The one hop opener. Every route that moves a ticket to a new team (manual escalate, escalate further, reassign,
the customer's request for a manager, the SLA sweep's breach escalation and its acknowledgement paging) builds
``HopSpec`` items and calls ``escalation_hops_open``; a single escalation is a batch of one, so the bulk sweep and a
one-off click can never drift apart.

The rules that decide a hop live here once:

- **Where it goes** (``HopRouter.target``): the level at that position of the most specific active path for the
  type; without one (no path, or the path has no such level) the fallback is the team skilled in the ticket's
  category one tier up (tier 3 straight away for emergencies and managerial), never at or below the tier it leaves
  for hierarchical and automatic hops. Above tier 3 there is nowhere to go: the top of the path.
- **The manager on call** (``HopRouter.manager_on_call``): a level targeting "the manager on call" goes to the
  tier-3 team skilled in the ticket's category, falling back to the first tier-3 team by name. The category rule
  wins over "the first tier-3 team" because a category-skilled manager can act on the problem, not only on the
  complaint, and the fallback keeps such a level working when no tier-3 team lists the category.
- **Who hears of it**: the receiving team (leads only when the level says so, or when it says not to page the team:
  someone must always learn of a hop), every manager on call for an emergency; email waits for a team's working
  hours except for emergencies and a caller on the line. The customer is told in the words of
  ``escalations.services.common._customer_words_for_new_hop`` (paging a next level is internal chasing and tells nobody).
- **The top of the path** (``escalation_hops_page``): an unaccepted hop with no level above stops waiting, and the
  managers on call are alerted once.
- **The automatic dossier** (``automatic_dossiers``): plain sentences written from the ticket, for every automatic
  route.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Max, Q

from escalations import conf, events
from escalations.bulk import _events_record_bulk, _insert_many, _Notice, _notify_bulk, _quiet_until, _team_people
from escalations.hooks import teams_next_working_moment
from escalations.models import (
    ACTIVE_ESCALATION_STATUSES,
    ClockTarget,
    Escalation,
    EscalationLevel,
    EscalationMode,
    EscalationPath,
    EscalationStatus,
    EscalationType,
    LevelTarget,
    RequestedBy,
    RiskAssessment,
    SLAClock,
)
from escalations.receivers import escalation_payload
from escalations.selectors import managers_on_call, path_choose
from helpdesk.models import OPEN_STATUSES, EventKind, NotificationKind, Team, Ticket, User, WebhookEventType
from helpdesk.webhooks import webhook_emit_many

__all__ = [
    "Dossier",
    "HopRouter",
    "HopSpec",
    "automatic_dossiers",
    "breach_hop_specs",
    "escalation_hops_open",
    "escalation_hops_page",
]


# --- where a hop goes ------------------------------------------------------------------------------------------


class HopRouter:
    """Paths, levels and teams read once (a handful of queries), then every routing decision in memory: the bulk
    sweep and a single escalation route through the same object."""

    def __init__(self) -> None:
        self.paths = list(EscalationPath.objects.filter(is_active=True).prefetch_related("levels__team").order_by("pk"))
        self.paths_by_pk = {path.pk: path for path in self.paths}
        self.levels = {(path.pk, level.position): level for path in self.paths for level in path.levels.all()}
        self.teams = list(Team.objects.order_by("name", "pk"))
        skills = defaultdict(set)
        for team_id, category_id in Team.categories.through.objects.values_list("team_id", "category_id"):
            skills[team_id].add(category_id)
        self.skills = skills

    def path_for(self, ticket: Ticket, escalation_type: str) -> EscalationPath | None:
        return path_choose([p for p in self.paths if p.escalation_type == escalation_type], ticket)

    def level(self, path: EscalationPath | None, position: int) -> EscalationLevel | None:
        return self.levels.get((path.pk, position)) if path is not None else None

    def team_for(self, category_id: int | None, tier: int) -> Team | None:
        """The team of the tier skilled in the category, else the first team of that tier by name."""
        of_tier = [team for team in self.teams if team.tier == tier]
        skilled = [team for team in of_tier if category_id is not None and category_id in self.skills[team.pk]]
        return next(iter(skilled or of_tier), None)

    def manager_on_call(self, ticket: Ticket) -> Team | None:
        """The one rule for "the manager on call": by category skill, falling back to the first tier-3 team."""
        return self.team_for(ticket.category_id, 3)

    def level_team(self, ticket: Ticket, level: EscalationLevel | None) -> Team | None:
        if level is None:
            return None
        if level.target == LevelTarget.MANAGER_ON_CALL:
            return self.manager_on_call(ticket)
        return level.team

    def target(
        self,
        *,
        ticket: Ticket,
        escalation_type: str,
        mode: str,
        position: int,
        above_tier: int,
        chain_path_id: int | None = None,
    ) -> tuple[EscalationPath | None, EscalationLevel | None, Team | None]:
        """Where a hop at ``position`` goes (see the module docstring). A chain keeps its own path while it is
        active and of the same type."""
        path = self.paths_by_pk.get(chain_path_id) if chain_path_id else None
        if path is None or path.escalation_type != escalation_type:
            path = self.path_for(ticket, escalation_type)
        level = self.level(path, position)
        team = self.level_team(ticket, level)
        if team is None:
            tier = 3 if escalation_type in (EscalationType.EMERGENCY, EscalationType.MANAGERIAL) else above_tier + 1
            team = self.team_for(ticket.category_id, min(max(tier, 2), 3))
        must_rise = mode in (EscalationMode.HIERARCHICAL, EscalationMode.AUTOMATIC)
        if team is not None and must_rise and team.tier <= above_tier:
            team = self.team_for(ticket.category_id, above_tier + 1) if above_tier < 3 else None
        return path, level, team


def ack_minutes(level: EscalationLevel | None, *, caller_waiting: bool = False) -> int:
    """The path level's minutes (its caller-waiting minutes, default 2, for a warm transfer); without a level,
    the configured defaults (2 and 30)."""
    if level is not None:
        return level.caller_waiting_minutes if caller_waiting else level.ack_minutes
    name = "ESCALATION_CALLER_WAITING_ACK_MINUTES" if caller_waiting else "ESCALATION_DEFAULT_ACK_MINUTES"
    return int(conf.get(name))


# --- the hop spec and the opener -------------------------------------------------------------------------------


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
    _insert_many(Escalation, [_row(hop, now) for hop in live], ignore_conflicts=True)
    opened = {
        (esc.ticket_id, esc.level): esc
        for esc in Escalation.objects.filter(
            ticket_id__in={hop.ticket.pk for hop in live}, status=EscalationStatus.OPEN, created_at=now
        ).select_related("to_team")
    }
    for hop in live:
        if hop.key not in opened:
            hop.lost = "duplicate"
    _restore([hop for hop in live if hop.lost])
    pairs = [(hop, opened[hop.key]) for hop in live if not hop.lost]
    for hop, escalation in pairs:
        escalation.ticket = hop.ticket
        escalation.previous = hop.previous
        escalation.requested_by = hop.requested_by
    _ticket_effects(pairs, now)
    _events(pairs, now)
    _notifications(pairs, now)
    return [escalation for _, escalation in pairs]


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


def _customer_words(escalation: Escalation) -> str:
    # The one home of the customer's words for a new hop stays in services (its wording is reviewed there).
    from escalations.services.common import _customer_words_for_new_hop

    return _customer_words_for_new_hop(escalation)


def _events(pairs: list[tuple[HopSpec, Escalation]], now: datetime) -> None:
    """Each hop's timeline rows (``events.escalation_opened_events``) in one INSERT, then one ``ticket.escalated``
    webhook per hop."""
    rows = []
    for hop, esc in pairs:
        words = _customer_words(esc) if hop.tell_customer else ""
        rows += events.escalation_opened_events(
            ticket=hop.ticket, actor=hop.actor, escalation=esc, customer_words=words, now=now
        )
    _events_record_bulk(rows)
    webhook_emit_many(
        event_type=WebhookEventType.TICKET_ESCALATED,
        items=[(hop.ticket, escalation_payload(events.escalation_hop_data(esc))) for hop, esc in pairs],
    )


def _receivers(hop: HopSpec, escalation: Escalation, people: dict) -> list[User]:
    members = people.get(escalation.to_team_id, [])
    level = hop.level
    if level is not None and (level.notify_leads_only or not level.notify_team):
        recipients = [user for user, lead in members if lead]
    else:
        recipients = [user for user, _ in members]
    if escalation.escalation_type == EscalationType.EMERGENCY:
        # Every tier-3 manager on call, by every channel, at once.
        recipients += managers_on_call()
    return recipients


def hop_notice_kind(escalation: Escalation) -> NotificationKind:
    return NotificationKind.for_escalation(
        escalation.escalation_type, automatic=escalation.mode == EscalationMode.AUTOMATIC
    )


def _notifications(pairs: list[tuple[HopSpec, Escalation]], now: datetime) -> None:
    team_ids = {esc.to_team_id for _, esc in pairs if esc.to_team_id is not None}
    people = _team_people(team_ids)
    working = teams_next_working_moment(team_ids=team_ids, now=now)
    customers = User.objects.in_bulk({hop.ticket.customer_id for hop, _ in pairs if hop.tell_customer})
    notices = []
    for hop, esc in pairs:
        ticket = hop.ticket
        urgent = ticket.is_emergency or esc.caller_waiting
        notices.append(
            _Notice(
                ticket=ticket,
                recipients=_receivers(hop, esc, people),
                kind=hop_notice_kind(esc),
                subject=f"[{ticket.reference}] {hop.headline}: {esc.to_team.name if esc.to_team else 'no team'} (level {esc.level}): {ticket.subject}",
                body=(
                    f"Problem: {esc.dossier_problem}\nTried: {esc.dossier_tried}\n"
                    f"Customer wants: {esc.dossier_desired_outcome}\nMood: {esc.dossier_mood}\n\n"
                    f"Reason: {esc.reason}\nAccept by {_fmt(esc.ack_due_at, settings.TIME_ZONE)}."
                ),
                not_before=None
                if urgent
                else _quiet_until(team_id=esc.to_team_id, ticket=ticket, working=working, now=now),
                data={"escalation_id": esc.pk},
            )
        )
        customer = customers.get(ticket.customer_id)
        if customer is not None:
            notices.append(
                _Notice(
                    ticket=ticket,
                    recipients=[customer],
                    kind=NotificationKind.CUSTOMER_ESCALATED,
                    subject=f"[{ticket.reference}] An update on your request",
                    body=f"Hello {customer.display_name},\n\n{_customer_words(esc)}",
                    not_before=None,
                )
            )
    _notify_bulk(notices, now)


# --- paging the next level -------------------------------------------------------------------------------------


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
    """Clear the acknowledgement clock with one UPDATE and, at the top of the path, alert the managers on call. The
    callers hold these hops' row locks, so each is stopped (and alerted about) exactly once."""
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
    _notify_bulk(
        [
            _Notice(
                ticket=esc.ticket,
                recipients=managers,
                kind=NotificationKind.ESCALATION_UNACKNOWLEDGED,
                subject=f"Nobody has accepted the escalation of {esc.ticket.reference} yet",
                body=f"It has waited since {_fmt(esc.created_at, settings.TIME_ZONE)} and there is no higher level "
                "to page.",
                not_before=None,
                data={"escalation_id": esc.pk},
            )
            for esc in escalations
        ],
        now,
    )


# --- the automatic breach hop and its dossier ------------------------------------------------------------------


TARGET_WANTS = {
    ClockTarget.FIRST_RESPONSE: "A first answer",
    ClockTarget.NEXT_RESPONSE: "An answer to their latest message",
    ClockTarget.RESOLUTION: "A resolution",
}
TARGET_WORDS = {
    ClockTarget.FIRST_RESPONSE: "first response",
    ClockTarget.NEXT_RESPONSE: "next response",
    ClockTarget.RESOLUTION: "resolution",
}


def _fmt(moment: datetime | None, tz: str) -> str:
    # strftime, not Django's dateformat: this runs for every hop of a sweep batch.
    return moment.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y %H:%M") if moment else ""


def clock_timezone(clock: SLAClock) -> str:
    policy = clock.policy
    if policy is not None and policy.calendar_id:
        return policy.calendar.timezone
    return settings.TIME_ZONE


def _short_when(moment: datetime, *, tz: str, now: datetime, weekday: bool = False) -> str:
    """``10:30 UTC`` on the same day as ``now`` (unless ``weekday``); ``Tue 10:05 UTC`` within the week; else with
    the date: ``Tue 24 Nov 10:05 GMT``. In the calendar's timezone."""
    local = moment.astimezone(ZoneInfo(tz))
    if not weekday and local.date() == now.astimezone(ZoneInfo(tz)).date():
        return local.strftime("%H:%M %Z")
    if abs(now - moment) < timedelta(days=6):
        return local.strftime("%a %H:%M %Z")
    return f"{local:%a} {local.day} {local:%b %H:%M %Z}"


def _excerpt(text: str, limit: int = 300) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def moods_from_risk(ticket_ids: Sequence[int]) -> dict[int, str]:
    """The customer's mood as the risk detector read it: angry (legal, social media, cancelling), frustrated
    (negative tone, repeated contact, asked for a manager), else unknown. One query for many tickets."""
    moods = {}
    for ticket_id, signals in RiskAssessment.objects.filter(ticket_id__in=ticket_ids).values_list(
        "ticket_id", "signals"
    ):
        codes = {signal["code"] for signal in signals}
        if codes & {"legal", "social_media", "cancel"}:
            moods[ticket_id] = "angry"
        elif codes & {"negative_tone", "repeated_contact", "manager_request"}:
            moods[ticket_id] = "frustrated"
    return moods


def automatic_dossiers(
    *, tickets: Sequence[Ticket], clocks: dict[int, SLAClock] | None = None, now: datetime
) -> dict[int, Dossier]:
    """The dossier of an automatic hop, in plain sentences a specialist can use: the problem (subject and the
    customer's opening words), what was tried (agent replies so far and when the last was), what the customer is
    waiting for (the missed target, when it was due and the promise it belongs to), and the mood from the risk
    assessment. One home for every automatic route; a constant number of queries for many tickets."""
    ids = [ticket.pk for ticket in tickets]
    facts = {
        row["pk"]: row
        for row in Ticket.objects.filter(pk__in=ids)
        .annotate(
            replies=Count("events", filter=Q(events__kind=EventKind.AGENT_REPLY)),
            last_reply=Max("events__created_at", filter=Q(events__kind=EventKind.AGENT_REPLY)),
            messages=Count("events", filter=Q(events__kind=EventKind.CUSTOMER_MESSAGE)),
        )
        .values("pk", "replies", "last_reply", "messages")
    }
    moods = moods_from_risk(ids)
    dossiers = {}
    for ticket in tickets:
        clock = (clocks or {}).get(ticket.pk)
        tz = clock_timezone(clock) if clock else settings.TIME_ZONE
        fact: dict = dict(facts.get(ticket.pk) or {})
        dossiers[ticket.pk] = Dossier(
            problem=_problem_words(ticket),
            tried=_tried_words(fact, tz=tz, now=now),
            desired=_desired_words(ticket, clock, tz=tz, now=now),
            mood=moods.get(ticket.pk, "unknown"),
        )
    return dossiers


def _problem_words(ticket: Ticket) -> str:
    opening = _excerpt(ticket.description)
    subject = ticket.subject.strip().rstrip(".")
    return f"{subject}. The customer wrote: “{opening}”" if opening else f"{subject}."


def _tried_words(fact: dict, *, tz: str, now: datetime) -> str:
    replies, messages = fact.get("replies", 0), fact.get("messages", 0)
    if not replies:
        text = "No agent has replied yet."
    else:
        text = (
            f"{replies} agent repl{'y' if replies == 1 else 'ies'}; the last on "
            f"{_short_when(fact['last_reply'], tz=tz, now=now, weekday=True)}."
        )
    if messages:
        text += f" The customer has written {messages} more message{'' if messages == 1 else 's'} since opening it."
    return text


def _desired_words(ticket: Ticket, clock: SLAClock | None, *, tz: str, now: datetime) -> str:
    if clock is None or clock.due_at is None:
        return "A resolution within the time we promised."
    policy = clock.policy
    promise = ""
    if policy is not None and policy.plan_id:
        promise = f" ({policy.plan.name} plan, {ticket.get_priority_display().lower()} priority)"
    when = _short_when(clock.due_at, tz=tz, now=now)
    on = "at" if when[0].isdigit() else "on"
    return f"{TARGET_WANTS[ClockTarget(clock.target)]} — it was due {on} {when}{promise}."


def breach_hop_specs(*, clocks: Sequence[SLAClock], now: datetime, router: HopRouter | None = None) -> list[HopSpec]:
    """The automatic hop for each breached clock's ticket (its earliest breach): the next level of its
    support-level path above any accepted hop (which it supersedes). A ticket whose hop still waits to be
    accepted gets none: its acknowledgement timer already climbs the ladder. The callers hold the tickets' locks."""
    by_ticket: dict[int, SLAClock] = {}
    for clock in sorted(clocks, key=lambda c: (c.due_at, c.pk)):
        by_ticket.setdefault(clock.ticket_id, clock)
    if not by_ticket:
        return []
    router = router or HopRouter()
    active = defaultdict(list)
    for esc in Escalation.objects.filter(ticket_id__in=by_ticket, status__in=ACTIVE_ESCALATION_STATUSES):
        active[esc.ticket_id].append(esc)
    planned = []
    for ticket_id, clock in by_ticket.items():
        if any(esc.status == EscalationStatus.OPEN for esc in active[ticket_id]):
            continue
        current = max(active[ticket_id], key=lambda e: e.level, default=None)
        ticket = clock.ticket
        path, level, team = router.target(
            ticket=ticket,
            escalation_type=EscalationType.SUPPORT_LEVEL,
            mode=EscalationMode.AUTOMATIC,
            position=current.level + 1 if current else 1,
            above_tier=current.to_tier if current else ticket.tier,
            chain_path_id=current.path_id if current else None,
        )
        if team is not None:
            planned.append((clock, current, path, level, team))
    dossiers = automatic_dossiers(tickets=[c.ticket for c, *_ in planned], clocks=by_ticket, now=now)
    return [
        HopSpec(
            ticket=clock.ticket,
            escalation_type=EscalationType.SUPPORT_LEVEL,
            mode=EscalationMode.AUTOMATIC,
            to_team=team,
            position=current.level + 1 if current else 1,
            path=path,
            level=level,
            previous=current,
            reason=f"SLA breach: the {TARGET_WORDS[ClockTarget(clock.target)]} was due {_fmt(clock.due_at, clock_timezone(clock))}.",
            dossier=dossiers[clock.ticket_id],
            headline="Automatic escalation (SLA breach)",
        )
        for clock, current, path, level, team in planned
    ]
