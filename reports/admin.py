from django.contrib import admin

from helpdesk.admin_services import AuditedModelAdmin
from reports.models import CoachingSession


@admin.register(CoachingSession)
class CoachingSessionAdmin(AuditedModelAdmin):
    list_display = ["agent", "manager", "held_on"]
    list_filter = ["held_on"]
    search_fields = ["agent__username", "agent__first_name", "agent__last_name", "notes"]
    raw_id_fields = ["agent", "manager"]
