"""Reads for escalations. Every list, count and search goes through ``escalations_visible_to`` which is built on
the one ticket visibility rule, so a restricted (compliance) ticket never leaks through an escalation list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy

from escalations import conf
from escalations.models import (
    ACTIVE_ESCALATION_STATUSES,
    CompensationRequest,
    CompensationStatus,
    Escalation,
    EscalationPath,
    EscalationQuerySet,
    EscalationStatus,
    EscalationType,
    OnCallOverride,
    OnCallRotation,
    Playbook,
    TeamCalendar,
    TierApprovalLimit,
    VendorCase,
)
from escalations.rota import Cover, OnCall, Rota, next_on_call, on_call_at
from helpdesk.models import PRIORITY_RANK, Role, Team, TeamMembership, Ticket, User
from helpdesk.selectors import ticket_visibility_q_for


def escalations_visible_to(user: User) -> EscalationQuerySet:
    """Escalation records are staff-only (customers read the plain-words events); restricted tickets follow the
    ticket rule."""
    if not user.is_authenticated or not user.is_staff_member:
        return Escalation.objects.none()
    return Escalation.objects.filter(ticket_visibility_q_for(user, prefix="ticket__"))


def escalation_get_for_user(*, user: User, pk: int) -> Escalation:
    escalation = (
        escalations_visible_to(user)
        .select_related("ticket__customer", "ticket__organization__plan", "to_team", "from_team", "requested_by")
        .filter(pk=pk)
        .first()
    )
    if escalation is None:
        raise Http404("No such escalation.")
    return escalation


def _with_related(qs: QuerySet[Escalation]) -> QuerySet[Escalation]:
    return qs.select_related(
        "ticket__customer",
        "ticket__organization__plan",
        "ticket__category",
        "to_team",
        "from_team",
        "requested_by",
        "accepted_by",
    )


# The columns the escalation lists sort by (``?sort=key``, or ``-key`` for the other way). Ascending is the order of
# the value shown: shortest wait, least time left to accept or before the SLA is due, smallest plan. Rows without a
# deadline come last either way. A key not listed here leaves the list in its default order.
ESCALATION_SORTS: dict[str, tuple[str, ...]] = {
    "reference": ("ticket__reference",),
    "type": ("escalation_type",),
    "customer": ("ticket__customer__last_name", "ticket__customer__first_name"),
    "plan": ("ticket__organization__plan__rank",),
    "tier": ("to_tier", "from_tier"),
    "waiting": ("-created_at",),
    "accept": ("ack_due_at",),
    "sla": ("ticket__sla_due_at",),
}
# Pinned above any sort: a caller on the line and an emergency never sink below the fold.
INBOX_PINNED = ("-caller_waiting", "-ticket__is_emergency")
REVIEW_PINNED = ("-ticket__is_emergency",)


def escalation_sort_key(sort: str) -> str:
    """``sort`` if it names a column of ``ESCALATION_SORTS`` (with an optional "-"), else "" (the default order)."""
    return sort if sort.removeprefix("-") in ESCALATION_SORTS else ""


def _sorted(
    qs: QuerySet[Escalation], *, sort: str, pinned: tuple[str, ...], default: tuple[str, ...]
) -> QuerySet[Escalation]:
    sort = escalation_sort_key(sort)
    if not sort:
        return qs.order_by(*pinned, *default, "pk")  # the primary key last: a total order for keyset pages
    descending = sort.startswith("-")
    order = []
    for field in ESCALATION_SORTS[sort.removeprefix("-")]:
        name = field.removeprefix("-")
        ascending = field.startswith("-") == descending
        order.append(F(name).asc(nulls_last=True) if ascending else F(name).desc(nulls_last=True))
    return qs.order_by(*pinned, *order, "created_at", "pk")


def escalations_inbox_for(user: User, *, sort: str = "") -> QuerySet[Escalation]:
    """The specialist inbox: open escalations for my teams, oldest first (callers waiting on the line on top,
    then emergencies); ``sort`` orders the rest by a column of ``ESCALATION_SORTS``."""
    qs = _with_related(escalations_visible_to(user).open().filter(to_team__in=user.teams.values("pk")))
    return _sorted(qs, sort=sort, pinned=INBOX_PINNED, default=("created_at",))


def escalations_accepted_by(user: User, *, sort: str = "") -> QuerySet[Escalation]:
    qs = _with_related(escalations_visible_to(user).filter(status=EscalationStatus.ACCEPTED, accepted_by=user))
    return _sorted(qs, sort=sort, pinned=(), default=("accepted_at",))


def escalations_review_queue(
    *,
    user: User,
    now: datetime,
    escalation_type: str = "",
    tier: str = "",
    age: str = "",
    breach: str = "",
    q: str = "",
    sort: str = "",
) -> QuerySet[Escalation]:
    """Every active escalation the user may see, emergencies first then the oldest (or by ``sort``, a column of
    ``ESCALATION_SORTS``). Filters come from the URL."""
    qs = escalations_visible_to(user).active()
    if escalation_type:
        qs = qs.filter(escalation_type=escalation_type)
    if tier.isdigit():
        qs = qs.filter(to_tier=int(tier))
    if age in AGE_FILTERS:
        qs = qs.filter(created_at__lte=now - AGE_FILTERS[age][1])
    if breach == "breached":
        qs = qs.filter(ticket__sla_due_at__lte=now)
    elif breach == "unacknowledged":
        qs = qs.filter(status=EscalationStatus.OPEN, ack_due_at__lte=now)
    elif breach == "ok":
        qs = qs.filter(Q(ticket__sla_due_at__gt=now) | Q(ticket__sla_due_at__isnull=True))
    if q:
        qs = qs.filter(
            Q(ticket__reference__icontains=q)
            | Q(ticket__subject__icontains=q)
            | Q(reason__icontains=q)
            | Q(dossier_problem__icontains=q)
            | Q(ticket__customer__last_name__icontains=q)
        )
    return _sorted(_with_related(qs), sort=sort, pinned=REVIEW_PINNED, default=("created_at",))


AGE_FILTERS = {
    "1h": (gettext_lazy("Older than 1 hour"), timedelta(hours=1)),
    "4h": (gettext_lazy("Older than 4 hours"), timedelta(hours=4)),
    "24h": (gettext_lazy("Older than 1 day"), timedelta(days=1)),
    "72h": (gettext_lazy("Older than 3 days"), timedelta(days=3)),
}


def escalations_unacknowledged_due(*, now: datetime) -> QuerySet[Escalation]:
    """Open escalations past their acknowledgement time that the SLA sweep pages up the ladder, oldest first.
    A caller-waiting hop (not an emergency) is not among them: escalations.calls turns it into a callback instead.
    ``status__startswith`` (only "open" starts so) keeps SQLite's planner on the ack_due_at index, where an equality on
    status pulls it onto the inbox index and scans every open escalation."""
    return Escalation.objects.filter(
        Q(status__startswith=EscalationStatus.OPEN, ack_due_at__lte=now)
        & (Q(caller_waiting=False) | Q(escalation_type=EscalationType.EMERGENCY))
    ).order_by("ack_due_at", "pk")


def escalation_chain_for_ticket(*, ticket: Ticket) -> list[Escalation]:
    """Every hop on the ticket, oldest first, for the chain panel."""
    return list(
        Escalation.objects.filter(ticket=ticket)
        .select_related("to_team", "from_team", "requested_by", "accepted_by")
        .order_by("created_at", "pk")
    )


def escalation_active_for_ticket(*, ticket: Ticket) -> Escalation | None:
    return (
        Escalation.objects.filter(ticket=ticket, status__in=ACTIVE_ESCALATION_STATUSES)
        .select_related("to_team", "accepted_by")
        .order_by("-level", "-created_at")
        .first()
    )


def path_choose(paths: list[EscalationPath], ticket: Ticket) -> EscalationPath | None:
    """Among active paths of one type: a category match beats a catch-all, then the highest minimum priority the
    ticket still meets, then the oldest. No matching path is no path (the hop opener falls back by category)."""
    rank = PRIORITY_RANK.get(ticket.priority, 1)
    best: tuple[tuple[int, int, int], EscalationPath] | None = None
    for path in paths:
        if path.category_id not in (None, ticket.category_id):
            continue
        min_rank = PRIORITY_RANK.get(path.min_priority, -1) if path.min_priority else -1
        if min_rank > rank:
            continue
        key = (1 if path.category_id else 0, min_rank, -path.pk)
        if best is None or key > best[0]:
            best = (key, path)
    return best[1] if best else None


def playbook_for(escalation_type: str) -> Playbook | None:
    return Playbook.objects.filter(escalation_type=escalation_type).first()


def approval_limit_for(*, user: User, currency: str) -> Decimal:
    """The user's tier limit in the currency: the admin-configured row, else the settings default (GBP only)."""
    tier = user.tier or 0
    row = TierApprovalLimit.objects.filter(tier=tier, currency=currency).first()
    if row is not None:
        return row.amount
    if currency == conf.get("ESCALATION_DEFAULT_CURRENCY"):
        return Decimal(conf.get("ESCALATION_APPROVAL_LIMITS").get(tier, 0))
    return Decimal("0")


