"""Admin for escalations. Paths, playbooks, approval limits and on-call rotas (with their overrides) are configuration
and freely editable; on-call paging stages are records of what was paged, read-only; escalations,
compensation requests, vendor cases, risk assessments, calls and callbacks are stateful records: read-only here, and
the useful state changes (accept an escalation, approve or reject compensation) are admin actions over the services.
The SLA engine's admin lives in ``admin_sla.py``."""

from django import forms
from django.contrib import admin

from escalations import services
from escalations.compensation import compensation_decide, money
from escalations.models import (
    Call,
    Callback,
    CompensationRequest,
    Escalation,
    EscalationLevel,
    EscalationPath,
    OnCallMember,
    OnCallOverride,
    OnCallPage,
    OnCallRotation,
    Playbook,
    RiskAssessment,
    RiskModel,
    TelephonyEvent,
    TierApprovalLimit,
    VendorCase,
)
from helpdesk.admin_services import AuditedModelAdmin, ServiceOnlyAdmin


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
class EscalationPathAdmin(AuditedModelAdmin):
    list_display = ("name", "escalation_type", "category", "min_priority", "is_active")
    list_filter = ("escalation_type", "is_active", "category")
    search_fields = ("name",)
    inlines = [EscalationLevelInline]


@admin.register(Escalation)
class EscalationAdmin(ServiceOnlyAdmin):
    """Read-only; "Accept" goes through ``escalation_accept`` (ticket reassigned, events, customer told)."""

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
    date_hierarchy = "created_at"
    refusals = (services.EscalationConflict,)
    actions = ["accept"]

    def get_queryset(self, request):
        # The admin is a list too: restricted tickets follow the same visibility rule.
        from escalations.selectors import escalations_visible_to

        return escalations_visible_to(request.user).select_related("ticket", "to_team")

    @admin.action(description="Accept the selected escalations (they become yours)")
    def accept(self, request, queryset):
        def apply(escalation: Escalation) -> str:
            services.escalation_accept(escalation=escalation, actor=request.user)
            return f"accepted; {escalation.ticket.reference} is now yours"

        self.apply_each(request, queryset, apply=apply, label=_escalation_label)


@admin.register(Playbook)
class PlaybookAdmin(AuditedModelAdmin):
    list_display = ("escalation_type", "title", "updated_at")
    search_fields = ("title", "script")


@admin.register(TierApprovalLimit)
class TierApprovalLimitAdmin(AuditedModelAdmin):
    list_display = ("tier", "currency", "amount")
    list_filter = ("currency",)


class CompensationRejectForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), label="Why (the requester reads this)", required=False
    )


@admin.register(CompensationRequest)
class CompensationRequestAdmin(ServiceOnlyAdmin):
    """Read-only; approve and reject go through ``compensation_decide`` (approval limit, nobody decides their own
    request, events, the customer and requester told)."""

    list_display = ("ticket", "amount", "currency", "status", "requested_by", "decided_by", "created_at")
    list_filter = ("status", "currency")
    search_fields = ("ticket__reference", "reason")
    refusals = (services.EscalationConflict,)
    actions = ["approve", "reject"]

    def get_queryset(self, request):
        from escalations.selectors import compensation_requests_visible_to

        return compensation_requests_visible_to(request.user).select_related("ticket", "requested_by")

    @admin.action(description="Approve the selected compensation requests")
    def approve(self, request, queryset):
        def apply(compensation: CompensationRequest) -> str:
            compensation_decide(request=compensation, actor=request.user, approve=True)
            return "approved"

        self.apply_each(request, queryset, apply=apply, label=_compensation_label)

    @admin.action(description="Reject the selected compensation requests…")
    def reject(self, request, queryset):
        def apply(compensation: CompensationRequest, data: dict) -> str:
            compensation_decide(request=compensation, actor=request.user, approve=False, note=data["note"])
            return "rejected"

        return self.action_with_form(
            request,
            queryset,
            form_class=CompensationRejectForm,
            title="Reject compensation",
            apply=apply,
            label=_compensation_label,
        )


