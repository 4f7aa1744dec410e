"""SLA models: business calendars, policies per plan x priority, clocks per ticket and target, and the clock history.

The time arithmetic lives in ``escalations.sla.calendar`` (pure functions); the rules in ``escalations.sla.engine``
(services) and ``escalations.sla.sweep`` (the sweep). Exactly-once is the database's job: one live clock per (ticket,
target), and one "warned" and one "breached" history row per clock.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Category, Plan, Priority, Team, Ticket

__all__ = [
    "LIVE_CLOCK_STATES",
    "ONCE_PER_CLOCK",
    "BusinessCalendar",
    "CalendarHoliday",
    "ClockState",
    "ClockTarget",
    "SLAClock",
    "SLAClockQuerySet",
    "SLAEvent",
    "SLAEventKind",
    "SLAPolicy",
    "TeamCalendar",
    "Weekday",
    "WorkingInterval",
]


class BusinessCalendar(models.Model):
    """A timezone, weekly working intervals (several per day) and holidays; or simply "24x7"."""

    name = models.CharField(max_length=120, unique=True)
    timezone = models.CharField(max_length=64, default="Europe/London", help_text="An IANA name, e.g. Europe/London.")
    is_24x7 = models.BooleanField(
        default=False, help_text="Around the clock: every minute counts, holidays and weekly hours are ignored."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class WorkingInterval(models.Model):
    """One stretch of working time on a weekday, in the calendar's local time. An end of 00:00 means midnight."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="intervals")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField(help_text="00:00 means the end of the day (midnight).")

    class Meta:
        ordering = ["calendar", "weekday", "start"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "weekday", "start"], name="unique_interval_start"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class CalendarHoliday(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=120)
    repeats_yearly = models.BooleanField(default=False, help_text="The same day and month every year.")

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="unique_holiday_date")]

    def __str__(self) -> str:
        return f"{self.name} ({self.date:%Y-%m-%d})"