def compensation_requests_visible_to(user: User) -> QuerySet[CompensationRequest]:
    if not user.is_authenticated or not user.is_staff_member:
        return CompensationRequest.objects.none()
    return CompensationRequest.objects.filter(ticket_visibility_q_for(user, prefix="ticket__"))


def compensation_approvals_for(user: User) -> list[CompensationRequest]:
    """Pending requests this user could approve: their limit covers the amount and they did not ask for it."""
    if not user.is_staff_member:
        return []
    pending = (
        compensation_requests_visible_to(user)
        .filter(status=CompensationStatus.PENDING)
        .exclude(requested_by=user)
        .select_related("ticket", "requested_by", "escalation")
        .order_by("created_at")
    )
    limits: dict[str, Decimal] = {}
    result = []
    for request in pending:
        if request.currency not in limits:
            limits[request.currency] = approval_limit_for(user=user, currency=request.currency)
        if request.amount <= limits[request.currency]:
            result.append(request)
    return result


def vendor_cases_visible_to(user: User) -> QuerySet[VendorCase]:
    """Staff see the vendor cases of the tickets they can see; customers learn of them only through the customer
    words on their timeline."""
    if not user.is_authenticated or not user.is_staff_member:
        return VendorCase.objects.none()
    return VendorCase.objects.filter(ticket_visibility_q_for(user, prefix="ticket__"))


