"""Knowledge-base articles, their history, reader feedback, improvement proposals and usage records.

Who may see what is decided in ``selectors.articles_visible_to``; writes (which also keep the rendered HTML and the
search columns up to date) are in ``services.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Category, Ticket

# The help centre's path part for articles without a category (a category may not take this slug).
HELP_UNCATEGORISED_SLUG = "general"


def article_slug_for(title: str, *, exclude_pk: int | None = None) -> str:
    """A unique slug from a title: ``refund-for-a-duplicate-charge``, then ``-2``, ``-3`` for clashes."""
    base = slugify(title)[:80].strip("-") or "article"
    others = Article.objects.filter(slug__startswith=base)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    taken = set(others.values_list("slug", flat=True))
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


class ArticleVisibility(models.TextChoices):
    INTERNAL = "internal", _("Internal (staff only)")
    PUBLIC = "public", _("Public (customers too)")


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class ArticleOrigin(models.TextChoices):
    MANUAL = "manual", _("Written by hand")
    ESCALATION = "escalation", _("From an escalation")
    RCA = "rca", _("From a root-cause analysis")


class ArticleQuerySet(models.QuerySet["Article"]):
    def published(self) -> ArticleQuerySet:
        return self.filter(status=ArticleStatus.PUBLISHED)

    def public(self) -> ArticleQuerySet:
        return self.filter(visibility=ArticleVisibility.PUBLIC)

    def customer_visible(self) -> ArticleQuerySet:
        """What customers may read, signed in or not (the help centre): published and public. The one home of
        that rule: ``selectors.articles_visible_to`` (customers) and ``selectors.articles_public`` (anonymous
        readers) both call it."""
        return self.published().public()

    def in_category(self, category: Category | None) -> ArticleQuerySet:
        return self.filter(category=category) if category else self

    def with_list_related(self) -> ArticleQuerySet:
        return self.select_related("category", "owner")


class Article(models.Model):
    title = models.CharField(max_length=200)
    # The help centre's readable, id-independent URL part. Set once from the first title and kept on rename, so a
    # link that customers bookmarked or search engines indexed keeps working; unique across all articles.
    slug = models.SlugField(max_length=90, unique=True, null=True, blank=True, editable=False)
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
            # The public help centre reads only published public rows: its topic counts, topic pages and "most
            # helpful" list are index scans of these, never scans of the whole (wide) article table.
            models.Index(
                "category",
                F("helpful_count").desc(),
                "title",
                condition=Q(status="published", visibility="public"),
                name="kb_public_by_category",
            ),
            models.Index(
                F("helpful_count").desc(),
                "title",
                condition=Q(status="published", visibility="public"),
                name="kb_public_most_helpful",
            ),
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

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = article_slug_for(self.title, exclude_pk=self.pk)
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "slug"}
        super().save(*args, **kwargs)

    @property
    def help_category_slug(self) -> str:
        return self.category.slug if self.category_id and self.category else HELP_UNCATEGORISED_SLUG

    def get_help_url(self) -> str:
        """The public help-centre address (the canonical link of a customer-visible article)."""
        return reverse("help_article", args=[self.help_category_slug, self.slug or str(self.pk)])

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
    """One helpful / not helpful mark per reader and article (the database enforces it). A reader is a signed-in
    user, or an anonymous help-centre visitor known by the random token of their signed visitor cookie."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="kb_votes"
    )
    visitor = models.CharField(max_length=64, blank=True, help_text="Anonymous visitor token (help centre).")
    helpful = models.BooleanField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "user"], name="kb_one_vote_per_user"),
            models.UniqueConstraint(
                fields=["article", "visitor"], condition=~Q(visitor=""), name="kb_one_vote_per_visitor"
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False, visitor="") | Q(user__isnull=True) & ~Q(visitor=""),
                name="kb_vote_by_user_or_visitor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id or 'visitor'} {'+' if self.helpful else '-'} {self.article_id}"


class ProposalKind(models.TextChoices):
    EDIT = "edit", _("Suggested edit")
    COMMENT = "comment", _("Comment")


class ProposalStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


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

    Anonymous help-centre visitors are counted the same way: their ``session_key`` is ``visitor:<token>``, the
    random token of their signed visitor cookie (``knowledge_base.help_centre``), set when they open a suggestion
    from the contact form; ``ticket`` is set when a contact request carrying that token is confirmed and becomes a
    ticket (the token travels with the stored request, so confirming from another device still counts).

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


class HelpRequest(models.Model):
    """A "contact us" request from the public help centre, waiting for its sender to confirm their email address.

    Kept server side rather than inside the signed link: the link then carries only ``(id, nonce)``, so the
    visitor's text never travels in a URL (mail clients and proxies log URLs, and long ones get cut), and the row is
    the state that makes confirmation exactly-once (``ticket`` is set under a row lock; a second click finds it).
    Unconfirmed rows are deleted once their link has expired (``services.help_requests_purge``).
    """

    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=150, blank=True)
    subject = models.CharField(max_length=200)
    description = models.TextField()
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    nonce = models.CharField(max_length=32, help_text="Random; the signed link must name it.")
    visitor = models.CharField(max_length=64, blank=True, help_text="The sender's visitor token (deflections).")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email}: {self.subject}"
