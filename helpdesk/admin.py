import secrets

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.utils import timezone

from helpdesk.models import (
    ApiToken,
    Attachment,
    Category,
    InboundMessage,
    LoginFailure,
    Notification,
    Organization,
    Plan,
    ReplyTemplate,
    Team,
    TeamMembership,
    Ticket,
    TicketEvent,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)
from helpdesk.signin import AdminSignInForm

# The admin's login goes through the same lockout as /login/ and the API; this form only words its refusal.
admin.site.login_form = AdminSignInForm


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "role", "organization", "is_available", "is_active")
    list_filter = ("role", "is_available", "is_active", "organization__plan")
    search_fields = ("username", "email", "first_name", "last_name", "organization__name")
    autocomplete_fields = ("organization",)
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Helpdesk", {"fields": ("role", "organization", "phone", "timezone", "is_available")}),
    )
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Helpdesk", {"fields": ("role", "organization", "email")}))


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "rank", "promise")
    search_fields = ("name", "code")


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "plan", "email_domain", "timezone")
    list_filter = ("plan",)
    search_fields = ("name", "email_domain")
    autocomplete_fields = ("plan",)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "tier", "assignment_rule")
    list_filter = ("tier", "assignment_rule")
    search_fields = ("name", "slug")
    filter_horizontal = ("categories",)
    prepopulated_fields = {"slug": ("name",)}
    inlines = [TeamMembershipInline]


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "actor", "is_public", "body")
    readonly_fields = fields
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("reference", "subject", "organization", "status", "priority", "team", "assignee", "created_at")
    list_filter = ("status", "priority", "channel", "tier", "restricted", "is_emergency", "team", "category")
    search_fields = ("reference", "subject", "customer__email", "customer__username", "organization__name")
    autocomplete_fields = ("customer", "organization", "category", "team", "assignee")
    readonly_fields = ("reference", "version", "created_at", "updated_at", "sla_due_at")
    date_hierarchy = "created_at"
    list_select_related = ("organization", "team", "assignee")
    inlines = [TicketEventInline]


@admin.register(TicketEvent)
class TicketEventAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is append-only."""

    list_display = ("created_at", "ticket", "kind", "actor", "is_public")
    list_filter = ("kind", "is_public")
    search_fields = ("ticket__reference", "body")
    list_select_related = ("ticket", "actor")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ("original_name", "ticket", "content_type", "size", "is_public", "created_at")
    list_filter = ("content_type", "is_public")
    search_fields = ("original_name", "ticket__reference")
    autocomplete_fields = ("ticket",)
    readonly_fields = ("file", "content_type", "size", "uploaded_by", "created_at")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "channel", "status", "kind", "recipient", "to_address", "attempts", "sent_at")
    list_filter = ("channel", "status", "kind")
    search_fields = ("subject", "to_address", "recipient__username")
    autocomplete_fields = ("recipient", "ticket")
    readonly_fields = ("attempts", "last_error", "sent_at", "created_at")


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ("received_at", "status", "from_address", "subject", "ticket", "mailbox")
    list_filter = ("status", "mailbox")
    search_fields = ("message_id", "from_address", "subject", "ticket__reference")
    readonly_fields = ("message_id", "mailbox", "from_address", "subject", "status", "reason", "ticket", "received_at")

    def has_add_permission(self, request):
        return False


# --- API tokens, sign-in lockout, webhooks ------------------------------------------------------------------------


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created by their owner on the profile page; here an administrator can only see and revoke."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    exclude = ("digest",)
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens (effective at once)")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} token(s) revoked.")


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "is_active")
    list_filter = ("is_active", "category")
    search_fields = ("name", "body")


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    list_display = ("username", "failures", "locked_until", "last_failure_at")
    search_fields = ("username",)
    actions = ["unlock"]

    @admin.action(description="Unlock the selected usernames")
    def unlock(self, request, queryset):
        queryset.update(failures=0, locked_until=None)


class WebhookEndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=WebhookEventType.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("name", "url", "secret", "event_types", "slack_format", "cleared_for_restricted", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.initial.setdefault("secret", secrets.token_urlsafe(32))

    def clean_url(self):
        from helpdesk.webhooks import webhook_url_check

        url = self.cleaned_data["url"]
        try:
            webhook_url_check(url)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["url"]) from exc
        return url

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("is_active") and self.instance.pk and not self.instance.is_active:
            # Re-enabling starts a fresh count of consecutive failures.
            self.instance.failure_count = 0
            self.instance.disabled_at = None
        return cleaned


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    can_delete = False
    fields = ("created_at", "event_type", "delivery_id", "attempt", "succeeded", "status_code", "error", "duration_ms")
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    max_num = 0


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = (
        "name",
        "url",
        "is_active",
        "failure_count",
        "disabled_at",
        "slack_format",
        "cleared_for_restricted",
    )
    list_filter = ("is_active", "slack_format", "cleared_for_restricted")
    search_fields = ("name", "url")
    readonly_fields = ("failure_count", "disabled_at", "created_at")
    inlines = [WebhookDeliveryInline]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: read-only."""

    list_display = ("created_at", "endpoint", "event_type", "delivery_id", "attempt", "succeeded", "status_code")
    list_filter = ("succeeded", "event_type", "endpoint")
    search_fields = ("delivery_id", "error")
    list_select_related = ("endpoint",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