def vendor_cases_followup_due(*, now: datetime) -> QuerySet[VendorCase]:
    return VendorCase.objects.filter(follow_up_at__lte=now, reminded_at__isnull=True, closed_at__isnull=True)


def managers_on_call() -> list[User]:
    """Tier-3 people who are available; when nobody is, every active manager (an emergency must reach someone)."""
    managers = User.objects.filter(is_active=True, role=Role.MANAGER)
    available = list(managers.filter(is_available=True))
    return available or list(managers)


def oncall_rotas(*, team_ids, now: datetime, covers_until: datetime | None = None) -> dict[int, Rota]:
    """The active rotas of the given teams with at least one active member, and the overrides covering ``now``
    (and, with ``covers_until``, those starting up to then: to say who is next) (three queries). A team without one
    is absent: it is paged as before the rota existed."""
    rotations = list(
        OnCallRotation.objects.filter(team_id__in=set(team_ids), is_active=True)
        .prefetch_related("members__user")
        .order_by("pk")
    )
    if not rotations:
        return {}
    zones = dict(
        TeamCalendar.objects.filter(team_id__in=[r.team_id for r in rotations]).values_list(
            "team_id", "calendar__timezone"
        )
    )
    covers: dict[int, list[Cover]] = {}
    for row in OnCallOverride.objects.filter(
        rotation__in=rotations, starts_at__lte=covers_until or now, ends_at__gt=now, user__is_active=True
    ):
        covers.setdefault(row.rotation_id, []).append(Cover(row.user_id, row.starts_at, row.ends_at))
    rotas = {}
    for rotation in rotations:
        members = tuple(m.user_id for m in rotation.members.all() if m.user.is_active)
        if not members:
            continue
        rotas[rotation.team_id] = Rota(
            members=members,
            handover=rotation.handover,
            at=rotation.handover_time,
            zone=rotation.timezone or zones.get(rotation.team_id) or settings.TIME_ZONE,
            starts_on=rotation.starts_on,
            weekday=rotation.handover_weekday,
            covers=tuple(covers.get(rotation.pk, ())),
        )
    return rotas


