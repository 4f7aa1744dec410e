"""Reads for the SLA engine: which policy a ticket falls under, calendar specs, clocks and their history."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, Prefetch, Q, QuerySet

from escalations.models import (
    BusinessCalendar,
    ClockState,
    SLAClock,
    SLAEvent,
    SLAEventKind,
    SLAPolicy,
    TeamCalendar,
)
from escalations.sla.calendar import CalendarSpec, next_working_moment
from helpdesk.models import OPEN_STATUSES, Ticket, User
from helpdesk.selectors import ticket_visibility_q_for


def _with_calendar(qs: QuerySet) -> QuerySet:
    return qs.select_related("calendar").prefetch_related("calendar__intervals", "calendar__holidays")


def sla_policy_for_ticket(*, ticket: Ticket) -> SLAPolicy | None:
    """The active policy for the ticket's plan and priority; one for its category wins over the general one."""
    plan_id = ticket.organization.plan_id
    return (
        _with_calendar(SLAPolicy.objects.filter(plan_id=plan_id, priority=ticket.priority, is_active=True))
        .filter(Q(category_id=ticket.category_id) | Q(category__isnull=True))
        .order_by(F("category_id").asc(nulls_last=True), "pk")
        .first()
    )


def ticket_calendar_timezone(ticket: Ticket) -> str | None:
    """The zone of the business calendar the ticket's SLA policy runs in (registered with
    ``helpdesk.customer_time`` as the customer's zone of last resort before the site's)."""
    policy = sla_policy_for_ticket(ticket=ticket)
    return policy.calendar.timezone if policy is not None and policy.calendar_id else None


def calendar_spec(calendar: BusinessCalendar | None) -> CalendarSpec:
    """The immutable spec the arithmetic works on (uses prefetched intervals and holidays when present)."""
    if calendar is None:
        return CalendarSpec.always()
    return CalendarSpec.build(
        timezone=calendar.timezone,
        intervals=[(i.weekday, i.start, i.end) for i in calendar.intervals.all()],
        holidays=[(h.date, h.repeats_yearly) for h in calendar.holidays.all()],
        is_24x7=calendar.is_24x7,
    )


def team_calendar_specs(*, team_ids) -> dict[int, CalendarSpec]:
    """Quiet-hours calendars of the given teams (teams without one are absent: they never have quiet hours)."""
    rows = TeamCalendar.objects.filter(team_id__in=set(team_ids)).select_related("calendar")
    rows = rows.prefetch_related("calendar__intervals", "calendar__holidays")
    return {row.team_id: calendar_spec(row.calendar) for row in rows}


def team_next_working_moments(*, team_ids, now: datetime) -> dict[int, datetime]:
    """When each team with a quiet-hours calendar is next at work (registered as the escalations core's
    working-hours provider, so the hop opener holds email to a team's working hours without importing the SLA
    engine)."""
    return {team_id: next_working_moment(spec, now) for team_id, spec in team_calendar_specs(team_ids=team_ids).items()}


def sla_clocks_for_ticket(*, ticket: Ticket) -> list[SLAClock]:
    """Every clock of a ticket, live ones first, newest cycle first within a target."""
    clocks = (
        SLAClock.objects.filter(ticket=ticket)
        .select_related("policy__calendar", "policy__plan")
        .prefetch_related("policy__calendar__intervals", "policy__calendar__holidays")
    )
    return sorted(clocks, key=lambda c: (not c.is_live, c.target, -c.pk))


def sla_history_for_ticket(*, ticket: Ticket) -> QuerySet[SLAEvent]:
    return SLAEvent.objects.filter(ticket=ticket).select_related("clock", "policy").order_by("at", "id")


def sla_breaching_soon(*, user: User, now: datetime) -> QuerySet[SLAClock]:
    """Running clocks of visible open tickets inside their warning window (``SLAClock.objects.warning``)."""
    return (
        SLAClock.objects.warning(now)
        .filter(ticket_visibility_q_for(user, prefix="ticket__"))
        .filter(ticket__status__in=OPEN_STATUSES)
        .select_related("ticket")
        .order_by("due_at")
    )


def sla_breaches_between(*, user: User, start: datetime, end: datetime) -> int:
    """How many SLA breaches (by their true deadline) fell in [start, end) on tickets the user may see."""
    return (
        SLAEvent.objects.filter(ticket_visibility_q_for(user, prefix="ticket__"))
        .filter(kind=SLAEventKind.BREACHED, at__gte=start, at__lt=end)
        .count()
    )


def sla_live_clocks_prefetch() -> Prefetch:
    """For queue rows: ``ticket.live_sla_clocks`` without a query per row."""
    return Prefetch(
        "sla_clocks",
        queryset=SLAClock.objects.filter(state__in=(ClockState.RUNNING, ClockState.PAUSED))
        .select_related("policy__calendar")
        .prefetch_related("policy__calendar__intervals", "policy__calendar__holidays")
        .order_by("due_at"),
        to_attr="live_sla_clocks",
    )
