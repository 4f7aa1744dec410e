"""Wiring of the SLA engine into the core: signal receivers, workspace and portal panels, the demo seeder, the
Celery task module, the admin and the API (a ticket's clocks, the SLA policies).

``connect()`` must be called once from ``EscalationsConfig.ready()``::

    def ready(self):
        from escalations.sla.wiring import connect

        connect()

It also imports ``escalations.sla.tasks`` (Celery's autodiscovery only finds ``tasks.py``), so the worker knows the
beat task ``escalations.sla.tasks.sla_sweep_task``.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from escalations.models import ClockState, ClockTarget, SLAClock
from escalations.sla.engine import remaining_business_seconds
from escalations.sla.selectors import (
    calendar_spec,
    sla_clocks_for_ticket,
    sla_history_for_ticket,
    ticket_calendar_timezone,
)
from helpdesk.customer_time import calendar_timezone_register, customer_datetime, customer_timezone
from helpdesk.models import Status

_connected = False


def connect() -> None:
    """Idempotent: connect receivers and register panels, the seeder, tasks, admin and API once."""
    global _connected
    if _connected:
        return
    _connected = True
    import escalations.sla.admin
    import escalations.sla.tasks  # noqa: F401  (registers the beat task with the worker)
    from escalations.hooks import working_hours_register
    from escalations.sla import api
    from escalations.sla.demo import sla_demo_seed
    from escalations.sla.engine import connect_signals
    from escalations.sla.selectors import team_next_working_moments
    from helpdesk.api.registry import api_route_register, api_view_register
    from helpdesk.demo import demo_seeder_register
    from helpdesk.panels import panel_register

    connect_signals()
    working_hours_register(team_next_working_moments)
    panel_register(name="sla_clocks", template="escalations/sla/_panel_clocks.html", context=sla_clocks_panel, order=10)
    panel_register(
        name="sla_promise",
        template="escalations/sla/_panel_promise.html",
        context=sla_promise_panel,
        audience="customer",
        order=10,
    )
    demo_seeder_register(order=20, name="sla", seeder=sla_demo_seed)
    # A customer with no zone of their own or their organisation's reads dates in the SLA calendar's zone.
    calendar_timezone_register(ticket_calendar_timezone)
    # A URL name is part of the API's contract (``reverse("api:ticket-escalation-sla")``), so this one keeps the name
    # clients know, which says "escalation" for a route that is the SLA engine's.
    api_view_register(
        route="tickets/<ticket_reference:reference>/sla/", view=api.TicketSlaApi.as_view(), name="ticket-escalation-sla"
    )
    api_route_register(prefix="sla-policies", viewset=api.SlaPolicyViewSet, basename="sla-policy")


def _duration(seconds: int) -> str:
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


def clock_view(clock: SLAClock, *, now: datetime) -> dict:
    """How one clock looks on screen: colour class, label, remaining time in words."""
    spec = calendar_spec(clock.policy.calendar if clock.policy else None)
    label = clock.get_target_display()
    if clock.state == ClockState.PAUSED:
        left = max(clock.target_seconds - clock.consumed_seconds, 0)
        return {
            "clock": clock,
            "label": label,
            "css": "sla-paused",
            "state": "Paused",
            "text": f"{_duration(left)} left",
        }
    if clock.state == ClockState.MET:
        late = clock.breached_at is not None or (clock.due_at and clock.met_at and clock.met_at > clock.due_at)
        return {"clock": clock, "label": label, "css": "sla-met", "state": "Met late" if late else "Met", "text": ""}
    if clock.state in (ClockState.STOPPED, ClockState.CLEARED):
        return {"clock": clock, "label": label, "css": "sla-met", "state": clock.get_state_display(), "text": ""}
    left = remaining_business_seconds(clock, now=now, spec=spec)
    overdue = clock.breached_at is not None or (clock.due_at is not None and clock.due_at <= now)
    if overdue:
        gone = int((now - clock.due_at).total_seconds()) if clock.due_at else 0
        return {
            "clock": clock,
            "label": label,
            "css": "sla-breached",
            "state": "Breached",
            "text": f"overdue by {_duration(gone)}",
        }
    warning = clock.warned_at is not None or (clock.warn_at is not None and clock.warn_at <= now)
    return {
        "clock": clock,
        "label": label,
        "css": "sla-warning" if warning else "sla-ok",
        "state": "Due soon" if warning else "On track",
        "text": f"{_duration(left)} left",
    }


def sla_clocks_panel(*, request, ticket) -> dict | None:
    """Staff panel: every clock (live first) and the SLA history with the policy behind each event."""
    clocks = sla_clocks_for_ticket(ticket=ticket)
    history = list(sla_history_for_ticket(ticket=ticket))
    if not clocks and not history:
        return {"clocks": [], "history": [], "empty": True}
    now = timezone.now()
    live = [c for c in clocks if c.is_live]
    done = [c for c in clocks if not c.is_live]
    return {
        "clocks": [clock_view(c, now=now) for c in live],
        "finished": [clock_view(c, now=now) for c in done],
        "history": history,
        "policy": live[0].policy if live else (clocks[0].policy if clocks else None),
        "empty": False,
    }


def sla_promise_panel(*, request, ticket) -> dict | None:
    """Customer panel: the plan's promise and the current due time in plain words (no internal jargon)."""
    plan = ticket.organization.plan
    now = timezone.now()
    tz = customer_timezone(ticket)
    live = [c for c in sla_clocks_for_ticket(ticket=ticket) if c.is_live]
    response = next((c for c in live if c.target != ClockTarget.RESOLUTION), None)
    resolution = next((c for c in live if c.target == ClockTarget.RESOLUTION), None)
    lines: list[str] = []
    if ticket.status == Status.PENDING_CUSTOMER:
        lines.append(gettext("We are waiting for your reply. Our clock is paused until you answer."))
    elif ticket.status == Status.PENDING_THIRD_PARTY:
        lines.append(gettext("We are waiting for one of our partners and will update you as soon as we hear back."))
    promised = (
        (
            response,
            gettext_noop("We promised an answer by %(when)s."),
            gettext_noop(
                "We promised an answer by %(when)s and we are running late. A senior colleague is now looking at it."
            ),
        ),
        (
            resolution,
            gettext_noop("We promised a resolution by %(when)s."),
            gettext_noop(
                "We promised a resolution by %(when)s and we are running late. A senior colleague is now looking at it."
            ),
        ),
    )
    for clock, on_time, late in promised:
        if clock is None or clock.state != ClockState.RUNNING or clock.due_at is None:
            continue
        when = customer_datetime(clock.due_at, tz=tz)
        lines.append(gettext(late if clock.due_at <= now else on_time) % {"when": when})
    if ticket.status == Status.RESOLVED or ticket.customer_may_reopen(now=now):
        lines.append(
            gettext("This request is resolved. If anything is still wrong, just reply and we will pick it up again.")
        )
    elif ticket.status == Status.CLOSED:
        lines.append(gettext("This request is closed. If you need more help, please open a new request."))
    if not plan.promise and not lines:
        return None
    return {"plan": plan, "promise": plan.promise, "lines": lines}
