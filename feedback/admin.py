from django.contrib import admin

from feedback.models import (
    CoachingItem,
    CorrectiveAction,
    FollowUpTask,
    ResolutionRecord,
    RootCauseAnalysis,
    Survey,
)


@admin.register(ResolutionRecord)
class ResolutionRecordAdmin(admin.ModelAdmin):
    list_display = ("ticket", "recorded_by", "recorded_at")
    search_fields = ("ticket__reference", "summary")
    raw_id_fields = ("ticket", "escalation", "recorded_by")


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = (
        "ticket",
        "is_escalated",
        "send_at",
        "sent_at",
        "reminder_sent_at",
        "answered_at",
        "csat",
        "fixed",
        "explain_count",
        "nps",
    )
    list_filter = ("is_escalated", "csat", "fixed")
    search_fields = ("ticket__reference", "comment")
    raw_id_fields = ("ticket", "escalation")
    # The nonce is the link's secret and the answers are the customer's: read-only here.
    readonly_fields = (
        "nonce",
        "sent_at",
        "reminder_sent_at",
        "answered_at",
        "csat",
        "fixed",
        "explain_count",
        "nps",
        "comment",
    )


@admin.register(FollowUpTask)
class FollowUpTaskAdmin(admin.ModelAdmin):
    list_display = ("ticket", "kind", "owner", "due_at", "done_at", "outcome")
    list_filter = ("kind", "outcome")
    search_fields = ("ticket__reference", "note")
    raw_id_fields = ("ticket", "survey", "owner", "done_by")


class CorrectiveActionInline(admin.TabularInline):
    model = CorrectiveAction
    extra = 0
    raw_id_fields = ("owner",)


@admin.register(RootCauseAnalysis)
class RootCauseAnalysisAdmin(admin.ModelAdmin):
    list_display = (
        "ticket",
        "cause_category",
        "preventable",
        "created_by",
        "created_at",
        "reviewed_by",
        "reclassified_from",
    )
    list_filter = ("cause_category", "preventable", "reclassified_from")
    search_fields = ("ticket__reference", "five_whys")
    raw_id_fields = ("ticket", "escalation", "created_by", "reviewed_by")
    inlines = [CorrectiveActionInline]


@admin.register(CorrectiveAction)
class CorrectiveActionAdmin(admin.ModelAdmin):
    list_display = ("description", "rca", "owner", "due_date", "status")
    list_filter = ("status",)
    search_fields = ("description",)
    raw_id_fields = ("rca", "owner")


@admin.register(CoachingItem)
class CoachingItemAdmin(admin.ModelAdmin):
    list_display = ("agent", "rca", "created_at")
    search_fields = ("agent__username", "note")
    raw_id_fields = ("agent", "rca")
