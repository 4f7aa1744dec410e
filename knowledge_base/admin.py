from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect

from helpdesk.admin_services import AuditedModelAdmin, ServiceOnlyAdmin, admin_action_with_form, refusal_text
from knowledge_base.models import (
    Article,
    ArticleProposal,
    ArticleRevision,
    ArticleStatus,
    ArticleUse,
    ArticleVote,
    Deflection,
    HelpRequest,
)
from knowledge_base.services import article_set_status, article_update, proposal_accept, proposal_decline

ARTICLE_STATE_FIELDS = (
    "slug",
    "status",
    "owner",
    "origin",
    "source_ticket",
    "source_escalation",
    "body_html",
    "helpful_count",
    "unhelpful_count",
    "last_reviewed_at",
    "created_at",
    "updated_at",
    "published_at",
)


class RevisionInline(admin.TabularInline):
    model = ArticleRevision
    extra = 0
    fields = ("number", "title", "editor", "note", "created_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


class ArticleStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ArticleStatus.choices, label="New status")


@admin.register(Article)
class ArticleAdmin(AuditedModelAdmin):
    """Browsing and light fixes. Content edits save through ``article_update`` (a new revision, the rendered body and
    the search index kept in step); the status is read-only and moves through ``article_set_status`` (the publish /
    archive rules) with the "Change status" action. New articles are written in the KB screens (``article_create``)."""

    list_display = ("title", "category", "visibility", "status", "owner", "helpful_count", "unhelpful_count")
    list_filter = ("status", "visibility", "category", "origin")
    search_fields = ("title", "tags")
    fields = ("title", "body", "category", "visibility", "tags", *ARTICLE_STATE_FIELDS)
    readonly_fields = ARTICLE_STATE_FIELDS
    inlines = [RevisionInline]
    actions = ["change_status"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        try:
            article_update(
                article=obj,
                actor=request.user,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                category=form.cleaned_data["category"],
                visibility=form.cleaned_data["visibility"],
                tags=form.cleaned_data["tags"],
                note="Edited in admin",
            )
        except (ValidationError, PermissionDenied) as exc:
            request._article_refused = refusal_text(exc)

    def response_change(self, request, obj):
        refused = getattr(request, "_article_refused", None)
        if refused is not None:
            messages.error(request, f"Nothing was saved: {refused}")
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    @admin.action(description="Change status of the selected articles…")
    def change_status(self, request, queryset):
        def apply(article: Article, data: dict) -> str:
            old = article.get_status_display()
            article = article_set_status(article=article, actor=request.user, status=data["status"])
            return f"{old} → {article.get_status_display()}"

        return admin_action_with_form(
            self, request, queryset, form_class=ArticleStatusForm, title="Change status", apply=apply, label=_title
        )


def _title(obj) -> str:
    return str(getattr(obj, "title", None) or getattr(obj, "article", obj))


class ProposalDeclineForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Why (the author reads this)")


@admin.register(ArticleRevision)
class ArticleRevisionAdmin(AuditedModelAdmin):
    list_display = ("article", "number", "editor", "note", "created_at")
    search_fields = ("article__title", "note")
    raw_id_fields = ("article",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ArticleVote)
class ArticleVoteAdmin(ServiceOnlyAdmin):
    """Read-only: a vote moves the article's helpful counters (``article_vote``)."""

    list_display = ("article", "user", "visitor", "helpful", "updated_at")
    list_filter = ("helpful",)


@admin.register(HelpRequest)
class HelpRequestAdmin(ServiceOnlyAdmin):
    """Read-only: contact-form requests from the public help centre; the visitor's confirmation
    (``help_request_confirm``) opens the ticket, and unconfirmed ones are forgotten once their link expires."""

    list_display = ("email", "subject", "created_at", "confirmed_at", "ticket")
    list_filter = ("confirmed_at",)
    search_fields = ("email", "subject")


@admin.register(ArticleProposal)
class ArticleProposalAdmin(ServiceOnlyAdmin):
    """Read-only; accept and decline go through ``proposal_accept`` / ``proposal_decline`` (reviewer check, revision,
    the author told)."""

    list_display = ("article", "kind", "author", "status", "created_at", "decided_by")
    list_filter = ("status", "kind")
    actions = ["accept", "decline"]

    @admin.action(description="Accept the selected proposals")
    def accept(self, request, queryset):
        def apply(proposal: ArticleProposal) -> str:
            proposal_accept(proposal=proposal, actor=request.user)
            return "accepted"

        self.apply_each(request, queryset, apply=apply, label=_title)

    @admin.action(description="Decline the selected proposals…")
    def decline(self, request, queryset):
        def apply(proposal: ArticleProposal, data: dict) -> str:
            proposal_decline(proposal=proposal, actor=request.user, reason=data["reason"])
            return "declined"

        return self.action_with_form(
            request, queryset, form_class=ProposalDeclineForm, title="Decline proposals", apply=apply, label=_title
        )


@admin.register(Deflection)
class DeflectionAdmin(ServiceOnlyAdmin):
    """Read-only: recorded by the help centre."""

    list_display = ("article", "user", "opened_at", "confirmed_at", "ticket")
    list_filter = ("confirmed_at",)


@admin.register(ArticleUse)
class ArticleUseAdmin(ServiceOnlyAdmin):
    """Read-only: recorded from the workspace."""

    list_display = ("article", "ticket", "user", "created_at")