class TeamCalendar(models.Model):
    """The hours a team works: notifications to it outside them wait for its next working minute (quiet hours)."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="sla_calendar")
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"{self.team.name}: {self.calendar.name}"


class SLAPolicy(models.Model):
    """Targets per plan x priority (optionally narrowed to a category), measured in a business calendar."""

    name = models.CharField(max_length=120)
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="sla_policies")
    priority = models.CharField(max_length=10, choices=Priority.choices)
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Optional: a policy for one category wins over the plan's general one.",
    )
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="policies")
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="The agent's answer after each customer message."
    )
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    warn_percent = models.PositiveSmallIntegerField(default=80, help_text="Warn when this share of a target is used.")
    pause_on_pending_customer = models.BooleanField(default=True)
    pause_on_pending_third_party = models.BooleanField(default=False, help_text="Only if the plan allows it.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["plan", "priority", "name"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "priority"],
                condition=Q(is_active=True, category__isnull=True),
                name="one_active_sla_policy_per_plan_priority",
            ),
            models.UniqueConstraint(
                fields=["plan", "priority", "category"],
                condition=Q(is_active=True, category__isnull=False),
                name="one_active_sla_policy_per_plan_priority_category",
            ),
            models.CheckConstraint(
                condition=Q(warn_percent__gte=1, warn_percent__lte=100), name="sla_warn_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def target_minutes(self, target: str) -> int | None:
        minutes: dict[str, int | None] = {
            ClockTarget.FIRST_RESPONSE: self.first_response_minutes,
            ClockTarget.NEXT_RESPONSE: self.next_response_minutes,
            ClockTarget.RESOLUTION: self.resolution_minutes,
        }
        return minutes[target]

    @property
    def pause_statuses(self) -> frozenset[str]:
        statuses = set()
        if self.pause_on_pending_customer:
            statuses.add("pending_customer")
        if self.pause_on_pending_third_party:
            statuses.add("pending_third_party")
        return frozenset(statuses)


class ClockTarget(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")


class ClockState(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    MET = "met", _("Met")
    STOPPED = "stopped", _("Stopped")  # the ticket was resolved or closed before a response target was met
    CLEARED = "cleared", _("Cleared")  # the ticket matches no policy any more


LIVE_CLOCK_STATES = (ClockState.RUNNING, ClockState.PAUSED)


class SLAClockQuerySet(models.QuerySet["SLAClock"]):
    def live(self) -> SLAClockQuerySet:
        return self.filter(state__in=LIVE_CLOCK_STATES)

    def running(self) -> SLAClockQuerySet:
        return self.filter(state=ClockState.RUNNING)

    def due(self, now) -> SLAClockQuerySet:
        return self.filter(next_check_at__lte=now)

    def warning(self, now) -> SLAClockQuerySet:
        """Running clocks inside their warning window: past ``warn_at`` (the policy's warn %), not yet due. The
        sweep warns by the same ``warn_at``; tickets carry the earliest one as ``Ticket.sla_warn_at``."""
        return self.running().filter(breached_at__isnull=True, warn_at__lte=now, due_at__gt=now)


class SLAClock(models.Model):
    """One target's clock on one ticket. Business seconds consumed before ``running_since`` are in
    ``consumed_seconds``; ``next_check_at`` is the earliest moment the sweep must look at it (none when paused)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_clocks")
    target = models.CharField(max_length=20, choices=ClockTarget.choices)
    policy = models.ForeignKey(SLAPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="clocks")
    state = models.CharField(max_length=10, choices=ClockState.choices, default=ClockState.RUNNING)
    target_seconds = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    running_since = models.DateTimeField(null=True, blank=True)
    consumed_seconds = models.PositiveIntegerField(default=0, help_text="Business seconds used before running_since.")
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    paused_since = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(default=0, help_text="Wall-clock seconds spent paused.")
    met_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True, help_text="The true deadline that was missed.")
    escalation_level = models.PositiveSmallIntegerField(default=0, help_text="Escalation level its breach reached.")
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = SLAClockQuerySet.as_manager()

    class Meta:
        ordering = ["ticket", "started_at", "id"]
        verbose_name = "SLA clock"
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "target"], condition=Q(state__in=LIVE_CLOCK_STATES), name="one_live_clock_per_target"
            ),
        ]
        indexes = [
            models.Index(fields=["ticket", "state"], name="slaclock_ticket_state"),
            # The analytics count clocks by the period they started in (SLA compliance, breaches by team and plan).
            models.Index(fields=["started_at"], name="slaclock_started"),
        ]

    def __str__(self) -> str:
        return f"{self.get_target_display()} clock of ticket {self.ticket_id}"

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_CLOCK_STATES


class SLAEventKind(models.TextChoices):
    STARTED = "started", _("Started")
    PAUSED = "paused", _("Paused")
    RESUMED = "resumed", _("Resumed")
    RECOMPUTED = "recomputed", _("Recomputed")
    WARNED = "warned", _("Warned")
    BREACHED = "breached", _("Breached")
    ESCALATED = "escalated", _("Escalated")
    MET = "met", _("Met")
    STOPPED = "stopped", _("Stopped")
    REOPENED = "reopened", _("Reopened")
    CLEARED = "cleared", _("Cleared")


ONCE_PER_CLOCK = (SLAEventKind.WARNED, SLAEventKind.BREACHED)


class SLAEvent(models.Model):
    """The clock's history (SLA explainability). Warned and breached happen at most once per clock, by constraint."""

    clock = models.ForeignKey(SLAClock, on_delete=models.CASCADE, related_name="history")
    # No index of its own: ``slaevent_ticket_at`` leads with the ticket (each index is paid for on every row the
    # sweep writes).
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=12, choices=SLAEventKind.choices)
    at = models.DateTimeField(help_text="When it happened (for a breach: the deadline itself).")
    policy = models.ForeignKey(SLAPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    detail = models.CharField(max_length=300, blank=True)
    batch = models.UUIDField(null=True, blank=True, help_text="The sweep batch that wrote it.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "SLA event"
        constraints = [
            models.UniqueConstraint(
                fields=["clock", "kind"], condition=Q(kind__in=ONCE_PER_CLOCK), name="sla_event_once_per_clock"
            ),
        ]
        indexes = [
            models.Index(fields=["ticket", "at"], name="slaevent_ticket_at"),
            models.Index(fields=["batch"], name="slaevent_batch"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.clock_id})"
