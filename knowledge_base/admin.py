from django.contrib import admin

from knowledge_base.models import Article, ArticleProposal, ArticleRevision, ArticleUse, ArticleVote, Deflection


class RevisionInline(admin.TabularInline):
    model = ArticleRevision
    extra = 0
    fields = ("number", "title", "editor", "note", "created_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    """Browsing and light fixes; content edits belong in the KB screens, which keep revisions and search in step."""

    list_display = ("title", "category", "visibility", "status", "owner", "helpful_count", "unhelpful_count")
    list_filter = ("status", "visibility", "category", "origin")
    search_fields = ("title", "tags")
    autocomplete_fields = ("owner",)
    raw_id_fields = ("source_ticket", "source_escalation")
    readonly_fields = ("body_html", "helpful_count", "unhelpful_count", "created_at", "updated_at", "published_at")
    inlines = [RevisionInline]


@admin.register(ArticleRevision)
class ArticleRevisionAdmin(admin.ModelAdmin):
    list_display = ("article", "number", "editor", "note", "created_at")
    search_fields = ("article__title", "note")
    raw_id_fields = ("article",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ArticleVote)
class ArticleVoteAdmin(admin.ModelAdmin):
    list_display = ("article", "user", "helpful", "updated_at")
    list_filter = ("helpful",)
    raw_id_fields = ("article", "user")


@admin.register(ArticleProposal)
class ArticleProposalAdmin(admin.ModelAdmin):
    list_display = ("article", "kind", "author", "status", "created_at", "decided_by")
    list_filter = ("status", "kind")
    raw_id_fields = ("article", "author", "decided_by", "resulting_revision")


@admin.register(Deflection)
class DeflectionAdmin(admin.ModelAdmin):
    list_display = ("article", "user", "opened_at", "confirmed_at", "ticket")
    list_filter = ("confirmed_at",)
    raw_id_fields = ("article", "user", "ticket")


@admin.register(ArticleUse)
class ArticleUseAdmin(admin.ModelAdmin):
    list_display = ("article", "ticket", "user", "created_at")
    raw_id_fields = ("article", "ticket", "user")
