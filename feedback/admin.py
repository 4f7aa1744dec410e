"""Admin for feedback. Resolution records, surveys, follow-ups and root-cause analyses are stateful records written by
the services (their events, guards and follow-ups must always happen): read-only here. The useful state changes are
admin actions over the same services: review an RCA, mark a corrective action done."""

from django import forms
from django.contrib import admin

from feedback.models import (
    CauseCategory,
    CoachingItem,
    CorrectiveAction,
    FollowUpTask,
    ResolutionRecord,
    RootCauseAnalysis,
    Survey,
)
from feedback.rca import corrective_action_complete, rca_review
from helpdesk.admin_services import AuditedModelAdmin, ServiceOnlyAdmin


@admin.register(ResolutionRecord)
class ResolutionRecordAdmin(ServiceOnlyAdmin):
    list_display = ("ticket", "recorded_by", "recorded_at")
    search_fields = ("ticket__reference", "summary")


@admin.register(Survey)
class SurveyAdmin(ServiceOnlyAdmin):
    """Read-only: scheduled, sent and answered by the survey services (the nonce is the link's secret and the
    answers are the customer's)."""

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
    exclude = ("nonce",)

    def get_readonly_fields(self, request, obj=None):
        return [name for name in super().get_readonly_fields(request, obj) if name != "nonce"]


@admin.register(FollowUpTask)
class FollowUpTaskAdmin(ServiceOnlyAdmin):
    """Read-only: outcomes are recorded in "My follow-ups" (``follow_up_complete``), which may reopen the ticket."""

    list_display = ("ticket", "kind", "owner", "due_at", "done_at", "outcome")
    list_filter = ("kind", "outcome")
    search_fields = ("ticket__reference", "note")


class CorrectiveActionInline(admin.TabularInline):
    model = CorrectiveAction
    extra = 0
    can_delete = False
    fields = ("description", "owner", "due_date", "status", "done_at")
    readonly_fields = fields
    max_num = 0


class RcaReviewForm(forms.Form):
    cause_category = forms.ChoiceField(choices=CauseCategory.choices, label="Cause category (confirm or reclassify)")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Review note", required=False)


@admin.register(RootCauseAnalysis)
class RootCauseAnalysisAdmin(ServiceOnlyAdmin):
    """Read-only; "Review" goes through ``rca_review`` (managers only; a reclassification applies its follow-up)."""

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
    inlines = [CorrectiveActionInline]
    actions = ["review"]

    @admin.action(description="Review the selected root-cause analyses…")
    def review(self, request, queryset):
        def apply(rca: RootCauseAnalysis, data: dict) -> str:
            rca_review(rca=rca, actor=request.user, cause_category=data["cause_category"], note=data["note"])
            return f"reviewed ({CauseCategory(data['cause_category']).label})"

        return self.action_with_form(
            request, queryset, form_class=RcaReviewForm, title="Review RCA", apply=apply, label=_rca_label
        )


def _rca_label(rca: RootCauseAnalysis) -> str:
    return f"RCA of {rca.ticket.reference}"


@admin.register(CorrectiveAction)
class CorrectiveActionAdmin(ServiceOnlyAdmin):
    """Read-only; "Mark done" goes through ``corrective_action_complete`` (its owner or a manager)."""

    list_display = ("description", "rca", "owner", "due_date", "status")
    list_filter = ("status",)
    search_fields = ("description",)
    actions = ["mark_done"]

    @admin.action(description="Mark the selected corrective actions done")
    def mark_done(self, request, queryset):
        def apply(action: CorrectiveAction) -> str:
            corrective_action_complete(action=action, actor=request.user)
            return "done"

        self.apply_each(request, queryset, apply=apply)


@admin.register(CoachingItem)
class CoachingItemAdmin(AuditedModelAdmin):
    list_display = ("agent", "rca", "created_at")
    search_fields = ("agent__username", "note")
    raw_id_fields = ("agent", "rca")
