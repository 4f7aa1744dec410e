"""Django admin over the services: state fields are read-only, and every state change is an admin action (or a small
admin form) that calls the same service as the workspace, so events, guards, version checks and recomputes always
happen and a refusal reads exactly as it does in the workspace.

Batch-first: ``admin_apply_each`` runs one service call per row, each in its own savepoint, and reports per row what
was done and what was refused and why; a single-object admin form calls the same service directly.

Every ModelAdmin is an ``AuditedAdminMixin`` (``AuditedModelAdmin``, ``ServiceOnlyAdmin``, the user admin; a test
checks the whole registry): each add, change and delete made in Django admin writes a configuration-change row to
the audit trail through ``helpdesk.admin_audit``, with the changed fields' old and new values and secrets masked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.template.response import TemplateResponse

from helpdesk.admin_audit import admin_audit_change, admin_audit_deletions, admin_form_changes
from helpdesk.services import TicketConflict

# A refusal is any of these raised by a service: the message is shown as is, and nothing of that row is saved.
REFUSALS: tuple[type[Exception], ...] = (ValidationError, PermissionDenied, TicketConflict)


def refusal_text(exc: Exception) -> str:
    """The words a refusal shows: a ValidationError's messages (field names dropped), otherwise the message."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def admin_apply_each(
    *,
    request: HttpRequest,
    objects: Iterable[Any],
    apply: Callable[[Any], str],
    label: Callable[[Any], str] = str,
    refusals: tuple[type[Exception], ...] = (),
) -> tuple[list[str], list[str]]:
    """Call ``apply(obj)`` (a service call returning what it did, in words) for each object in its own savepoint;
    report per object what was done and what was refused. Returns (done, refused) lines."""
    done: list[str] = []
    refused: list[str] = []
    for obj in objects:
        try:
            with transaction.atomic():
                outcome = apply(obj)
        except REFUSALS + refusals as exc:
            refused.append(f"{label(obj)}: {refusal_text(exc)}")
        else:
            done.append(f"{label(obj)}: {outcome}")
    if done:
        messages.success(request, f"Done ({len(done)}): " + "; ".join(done))
    for line in refused:
        messages.error(request, f"Refused — {line}")
    return done, refused


class AuditedAdminMixin:
    """Audits every add, change and delete made through this ModelAdmin. Django admin builds the change message from
    the bound form (which still holds the old values in ``initial``) just before it logs the change; the mixin keeps
    the field-by-field difference on the request and records it with the log entry. ``audit_masked_fields`` names
    extra fields whose values never reach the trail (names with secret, password, token, digest, hash or key in them
    are always masked)."""

    audit_masked_fields: tuple[str, ...] = ()

    def construct_change_message(self, request, form, formsets, add=False):
        message = super().construct_change_message(request, form, formsets, add)
        request._audit_changes = admin_form_changes(form=form, formsets=formsets or (), masked=self.audit_masked_fields)
        return message

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        admin_audit_change(request=request, obj=obj, operation="added", changes=_take_changes(request))
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        admin_audit_change(request=request, obj=obj, operation="changed", changes=_take_changes(request))
        return entry

    def log_deletions(self, request, queryset):
        entries = super().log_deletions(request, queryset)
        admin_audit_deletions(request=request, objects=queryset, masked=self.audit_masked_fields)
        return entries


def _take_changes(request) -> dict:
    changes = getattr(request, "_audit_changes", None) or {}
    request._audit_changes = None
    return changes


class AuditedModelAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """The base of every editable configuration admin (plans, teams, categories, reply templates, webhooks...)."""


class ServiceOnlyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """A stateful record: every field is read-only here and rows are created only by the product's services.
    Changes go through admin actions that call the services (see ``admin_apply_each``).

    Nor can such a row be deleted here, not even by a superuser: a ticket's timeline, an escalation's hops, a survey
    or an SLA clock is evidence that reports, audits and the customer's own history rely on, and a delete would cascade
    through it silently. Removing personal data is the job of a data-protection erasure that anonymises and keeps the
    shape (not built yet), never a row delete; closing, cancelling and withdrawing are the services' own state changes."""

    # Extra exception types the app's services raise as refusals (e.g. EscalationConflict).
    refusals: tuple[type[Exception], ...] = ()

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields if not field.auto_created] + [
            field.name for field in self.model._meta.many_to_many
        ]

    def save_model(self, request, obj, form, change):
        # Nothing on the form is editable: never write the row (a full save could overwrite a concurrent change).
        return None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def apply_each(self, request, queryset, *, apply, label=str) -> tuple[list[str], list[str]]:
        return admin_apply_each(request=request, objects=queryset, apply=apply, label=label, refusals=self.refusals)

    def action_with_form(self, request, queryset, **kwargs) -> TemplateResponse | None:
        return admin_action_with_form(self, request, queryset, refusals=self.refusals, **kwargs)


def admin_action_with_form(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset,
    *,
    form_class: type[forms.Form],
    title: str,
    apply: Callable[[Any, dict], str],
    label: Callable[[Any], str] = str,
    refusals: tuple[type[Exception], ...] = (),
) -> TemplateResponse | None:
    """An admin action that first asks for its input (e.g. the new status), then applies it row by row."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        data = form.cleaned_data
        admin_apply_each(
            request=request, objects=queryset, apply=lambda obj: apply(obj, data), label=label, refusals=refusals
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "form": form,
        "queryset": queryset,
        "action": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "rows": [label(obj) for obj in queryset],
    }
    return TemplateResponse(request, "admin/service_action_form.html", context)


class ViewOnlyAdmin(ServiceOnlyAdmin):
    """Viewable only: an append-only log (a ticket's events, the SLA history) or state that one engine alone writes
    (SLA clocks). Not even an admin action changes it."""

    def has_change_permission(self, request, obj=None):
        return False
