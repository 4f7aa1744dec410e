"""Admin for major incidents: stateful records, read-only here (declaring, updating, linking and resolving go through
the services from the incident pages); deliveries are a view-only log."""

from django.contrib import admin

from helpdesk.admin_services import ServiceOnlyAdmin, ViewOnlyAdmin
from incidents.models import Incident, IncidentDelivery, IncidentLink, IncidentUpdate


@admin.register(Incident)
class IncidentAdmin(ServiceOnlyAdmin):
    list_display = ("title", "status", "declared_by", "declared_at", "acknowledged_at", "resolved_at", "resolution")
    list_filter = ("status", "resolution")
    search_fields = ("title",)


@admin.register(IncidentLink)
class IncidentLinkAdmin(ServiceOnlyAdmin):
    list_display = ("incident", "ticket", "linked_by", "linked_at", "held_at", "released_at", "outcome")
    list_select_related = ("incident", "ticket", "linked_by")


@admin.register(IncidentUpdate)
class IncidentUpdateAdmin(ServiceOnlyAdmin):
    list_display = ("incident", "status", "author", "created_at", "delivered_at")
    list_select_related = ("incident", "author")


@admin.register(IncidentDelivery)
class IncidentDeliveryAdmin(ViewOnlyAdmin):
    list_display = ("update", "ticket", "event", "skipped", "delivered_at")
    list_select_related = ("update", "ticket")
