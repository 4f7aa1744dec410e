from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from helpdesk.models import (
    Attachment,
    Category,
    InboundMessage,
    Notification,
    Organization,
    Plan,
    ReplyTemplate,
    Team,
    TeamMembership,
    Ticket,
    TicketEvent,
    User,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "role", "organization", "is_available", "is_active")
    list_filter = ("role", "is_available", "is_active", "organization__plan")
    search_fields = ("username", "email", "first_name", "last_name", "organization__name")
    autocomplete_fields = ("organization",)
    fieldsets = (
        *BaseUserAdmin.fieldsets,
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


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "is_active")
    list_filter = ("is_active", "category")
    search_fields = ("name", "body")
