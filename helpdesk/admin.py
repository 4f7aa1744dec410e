import secrets

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpdesk import audit, selectors, services
from helpdesk.admin_services import AuditedAdminMixin, AuditedModelAdmin, ServiceOnlyAdmin, ViewOnlyAdmin, refusal_text
from helpdesk.directory import ORGANIZATION_FIELDS, organization_create, organization_update, organization_validate
from helpdesk.forms import TicketUpdateForm
from helpdesk.mfa import mfa_remove
from helpdesk.models import (
    ApiToken,
    Attachment,
    AuditAction,
    AuditEvent,
    BulkActionRun,
    Category,
    InboundMessage,
    LoginFailure,
    Notification,
    Organization,
    Plan,
    Priority,
    ReplyTemplate,
    SavedView,
    SsoIdentity,
    Status,
    Tag,
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
from helpdesk.typing import AuthenticatedHttpRequest

# The admin's login goes through the same lockout and second factor as /login/ and the API; this form adds the code
# field and words its refusal.
admin.site.login_form = AdminSignInForm

# django-otp's own device admins show each secret and a QR code to scan it: an administrator could copy a colleague's
# authenticator. Devices are managed only by their owner (profile page) and reset with the user action below.
for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)


# Django's own group admin, audited like every other (a group's permissions are part of what its members may do).
admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(AuditedAdminMixin, BaseGroupAdmin):
    pass


@admin.register(User)
class UserAdmin(AuditedAdminMixin, BaseUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "role", "organization", "is_available", "is_active")
    list_filter = ("role", "is_available", "is_active", "organization__plan")
    search_fields = ("username", "email", "first_name", "last_name", "organization__name")
    autocomplete_fields = ("organization",)
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Helpdesk", {"fields": ("role", "organization", "phone", "timezone", "is_available")}),
    )
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Helpdesk", {"fields": ("role", "organization", "email")}))
    actions = ["reset_two_step"]

    @admin.action(description="Reset two-step sign-in (lost phone): they set it up again at their next sign-in")
    def reset_two_step(self, request, queryset):
        for user in queryset:
            mfa_remove(user=user, actor=request.user, admin_reset=True, request=request)
        self.message_user(request, f"Two-step sign-in reset for {queryset.count()} user(s).")


@admin.register(Plan)
class PlanAdmin(AuditedModelAdmin):
    list_display = ("name", "code", "rank", "promise", "retention_days")
    search_fields = ("name", "code")


class OrganizationAdminForm(forms.ModelForm):
    """The directory's own rules (``organization_validate``) on the form, so a refusal sits next to its field."""

    class Meta:
        model = Organization
        fields = list(ORGANIZATION_FIELDS)

    def clean(self):
        data = super().clean()
        candidate = Organization(pk=self.instance.pk)
        for name in ORGANIZATION_FIELDS:
            if name in data:
                setattr(candidate, name, data[name])
        if candidate.plan_id is not None:
            organization_validate(candidate)
            for name in ORGANIZATION_FIELDS:
                data[name] = getattr(candidate, name)
        return data


@admin.register(Organization)
class OrganizationAdmin(AuditedModelAdmin):
    """Saved through ``helpdesk.directory`` (the API's services); the mixin audits the form's changes."""

    form = OrganizationAdminForm
    list_display = ("name", "plan", "email_domain", "timezone")
    list_filter = ("plan",)
    search_fields = ("name", "email_domain")
    autocomplete_fields = ("plan",)

    def save_model(self, request, obj, form, change):
        fields = {name: getattr(obj, name) for name in ORGANIZATION_FIELDS}
        if change:
            saved = organization_update(actor=request.user, organization=obj, audit_it=False, **fields)
        else:
            saved = organization_create(actor=request.user, audit_it=False, **fields)
        obj.pk = saved.pk


@admin.register(Category)
class CategoryAdmin(AuditedModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Tag)
class TagAdmin(AuditedModelAdmin):
    """Rename or merge-by-hand; tickets are tagged through ``helpdesk.tags`` (workspace and bulk action)."""

    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Team)
class TeamAdmin(AuditedModelAdmin):
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


class TicketStatusActionForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices, label="New status")


class TicketPriorityActionForm(forms.Form):
    priority = forms.ChoiceField(choices=Priority.choices, label="New priority")


class TicketTeamActionForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.all(), label="Team")


def _ticket_label(ticket: Ticket) -> str:
    return ticket.reference


