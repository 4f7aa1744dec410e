"""Admin for the SLA engine: calendars (with their hours and holidays), policies, team calendars; clocks and their
history are read-only (they are written only by the engine)."""

from django.contrib import admin

from escalations.models import (
    BusinessCalendar,
    CalendarHoliday,
    SLAClock,
    SLAEvent,
    SLAPolicy,
    TeamCalendar,
    WorkingInterval,
)
from escalations.sla.services import business_calendar_save, business_calendar_snapshot, sla_policy_save
from helpdesk.admin_services import AuditedModelAdmin, ViewOnlyAdmin


class WorkingIntervalInline(admin.TabularInline):
    model = WorkingInterval
    extra = 0


class CalendarHolidayInline(admin.TabularInline):
    model = CalendarHoliday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(AuditedModelAdmin):
    """A change (hours and holidays included) goes through ``business_calendar_save``, which recomputes the live
    clocks of every policy on the calendar once the inlines are saved."""

    list_display = ["name", "timezone", "is_24x7"]
    inlines = [WorkingIntervalInline, CalendarHolidayInline]

    def save_model(self, request, obj, form, change):
        request._sla_calendar_previous = business_calendar_snapshot(calendar=obj) if change else {}
        if not change:
            business_calendar_save(calendar=obj, actor=request.user, fields={}, previous={})

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:
            business_calendar_save(
                calendar=form.instance,
                actor=request.user,
                fields={},
                previous=getattr(request, "_sla_calendar_previous", {}),
            )


@admin.register(TeamCalendar)
class TeamCalendarAdmin(AuditedModelAdmin):
    list_display = ["team", "calendar"]


@admin.register(SLAPolicy)
class SLAPolicyAdmin(AuditedModelAdmin):
    list_display = [
        "name",
        "plan",
        "priority",
        "category",
        "calendar",
        "first_response_minutes",
        "next_response_minutes",
        "resolution_minutes",
        "warn_percent",
        "is_active",
    ]
    list_filter = ["plan", "priority", "is_active"]

    def save_model(self, request, obj, form, change):
        """The one policy-change service: same permission as the API, and the live clocks are recomputed."""
        sla_policy_save(policy=obj, actor=request.user, fields={})


@admin.register(SLAClock)
class SLAClockAdmin(ViewOnlyAdmin):
    list_display = ["ticket", "target", "state", "policy", "due_at", "warned_at", "breached_at", "next_check_at"]
    list_filter = ["target", "state"]
    list_select_related = ["ticket", "policy"]
    raw_id_fields = ["ticket"]


@admin.register(SLAEvent)
class SLAEventAdmin(ViewOnlyAdmin):
    list_display = ["ticket", "clock", "kind", "at", "policy", "detail"]
    list_filter = ["kind"]
    list_select_related = ["ticket", "policy", "clock"]