def oncall_now(*, team_ids, now: datetime) -> dict[int, OnCall]:
    """Who of each team with a rota is on call at ``now`` and who backs them up (``escalations.rota``)."""
    return {team_id: on_call_at(rota, now) for team_id, rota in oncall_rotas(team_ids=team_ids, now=now).items()}


@dataclass(frozen=True)
class OnCallLine:
    team: Team
    primary: User | None
    backup: User | None
    # The next scheduled hand-over, in ``zone`` (the rota's zone, shown beside it: a team may sit in another zone).
    until: datetime | None
    covering: bool
    zone: str
    # Who is on call next, and from when (the hand-over, or the start or end of a cover if that comes first).
    next_primary: User | None = None
    next_at: datetime | None = None


# A weekly shift ends at most seven days ahead: covers starting after that cannot decide who is next.
NEXT_HORIZON = timedelta(days=8)


def oncall_lines(*, teams, now: datetime) -> list[OnCallLine]:
    """Who of each team with a rota is on call now, the backup, the next hand-over and who is on call next,
    in team-name order (four queries, whatever the number of teams). Teams without a rota are left out."""
    teams = {team.pk: team for team in teams}
    rotas = oncall_rotas(team_ids=teams, now=now, covers_until=now + NEXT_HORIZON)
    oncall = {team_id: on_call_at(rota, now) for team_id, rota in rotas.items()}
    upcoming = {team_id: next_on_call(rota, now) for team_id, rota in rotas.items()}
    wanted = {u for who in oncall.values() for u in (who.primary, who.backup) if u is not None}
    wanted |= {user_id for _, user_id in upcoming.values() if user_id is not None}
    people = User.objects.in_bulk(wanted)
    return [
        OnCallLine(
            team=teams[team_id],
            primary=people.get(who.primary) if who.primary else None,
            backup=people.get(who.backup) if who.backup else None,
            until=who.until,
            covering=who.covering,
            zone=rotas[team_id].zone,
            next_primary=people.get(upcoming[team_id][1]) if upcoming[team_id][1] else None,
            next_at=upcoming[team_id][0],
        )
        for team_id, who in sorted(oncall.items(), key=lambda item: teams[item[0]].name)
    ]


def oncall_board_for(*, user: User, now: datetime) -> list[OnCallLine]:
    """``oncall_lines`` for each of the user's teams that has a rota (the inbox header and the manager dashboard);
    other teams' rotas are not shown there (each team's own page shows its rota)."""
    return oncall_lines(teams=Team.objects.filter(pk__in=user.teams.values("pk")), now=now)


def escalations_per_category(*, since: datetime) -> dict[int, int]:
    """Escalations opened since ``since``, counted per ticket category (what KB health calls a category's demand)."""
    from django.db.models import Count

    return dict(
        Escalation.objects.filter(created_at__gte=since, ticket__category__isnull=False)
        .values_list("ticket__category")
        .annotate(n=Count("pk"))
        .values_list("ticket__category", "n")
    )


def team_page(*, slug: str, now: datetime) -> dict | None:
    """A team's page: the team, its members (leads first), who is on call now and next, and the overrides (holiday
    cover) running now or ahead. None when there is no such team. Any staff member may read any team's page."""
    team = Team.objects.prefetch_related("categories").filter(slug=slug).first()
    if team is None:
        return None
    members = list(
        TeamMembership.objects.filter(team=team, user__is_active=True)
        .select_related("user")
        .order_by("-is_lead", "user__first_name", "user__last_name", "user__username")
    )
    line = next(iter(oncall_lines(teams=[team], now=now)), None)
    overrides = list(
        OnCallOverride.objects.filter(rotation__team=team, rotation__is_active=True, ends_at__gt=now)
        .select_related("user", "rotation")
        .order_by("starts_at")[:20]
    )
    return {"team": team, "members": members, "on_call": [line] if line else [], "overrides": overrides}


def teams_overview(*, now: datetime) -> list[dict]:
    """Every team with its tier, member count and who is on call now and next (a fixed number of queries)."""
    from django.db.models import Count, Q

    teams = list(Team.objects.annotate(size=Count("memberships", filter=Q(memberships__user__is_active=True))))
    lines = {line.team.pk: line for line in oncall_lines(teams=teams, now=now)}
    return [{"team": team, "size": team.size, "on_call": lines.get(team.pk)} for team in teams]