@admin.register(Ticket)
class TicketAdmin(ServiceOnlyAdmin):
    """Every ticket field is read-only here: status, priority, category, team and assignee change on the
    "Change properties" page or through the bulk actions, which call the workspace's services (events, status guards,
    version check, SLA recompute); tickets are created only through ``ticket_create``."""

    list_display = ("reference", "subject", "organization", "status", "priority", "team", "assignee", "created_at")
    list_filter = ("status", "priority", "channel", "tier", "restricted", "is_emergency", "team", "category")
    search_fields = ("reference", "subject", "customer__email", "customer__username", "organization__name")
    date_hierarchy = "created_at"
    list_select_related = ("organization", "team", "assignee")
    inlines = [TicketEventInline]
    change_form_template = "admin/helpdesk/ticket/change_form.html"
    actions = ["change_status", "change_priority", "assign_to_team"]

    def get_queryset(self, request):
        # The admin is a list too: restricted tickets follow the same visibility rule as every other screen.
        return selectors.tickets_visible_to(request.user)

    def get_urls(self):
        view = self.admin_site.admin_view(self.properties_view)
        return [path("<path:object_id>/properties/", view, name="helpdesk_ticket_properties"), *super().get_urls()]

    def properties_view(self, request: AuthenticatedHttpRequest, object_id: str) -> HttpResponse:
        """The admin's one-ticket edit: the workspace's form and ``ticket_update`` with the version the admin saw."""
        found = self.get_object(request, object_id)
        if found is None:
            raise Http404("No such ticket.")
        ticket: Ticket = found
        if not self.has_change_permission(request, ticket):
            raise PermissionDenied
        status = 200
        if request.method == "POST":
            form = TicketUpdateForm(request.POST)
            if form.is_valid():
                try:
                    changed = services.ticket_update(ticket=ticket, actor=request.user, **form.update_arguments())
                except services.TicketConflict as conflict:
                    # Nothing was saved: show the current state with its new version, as the workspace does.
                    messages.error(request, str(conflict))
                    ticket, form, status = conflict.ticket, _ticket_update_form(conflict.ticket), 409
                except ValidationError as exc:
                    messages.error(request, refusal_text(exc))
                    ticket = self.get_object(request, object_id) or ticket
                    status = 400
                else:
                    messages.success(request, f"Saved: {', '.join(changed)}." if changed else "Nothing changed.")
                    return redirect("admin:helpdesk_ticket_change", ticket.pk)
            else:
                status = 400
        else:
            form = _ticket_update_form(ticket)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change properties of {ticket.reference}",
            "opts": self.model._meta,
            "original": ticket,
            "form": form,
        }
        return TemplateResponse(request, "admin/helpdesk/ticket/properties.html", context, status=status)

    @admin.action(description="Change status of the selected tickets…")
    def change_status(self, request, queryset):
        def apply(ticket: Ticket, data: dict) -> str:
            old = ticket.get_status_display()
            services.ticket_change_status(
                ticket=ticket, actor=request.user, status=data["status"], expected_version=ticket.version
            )
            return f"{old} → {ticket.get_status_display()}"

        return self.action_with_form(
            request,
            queryset,
            form_class=TicketStatusActionForm,
            title="Change status",
            apply=apply,
            label=_ticket_label,
        )

    @admin.action(description="Change priority of the selected tickets…")
    def change_priority(self, request, queryset):
        def apply(ticket: Ticket, data: dict) -> str:
            old = ticket.get_priority_display()
            services.ticket_change_priority(
                ticket=ticket, actor=request.user, priority=data["priority"], expected_version=ticket.version
            )
            return f"priority {old} → {ticket.get_priority_display()}"

        return self.action_with_form(
            request,
            queryset,
            form_class=TicketPriorityActionForm,
            title="Change priority",
            apply=apply,
            label=_ticket_label,
        )

    @admin.action(description="Assign the selected tickets to a team…")
    def assign_to_team(self, request, queryset):
        def apply(ticket: Ticket, data: dict) -> str:
            team = data["team"]
            # The assignee stays only if they belong to the new team (the service refuses a non-member).
            keep = (
                ticket.assignee if ticket.assignee and team.memberships.filter(user=ticket.assignee).exists() else None
            )
            services.ticket_assign(
                ticket=ticket, actor=request.user, team=team, assignee=keep, expected_version=ticket.version
            )
            return f"assigned to {team.name}" + (f" ({keep.display_name})" if keep else "")

        return self.action_with_form(
            request, queryset, form_class=TicketTeamActionForm, title="Assign to team", apply=apply, label=_ticket_label
        )


def _ticket_update_form(ticket: Ticket) -> TicketUpdateForm:
    return TicketUpdateForm(
        initial={
            "version": ticket.version,
            "status": ticket.status,
            "priority": ticket.priority,
            "category": ticket.category_id,
            "team": ticket.team_id,
            "assignee": ticket.assignee_id,
        }
    )


@admin.register(TicketEvent)
class TicketEventAdmin(ViewOnlyAdmin):
    list_display = ("created_at", "ticket", "kind", "actor", "is_public")
    list_filter = ("kind", "is_public")
    search_fields = ("ticket__reference", "body")
    list_select_related = ("ticket", "actor")


