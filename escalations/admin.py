from django.contrib import admin

from escalations.models import (
    Call,
    Callback,
    CompensationRequest,
    Escalation,
    EscalationLevel,
    EscalationPath,
    Playbook,
    RiskAssessment,
    TierApprovalLimit,
    VendorCase,
)


class EscalationLevelInline(admin.TabularInline):
    model = EscalationLevel
    extra = 0
    fields = (
        "position",
        "target",
        "team",
        "notify_team",
        "notify_leads_only",
        "ack_minutes",
        "caller_waiting_minutes",
    )


@admin.register(EscalationPath)
class EscalationPathAdmin(admin.ModelAdmin):
    list_display = ("name", "escalation_type", "category", "min_priority", "is_active")
    list_filter = ("escalation_type", "is_active", "category")
    search_fields = ("name",)
    inlines = [EscalationLevelInline]


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):
    list_display = (
        "ticket",
        "escalation_type",
        "mode",
        "status",
        "level",
        "from_tier",
        "to_tier",
        "to_team",
        "created_at",
    )
    list_filter = ("status", "escalation_type", "mode", "to_tier", "requested_by_kind")
    search_fields = ("ticket__reference", "ticket__subject", "reason", "dossier_problem")
    raw_id_fields = ("ticket", "previous", "path")
    readonly_fields = ("created_at", "accepted_at", "closed_at")
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        # The admin is a list too: restricted tickets follow the same visibility rule.
        from escalations.selectors import escalations_visible_to

        return escalations_visible_to(request.user).select_related("ticket", "to_team")


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    list_display = ("escalation_type", "title", "updated_at")
    search_fields = ("title", "script")


@admin.register(TierApprovalLimit)
class TierApprovalLimitAdmin(admin.ModelAdmin):
    list_display = ("tier", "currency", "amount")
    list_filter = ("currency",)


@admin.register(CompensationRequest)
class CompensationRequestAdmin(admin.ModelAdmin):
    list_display = ("ticket", "amount", "currency", "status", "requested_by", "decided_by", "created_at")
    list_filter = ("status", "currency")
    search_fields = ("ticket__reference", "reason")
    raw_id_fields = ("ticket", "escalation")
    readonly_fields = ("status", "requested_by", "requester_limit", "decided_by", "decided_at", "created_at")


@admin.register(VendorCase)
class VendorCaseAdmin(admin.ModelAdmin):
    list_display = ("vendor_name", "external_reference", "ticket", "follow_up_at", "reminded_at", "closed_at")
    list_filter = ("vendor_name",)
    search_fields = ("vendor_name", "external_reference", "ticket__reference")
    raw_id_fields = ("ticket", "escalation")


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(admin.ModelAdmin):
    list_display = ("ticket", "score", "suggested_type", "messages_assessed", "updated_at")
    list_filter = ("suggested_type",)
    search_fields = ("ticket__reference",)
    raw_id_fields = ("ticket",)


# --- calls and callbacks ------------------------------------------------------------------------------------------


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ["ticket", "direction", "number", "agent", "started_at", "duration_seconds", "outcome"]
    list_filter = ["direction", "outcome"]
    search_fields = ["ticket__reference", "number", "summary"]
    raw_id_fields = ["ticket", "agent", "callback"]
    date_hierarchy = "started_at"


@admin.register(Callback)
class CallbackAdmin(admin.ModelAdmin):
    list_display = ["ticket", "customer", "number", "window_start", "window_end", "owner", "status", "breached_at"]
    list_filter = ["status"]
    search_fields = ["ticket__reference", "number", "reason"]
    raw_id_fields = ["ticket", "customer", "owner", "escalation"]
    readonly_fields = ["reminded_at", "breached_at", "completed_at"]
