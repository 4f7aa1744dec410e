"""Knowledge-base articles, their history, reader feedback, improvement proposals and usage records.

Who may see what is decided in ``selectors.articles_visible_to``; writes (which also keep the rendered HTML and the
search columns up to date) are in ``services.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from helpdesk.models import Category, Ticket


class ArticleVisibility(models.TextChoices):
    INTERNAL = "internal", "Internal (staff only)"
    PUBLIC = "public", "Public (customers too)"


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class ArticleOrigin(models.TextChoices):
    MANUAL = "manual", "Written by hand"
    ESCALATION = "escalation", "From an escalation"
    RCA = "rca", "From a root-cause analysis"


class ArticleQuerySet(models.QuerySet["Article"]):
    def published(self) -> ArticleQuerySet:
        return self.filter(status=ArticleStatus.PUBLISHED)

    def public(self) -> ArticleQuerySet:
        return self.filter(visibility=ArticleVisibility.PUBLIC)

    def in_category(self, category: Category | None) -> ArticleQuerySet:
        return self.filter(category=category) if category else self

    def with_list_related(self) -> ArticleQuerySet:
        return self.select_related("category", "owner")


class Article(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown. Raw HTML is sanitised: scripts, event handlers and unsafe links go.")
    body_html = models.TextField(blank=True, editable=False, help_text="The sanitised rendering of the body.")
    body_text = models.TextField(blank=True, editable=False, help_text="Plain text of the body: snippets, search.")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="articles")
    visibility = models.CharField(max_length=10, choices=ArticleVisibility.choices, default=ArticleVisibility.INTERNAL)
    status = models.CharField(max_length=12, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="kb_articles"
    )
    tags = models.CharField(max_length=250, blank=True, help_text="Comma-separated keywords.")
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    origin = models.CharField(max_length=12, choices=ArticleOrigin.choices, default=ArticleOrigin.MANUAL)
    source_ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source_escalation = models.ForeignKey(
        "escalations.Escalation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    helpful_count = models.PositiveIntegerField(default=0, editable=False)
    unhelpful_count = models.PositiveIntegerField(default=0, editable=False)
    # PostgreSQL only (weighted title A, tags B, body C; GIN-indexed by migration 0002). Stays NULL on SQLite,
    # where search ranks with LIKE and per-column weights instead.
    search_vector = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        indexes = [
            models.Index(fields=["category", "status"], name="kb_article_category_status"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source_escalation"],
                condition=Q(source_escalation__isnull=False),
                name="kb_one_article_per_escalation",
            ),
            models.UniqueConstraint(
                fields=["source_ticket"], condition=Q(origin="rca"), name="kb_one_rca_article_per_ticket"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def tag_list(self) -> list[str]:
        return [tag.strip() for tag in self.tags.split(",") if tag.strip()]

    @property
    def is_published(self) -> bool:
        return self.status == ArticleStatus.PUBLISHED

    @property
    def is_public(self) -> bool:
        return self.visibility == ArticleVisibility.PUBLIC

    @property
    def vote_total(self) -> int:
        return self.helpful_count + self.unhelpful_count

    @property
    def helpful_ratio(self) -> float | None:
        return self.helpful_count / self.vote_total if self.vote_total else None


class ArticleRevision(models.Model):
    """An immutable snapshot of an article's content, written by every content change."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    tags = models.CharField(max_length=250, blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    visibility = models.CharField(max_length=10, choices=ArticleVisibility.choices)
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=250, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["article", "-number"]
        constraints = [models.UniqueConstraint(fields=["article", "number"], name="kb_unique_revision_number")]

    def __str__(self) -> str:
        return f"{self.article_id} r{self.number}"


class ArticleVote(models.Model):
    """One helpful / not helpful mark per reader and article (the database enforces it)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="kb_votes")
    helpful = models.BooleanField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "user"], name="kb_one_vote_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id} {'+' if self.helpful else '-'} {self.article_id}"


class ProposalKind(models.TextChoices):
    EDIT = "edit", "Suggested edit"
    COMMENT = "comment", "Comment"


class ProposalStatus(models.TextChoices):
    PENDING = "pending", "Waiting for review"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"


class ArticleProposal(models.Model):
    """An agent's suggested improvement, waiting in the article owner's review queue."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="proposals")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=10, choices=ProposalKind.choices)
    proposed_title = models.CharField(max_length=200, blank=True)
    proposed_body = models.TextField(blank=True)
    comment = models.TextField(blank=True)
    base_revision = models.PositiveIntegerField(help_text="The revision the author was looking at.")
    is_stale: bool  # not a column: set by the review queue view (the article moved on since base_revision)
    status = models.CharField(max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.TextField(blank=True)
    resulting_revision = models.ForeignKey(
        ArticleRevision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="kb_proposal_queue")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.article_id}"


class Deflection(models.Model):
    """A customer opened an article that was suggested to them while they described a problem.

    What is recorded, exactly:
    - a row is written (server side, once per session and article) when a *customer* requests the article page with
      ``?from=suggest``, the marker carried only by the links of the suggestion widget (``kb/suggest/``);
    - ``confirmed_at`` is set when they press "Yes, this solved my problem" (POST + CSRF);
    - ``ticket`` is set when the same customer submits a ticket within ``services.DEFLECTION_WINDOW`` (24 h) of
      opening it: they were not deflected ("submitted anyway").

    What counts as a deflection: a row whose window has passed with no ticket (``is_deflection`` once settled;
    ``selectors.deflection_stats``). This is an estimate, and it errs both ways: a customer who read, gave up and
    never came back counts as deflected (confirmed rows are the conservative lower bound), and a ticket about an
    unrelated problem within 24 h cancels a genuine deflection. No browser beacon is used: leaving the page is
    not observable reliably, and the absence of a ticket is what matters.
    """

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="deflections")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    session_key = models.CharField(max_length=64)
    query = models.CharField(max_length=500, blank=True)
    opened_at = models.DateTimeField(default=timezone.now, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True, help_text="The customer said it solved the problem.")
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="Submitted anyway."
    )

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["session_key", "article"], name="kb_one_deflection_per_session_article")
        ]

    def __str__(self) -> str:
        return f"{self.article_id} opened by {self.user_id}"

    @property
    def is_deflection(self) -> bool:
        return self.ticket_id is None


class ArticleUse(models.Model):
    """An agent resolved (or answered) a ticket with this article."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="uses")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="kb_uses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["article", "ticket"], name="kb_one_use_per_ticket")]

    def __str__(self) -> str:
        return f"{self.article_id} used on {self.ticket_id}"