@admin.register(AuditEvent)
class AuditEventAdmin(ViewOnlyAdmin):
    list_display = ("created_at", "action", "actor_label", "target_type", "target_id", "ip_address")
    list_filter = ("action",)
    search_fields = ("actor_label", "target_id")


@admin.register(Attachment)
class AttachmentAdmin(ServiceOnlyAdmin):
    """Read-only: uploaded with a reply or note, whose public/internal choice decides who may see the file."""

    list_display = ("original_name", "ticket", "content_type", "size", "is_public", "created_at")
    list_filter = ("content_type", "is_public")
    search_fields = ("original_name", "ticket__reference")


@admin.register(Notification)
class NotificationAdmin(ServiceOnlyAdmin):
    """The outbox, read-only: rows are written by ``notification_enqueue`` in the sender's transaction and moved only
    by the delivery worker (claim, send, back-off, give up)."""

    list_display = ("created_at", "channel", "status", "kind", "recipient", "to_address", "attempts", "sent_at")
    list_filter = ("channel", "status", "kind")
    search_fields = ("subject", "to_address", "recipient__username")


@admin.register(InboundMessage)
class InboundMessageAdmin(AuditedModelAdmin):
    list_display = ("received_at", "status", "from_address", "subject", "ticket", "mailbox")
    list_filter = ("status", "mailbox")
    search_fields = ("message_id", "from_address", "subject", "ticket__reference")
    readonly_fields = ("message_id", "mailbox", "from_address", "subject", "status", "reason", "ticket", "received_at")

    def has_add_permission(self, request):
        return False


# --- API tokens, sign-in lockout, webhooks ------------------------------------------------------------------------


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedModelAdmin):
    """Tokens are created by their owner on the profile page; here an administrator can only see and revoke."""

    list_display = ("name", "user", "prefix", "read_only", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "read_only")
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("user", "name", "prefix", "read_only", "created_at", "last_used_at", "revoked_at")
    exclude = ("digest",)
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens (effective at once)")
    def revoke(self, request, queryset):
        live = list(queryset.filter(revoked_at__isnull=True))
        count = queryset.filter(pk__in=[token.pk for token in live]).update(revoked_at=timezone.now())
        for token in live:
            audit.record(
                AuditAction.CONFIG_CHANGED,
                actor=request.user,
                target=token,
                target_type=token._meta.label_lower,
                request=request,
                detail={"operation": "revoked", "model": token._meta.label_lower, "object": token.name},
            )
        self.message_user(request, f"{count} token(s) revoked.")


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(AuditedModelAdmin):
    list_display = ("name", "category", "is_active")
    list_filter = ("is_active", "category")
    search_fields = ("name", "body")


@admin.register(SavedView)
class SavedViewAdmin(AuditedModelAdmin):
    """Views are saved from the queue (their query is rebuilt from the queue's allowlist there, so it is read-only
    here); an administrator may rename, move or delete one."""

    list_display = ("name", "team", "owner", "updated_at")
    list_filter = ("team",)
    search_fields = ("name", "owner__username")
    readonly_fields = ("owner", "query", "created_at", "updated_at")

    def has_add_permission(self, request):
        return False


@admin.register(BulkActionRun)
class BulkActionRunAdmin(ViewOnlyAdmin):
    list_display = ("created_at", "actor", "label", "done_count", "refused_count")
    list_filter = ("action",)


@admin.register(LoginFailure)
class LoginFailureAdmin(AuditedModelAdmin):
    list_display = ("username", "failures", "locked_until", "last_failure_at")
    search_fields = ("username",)
    actions = ["unlock"]

    @admin.action(description="Unlock the selected usernames")
    def unlock(self, request, queryset):
        for row in queryset:
            audit.record(
                AuditAction.CONFIG_CHANGED,
                actor=request.user,
                target=row,
                target_type=row._meta.label_lower,
                request=request,
                detail={"operation": "unlocked", "model": row._meta.label_lower, "object": row.username},
            )
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
class WebhookEndpointAdmin(AuditedModelAdmin):
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
class WebhookDeliveryAdmin(AuditedModelAdmin):
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


# --- single sign-on -----------------------------------------------------------------------------------------------


@admin.register(SsoIdentity)
class SsoIdentityAdmin(AuditedModelAdmin):
    """Links an existing staff account to its person at the identity provider (issuer and ``sub``), which SSO
    never does by email on its own; deleting the link stops that account's SSO sign-ins."""

    list_display = ("user", "issuer", "subject", "created_at", "last_sign_in_at")
    search_fields = ("user__username", "user__email", "subject")
    raw_id_fields = ("user",)
    readonly_fields = ("created_at", "last_sign_in_at")