def _escalation_label(escalation: Escalation) -> str:
    return f"{escalation.ticket.reference} ({escalation.get_escalation_type_display()})"


def _compensation_label(compensation: CompensationRequest) -> str:
    return f"{compensation.ticket.reference} {money(compensation.amount, compensation.currency)}"


@admin.register(VendorCase)
class VendorCaseAdmin(ServiceOnlyAdmin):
    """Read-only: opened by a third-party escalation, reminded by the sweep."""

    list_display = ("vendor_name", "external_reference", "ticket", "follow_up_at", "reminded_at", "closed_at")
    list_filter = ("vendor_name",)
    search_fields = ("vendor_name", "external_reference", "ticket__reference")


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(ServiceOnlyAdmin):
    """Read-only: computed from the conversation."""

    list_display = (
        "ticket",
        "score",
        "likelihood",
        "model_version",
        "suggested_type",
        "messages_assessed",
        "updated_at",
    )
    list_filter = ("suggested_type",)
    search_fields = ("ticket__reference",)


@admin.register(RiskModel)
class RiskModelAdmin(ServiceOnlyAdmin):
    """Read-only: versions are written by ``manage.py risk_train`` and the weekly task, never uploaded (the artefact
    is a pickle: see ``RiskModel``)."""

    list_display = ("version", "trained_at", "seed", "is_active")
    exclude = ("artefact",)


# --- calls and callbacks ------------------------------------------------------------------------------------------


@admin.register(TelephonyEvent)
class TelephonyEventAdmin(ServiceOnlyAdmin):
    """Read-only: events arrive from the phone system (``escalations.calls.cti``); the outcome says what was done."""

    list_display = ["event_id", "kind", "call_ref", "occurred_at", "number", "agent", "outcome"]
    list_filter = ["kind"]
    search_fields = ["event_id", "call_ref", "number"]
    date_hierarchy = "occurred_at"


@admin.register(Call)
class CallAdmin(ServiceOnlyAdmin):
    """Read-only: calls are logged from the ticket workspace (``call_log``)."""

    list_display = ["ticket", "direction", "number", "agent", "started_at", "duration_seconds", "outcome"]
    list_filter = ["direction", "outcome"]
    search_fields = ["ticket__reference", "number", "summary"]
    date_hierarchy = "started_at"


@admin.register(Callback)
class CallbackAdmin(ServiceOnlyAdmin):
    """Read-only: promised, completed and breached through the calls services and their sweep."""

    list_display = ["ticket", "customer", "number", "window_start", "window_end", "owner", "status", "breached_at"]
    list_filter = ["status"]
    search_fields = ["ticket__reference", "number", "reason"]


class OnCallMemberInline(admin.TabularInline):
    model = OnCallMember
    extra = 0
    fields = ("position", "user")
    autocomplete_fields = ("user",)


class OnCallOverrideInline(admin.TabularInline):
    model = OnCallOverride
    extra = 0
    fields = ("user", "starts_at", "ends_at", "reason")
    autocomplete_fields = ("user",)


@admin.register(OnCallRotation)
class OnCallRotationAdmin(AuditedModelAdmin):
    list_display = ("team", "handover", "handover_weekday", "handover_time", "timezone", "starts_on", "is_active")
    list_filter = ("handover", "is_active")
    inlines = [OnCallMemberInline, OnCallOverrideInline]


@admin.register(OnCallOverride)
class OnCallOverrideAdmin(AuditedModelAdmin):
    list_display = ("rotation", "user", "starts_at", "ends_at", "reason")
    list_filter = ("rotation",)
    autocomplete_fields = ("user",)


@admin.register(OnCallPage)
class OnCallPageAdmin(ServiceOnlyAdmin):
    """Read-only: written by the hop opener and the sweep."""

    list_display = ("escalation", "cause", "stage", "recipient", "paged_at", "next_due_at")
    list_filter = ("cause", "stage")
