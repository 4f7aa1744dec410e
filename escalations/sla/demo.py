"""Demo data for the SLA engine: calendars, policies per plan x priority, team calendars, a support-level ladder
(if the escalation seeder made none), clocks replayed from each demo ticket's timeline, two near-breach tickets,
and one sweep so that breached clocks are escalated. Idempotent."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import time_machine
from django.db import transaction

from escalations.models import (
    BusinessCalendar,
    CalendarHoliday,
    EscalationLevel,
    EscalationPath,
    EscalationType,
    SLAClock,
    SLAPolicy,
    TeamCalendar,
    WorkingInterval,
)
from helpdesk.models import Plan, Priority, Status, Ticket

UK_HOLIDAYS = [
    (date(2026, 1, 1), "New Year's Day", True),
    (date(2026, 4, 3), "Good Friday", False),
    (date(2026, 4, 6), "Easter Monday", False),
    (date(2026, 5, 4), "Early May bank holiday", False),
    (date(2026, 5, 25), "Spring bank holiday", False),
    (date(2026, 8, 31), "Summer bank holiday", False),
    (date(2026, 12, 25), "Christmas Day", True),
    (date(2026, 12, 28), "Boxing Day (substitute)", False),
    (date(2027, 3, 26), "Good Friday", False),
    (date(2027, 3, 29), "Easter Monday", False),
    (date(2027, 5, 3), "Early May bank holiday", False),
    (date(2027, 5, 31), "Spring bank holiday", False),
    (date(2027, 8, 30), "Summer bank holiday", False),
    (date(2027, 12, 27), "Christmas Day (substitute)", False),
    (date(2027, 12, 28), "Boxing Day (substitute)", False),
]

# plan -> priority -> (first response, next response, resolution) in business minutes
TARGETS = {
    "basic": {
        Priority.LOW: (480, 960, 2400),
        Priority.NORMAL: (240, 480, 1440),
        Priority.HIGH: (120, 240, 960),
        Priority.URGENT: (60, 120, 480),
    },
    "pro": {
        Priority.LOW: (480, 720, 4320),
        Priority.NORMAL: (240, 480, 2880),
        Priority.HIGH: (120, 240, 1440),
        Priority.URGENT: (60, 120, 720),
    },
    "enterprise": {
        Priority.LOW: (240, 480, 2880),
        Priority.NORMAL: (60, 120, 1440),
        Priority.HIGH: (30, 60, 720),
        Priority.URGENT: (15, 30, 240),
    },
}


def _calendars() -> tuple[BusinessCalendar, BusinessCalendar]:
    office, created = BusinessCalendar.objects.get_or_create(
        name="UK office hours", defaults={"timezone": "Europe/London"}
    )
    if created:
        WorkingInterval.objects.bulk_create(
            WorkingInterval(calendar=office, weekday=day, start=time(9), end=time(17)) for day in range(5)
        )
        CalendarHoliday.objects.bulk_create(
            CalendarHoliday(calendar=office, date=day, name=name, repeats_yearly=yearly)
            for day, name, yearly in UK_HOLIDAYS
        )
    always, _ = BusinessCalendar.objects.get_or_create(name="24x7", defaults={"timezone": "UTC", "is_24x7": True})
    return office, always


def _policies(office: BusinessCalendar, always: BusinessCalendar) -> None:
    for plan in Plan.objects.filter(code__in=TARGETS):
        calendar = office if plan.code == "basic" else always
        for priority, (first, nxt, resolution) in TARGETS[plan.code].items():
            SLAPolicy.objects.get_or_create(
                plan=plan,
                priority=priority,
                category=None,
                is_active=True,
                defaults={
                    "name": f"{plan.name} · {Priority(priority).label}",
                    "calendar": calendar,
                    "first_response_minutes": first,
                    "next_response_minutes": nxt,
                    "resolution_minutes": resolution,
                    "warn_percent": 80,
                    "pause_on_pending_third_party": plan.code != "basic",
                },
            )


def _ladder(teams: dict) -> None:
    if EscalationPath.objects.filter(escalation_type=EscalationType.SUPPORT_LEVEL).exists():
        return
    general = EscalationPath.objects.create(name="SLA breach ladder", escalation_type=EscalationType.SUPPORT_LEVEL)
    EscalationLevel.objects.create(path=general, position=1, team=teams["technical"], ack_minutes=30)
    EscalationLevel.objects.create(path=general, position=2, team=teams["managers"], ack_minutes=30)
    billing = EscalationPath.objects.create(
        name="SLA breach ladder (billing)",
        escalation_type=EscalationType.SUPPORT_LEVEL,
        category=teams["billing"].categories.filter(slug="billing").first(),
    )
    EscalationLevel.objects.create(path=billing, position=1, team=teams["billing"], ack_minutes=30)
    EscalationLevel.objects.create(path=billing, position=2, team=teams["managers"], ack_minutes=30)


def _replay(ticket: Ticket) -> None:
    """Rebuild a ticket's clocks from its timeline, as if the engine had been running all along."""
    from escalations.sla.engine import sla_handle_ticket_event

    final = ticket.status
    ticket.status = Status.NEW
    for event in ticket.events.order_by("created_at", "id"):
        if event.kind == "status_changed":
            ticket.status = event.data.get("to", ticket.status)
        sla_handle_ticket_event(ticket=ticket, event=event)
    ticket.status = final
    # A target met late was breached at its deadline: the clock rules record that as the reply or resolve lands.


def sla_demo_seed(*, now: datetime, rng, people: dict, stdout=None) -> None:
    """Seed the SLA configuration and clocks (idempotent)."""
    from escalations.risk_model.history import PREFIX as HISTORY_PREFIX
    from escalations.sla.sweep import sla_sweep
    from helpdesk import services
    from helpdesk.notifications import dispatch_disabled

    with transaction.atomic(), dispatch_disabled():
        office, always = _calendars()
        _policies(office, always)
        teams = people["teams"]
        for slug in ("frontline", "technical", "billing", "compliance"):
            TeamCalendar.objects.get_or_create(team=teams[slug], defaults={"calendar": office})
        TeamCalendar.objects.get_or_create(team=teams["managers"], defaults={"calendar": always})
        _ladder(teams)
        # The imported history (``escalations.risk_model.history``) is closed and keeps the shape it was imported with.
        replay = Ticket.objects.filter(sla_clocks__isnull=True).exclude(reference__startswith=HISTORY_PREFIX)
        for ticket in replay.select_related("organization__plan"):
            _replay(ticket)
        near = [
            (people["customers"][0], "Invoices page shows an error", Priority.NORMAL, 50),
            (people["customers"][3], "API rate limit hit during nightly sync", Priority.HIGH, 100),
        ]
        for customer, subject, priority, minutes_ago in near:
            if Ticket.objects.filter(subject=subject).exists():
                continue
            with time_machine.travel(now - timedelta(minutes=minutes_ago), tick=False):
                services.ticket_create(
                    customer=customer,
                    subject=subject,
                    description="Near-breach demo: nobody has answered yet.",
                    category=people["categories"]["integrations"],
                    priority=priority,
                )
        result = sla_sweep(now=now)
    if stdout is not None:
        stdout.write(f"SLA: {SLAClock.objects.count()} clocks; sweep {result.as_dict()}")