# --- escalation risk: the "likely to escalate" watch list and the outcome loop's figures ----------------------------


def likely_to_escalate_size(*, team_ids: list[int] | None) -> int:
    """How many tickets the "likely to escalate" panel offers: ``ESCALATION_RISK_LOOKS_PER_AGENT`` looks per
    available agent of the teams (of every team when ``team_ids`` is None) when that setting is above 0, otherwise
    ``ESCALATION_RISK_WATCHLIST_SIZE`` (10): a day's worth of looks, not every ticket with a signal."""
    per_agent = int(conf.get("ESCALATION_RISK_LOOKS_PER_AGENT"))
    if per_agent <= 0:
        return int(conf.get("ESCALATION_RISK_WATCHLIST_SIZE"))
    staff = User.objects.filter(is_active=True, is_available=True).exclude(role=Role.CUSTOMER)
    if team_ids is not None:
        staff = staff.filter(memberships__team_id__in=team_ids)
    return max(1, per_agent * staff.distinct().count())


def tickets_likely_to_escalate(*, viewer: User, team_ids: list[int] | None = None, limit: int) -> list[Ticket]:
    """The open tickets the viewer may see (``tickets_visible_to``) that are flagged (risk "medium" or above) and
    not escalated now, riskiest first, then the soonest SLA deadline; only the teams' tickets when ``team_ids``."""
    from escalations.models import RiskAssessment
    from helpdesk.models import OPEN_STATUSES
    from helpdesk.selectors import tickets_visible_to

    escalated = Escalation.objects.filter(ticket_id=OuterRef("pk"), status__in=ACTIVE_ESCALATION_STATUSES)
    tickets = (
        tickets_visible_to(viewer)
        # Driven by the flagged assessments (``pk IN``), not by a walk over every open ticket and its assessment.
        .filter(pk__in=RiskAssessment.objects.filter(score__gte=RiskAssessment.MEDIUM).values("ticket_id"))
        .filter(status__in=OPEN_STATUSES, risk_assessment__score__gte=RiskAssessment.MEDIUM)
        .exclude(Exists(escalated))
    )
    if team_ids is not None:
        tickets = tickets.filter(team_id__in=team_ids)
    return list(
        tickets.with_list_related()
        .select_related("risk_assessment")
        .order_by("-risk_assessment__score", F("sla_due_at").asc(nulls_last=True), "pk")[:limit]
    )


@dataclass(frozen=True)
class RiskOutcomeFigures:
    """The live risk flag measured on what became of the tickets: precision = flagged tickets that escalated / all
    flagged tickets with an outcome; recall = escalated tickets flagged beforehand / all escalated tickets."""

    days: int
    flagged_escalated: int
    flagged_not_escalated: int
    escalated: int
    outcomes: int

    @property
    def precision(self) -> float | None:
        flagged = self.flagged_escalated + self.flagged_not_escalated
        return self.flagged_escalated / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        return self.flagged_escalated / self.escalated if self.escalated else None

    @property
    def missed(self) -> int:
        return self.escalated - self.flagged_escalated


def risk_outcome_figures(*, viewer: User, now: datetime, days: int = 90) -> RiskOutcomeFigures:
    """The outcome loop over the tickets whose outcome came in the last ``days`` and that the viewer may see; a
    ticket counts as flagged when its score reached "medium" before its outcome. One query."""
    from escalations.models import RiskAssessment, RiskOutcome

    flagged = Q(flagged_at__isnull=False, flagged_at__lte=F("outcome_at"))
    escalated = Q(outcome=RiskOutcome.ESCALATED)
    counts = RiskAssessment.objects.filter(
        ticket_visibility_q_for(viewer, prefix="ticket__"),
        outcome_at__gt=now - timedelta(days=days),
        outcome_at__lte=now,
    ).aggregate(
        flagged_escalated=Count("pk", filter=flagged & escalated),
        flagged_not_escalated=Count("pk", filter=flagged & Q(outcome=RiskOutcome.NOT_ESCALATED)),
        escalated=Count("pk", filter=escalated),
        outcomes=Count("pk"),
    )
    return RiskOutcomeFigures(days=days, **counts)
