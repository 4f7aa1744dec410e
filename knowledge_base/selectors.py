"""Reads, and the one authorisation layer for articles.

``articles_visible_to(user)`` is the only way any list, search, suggestion, count or detail page reaches articles:
- customers see published, public articles only (``Article.objects.customer_visible()``), and so do anonymous
  readers of the public help centre, through ``articles_public()``: the same queryset method, so the two can never
  disagree about what is internal;
- staff see every published article (internal ones too) and their own articles in any status;
- editors (managers and admins) see everything, drafts and archived articles included.
Detail pages fetch through ``article_get_for_user`` and answer 404 on a miss.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, F, Q, QuerySet
from django.http import Http404

from helpdesk.models import Category, Ticket, User
from knowledge_base.hooks import escalation_demand
from knowledge_base.models import (
    Article,
    ArticleProposal,
    ArticleQuerySet,
    ArticleStatus,
    ArticleVote,
    Deflection,
    ProposalStatus,
)
from knowledge_base.search import SearchHit, articles_search

SUGGESTION_LIMIT = 5


def user_is_kb_editor(user: User) -> bool:
    return bool(user.is_authenticated and user.can_edit_kb)


def user_can_edit_article(*, user: User, article: Article) -> bool:
    return user_is_kb_editor(user) or bool(
        user.is_authenticated and user.is_staff_member and article.owner_id == user.pk
    )


def articles_visible_to(user: User) -> ArticleQuerySet:
    if not user.is_authenticated or not user.is_active:
        return Article.objects.none()
    if user_is_kb_editor(user):
        return Article.objects.all()
    if user.is_staff_member:
        return Article.objects.filter(Q(status=ArticleStatus.PUBLISHED) | Q(owner_id=user.pk))
    if user.is_customer:
        return Article.objects.customer_visible()
    return Article.objects.none()


def articles_public() -> ArticleQuerySet:
    """What the public help centre may show anyone, signed in or not: exactly what customers see. Every help-centre
    list, search, count, suggestion, sitemap entry and article page starts here."""
    return Article.objects.customer_visible()


def article_get_for_user(*, user: User, pk: int) -> Article:
    article = articles_visible_to(user).with_list_related().filter(pk=pk).first()
    if article is None:
        raise Http404("No such article.")
    return article


def articles_list(*, user: User, category: Category | None = None, status: str = "") -> QuerySet[Article]:
    qs = articles_visible_to(user).with_list_related().in_category(category)
    if status:
        qs = qs.filter(status=status)
    elif not user_is_kb_editor(user):
        qs = qs.published()
    return qs.order_by("category__name", "title")


def articles_search_for_user(
    *, user: User, query: str, category: Category | None = None, limit: int = 20, published_only: bool = True
) -> list[SearchHit]:
    qs = articles_visible_to(user).in_category(category)
    if published_only:
        qs = qs.published()
    return articles_search(queryset=qs, query=query, limit=limit)


def articles_count_for_user(*, user: User, category: Category | None = None) -> int:
    return articles_visible_to(user).published().in_category(category).count()


def articles_suggest(*, user: User | None, text: str, limit: int = SUGGESTION_LIMIT) -> list[SearchHit]:
    """What a customer (or agent) describing a problem should read first: published, visible, best first.
    ``user=None`` is an anonymous help-centre visitor (the contact form): public articles only."""
    queryset = articles_public() if user is None else articles_visible_to(user).published()
    return articles_search(queryset=queryset, query=text, limit=limit)


def articles_for_ticket(*, ticket: Ticket, user: User, limit: int = SUGGESTION_LIMIT) -> list[SearchHit]:
    """Published articles for a ticket's text, its category's articles ranked higher; the best-rated articles of
    the category fill the list when the text finds too few."""
    visible = articles_visible_to(user).published()
    hits = articles_search(
        queryset=visible,
        query=f"{ticket.subject} {ticket.description[:2000]}",
        limit=limit,
        boost_category_id=ticket.category_id,
    )
    if len(hits) < limit and ticket.category_id:
        from knowledge_base.search import highlight, snippet

        seen = {hit.article.pk for hit in hits}
        for article in (
            visible.filter(category_id=ticket.category_id)
            .exclude(pk__in=seen)
            .with_list_related()
            .order_by("-helpful_count", "title")[: limit - len(hits)]
        ):
            hits.append(
                SearchHit(
                    article=article,
                    score=0.0,
                    title_html=highlight(article.title, []),
                    snippet_html=snippet(article.body_text, []),
                )
            )
    return hits


def articles_for_escalation(*, ticket: Ticket, user: User, limit: int = SUGGESTION_LIMIT) -> list[SearchHit]:
    """ "Before you escalate": the same suggestions as the workspace, for the escalate form."""
    return articles_for_ticket(ticket=ticket, user=user, limit=limit)


def article_vote_of(*, user: User, article: Article) -> ArticleVote | None:
    if not user.is_authenticated:
        return None
    return ArticleVote.objects.filter(article=article, user=user).first()


# --- the public help centre (anonymous readers) ----------------------------------------------------------------


def help_topic_counts() -> dict[int | None, int]:
    """Public articles per category id (``None``: without a category). Internal articles never count."""
    return dict(
        articles_public().order_by().values_list("category").annotate(n=Count("*")).values_list("category", "n")
    )


def help_categories(*, counts: dict[int | None, int] | None = None) -> list[Category]:
    """Categories that have public articles, each with ``article_count`` (internal articles never count)."""
    counts = help_topic_counts() if counts is None else counts
    categories = list(Category.objects.filter(pk__in=[pk for pk in counts if pk is not None]).order_by("name"))
    for category in categories:
        category.article_count = counts[category.pk]  # type: ignore[attr-defined]  # an annotation for the page
    return categories


def help_articles_list(*, category: Category | None = None) -> QuerySet[Article]:
    """Titles for lists (the text columns are left out: lists never show them), most helpful first."""
    return (
        articles_public()
        .select_related("category")
        .in_category(category)
        .defer("body", "body_html", "body_text", "search_vector")
        .order_by("-helpful_count", "title")
    )


def help_articles_search(*, query: str, category: Category | None = None, limit: int = 30) -> list[SearchHit]:
    return articles_search(queryset=articles_public().in_category(category), query=query, limit=limit)


def help_articles_count(*, category: Category | None = None) -> int:
    return articles_public().in_category(category).count()


def help_article_get(*, slug: str) -> Article:
    """A public article by its stable slug (the category part of the URL is checked by the view); 404 otherwise,
    so an internal, draft or archived article is indistinguishable from one that never existed."""
    match = Q(slug=slug)
    if slug.isdigit():  # a row written around the services (a bulk import) has no slug yet: its URL uses the id
        match |= Q(slug__isnull=True, pk=int(slug))
    article = articles_public().select_related("category").filter(match).first()
    if article is None:
        raise Http404("No such article.")
    return article


def help_article_vote_of(*, article: Article, visitor: str) -> ArticleVote | None:
    if not visitor:
        return None
    return ArticleVote.objects.filter(article=article, visitor=visitor).first()


def proposals_for_reviewer(user: User) -> QuerySet[ArticleProposal]:
    """The review queue: pending proposals on my articles (editors: on every article they can see)."""
    qs = ArticleProposal.objects.filter(status=ProposalStatus.PENDING).select_related("article", "author")
    if user_is_kb_editor(user):
        return qs.order_by("created_at")
    if not user.is_authenticated or not user.is_staff_member:
        return qs.none()
    return qs.filter(article__owner=user).order_by("created_at")


def proposal_get_for_reviewer(*, user: User, pk: int) -> ArticleProposal:
    proposal = proposals_for_reviewer(user).filter(pk=pk).first()
    if proposal is None:
        raise Http404("No such proposal.")
    return proposal


def article_revisions(*, article: Article):
    return article.revisions.select_related("editor").order_by("-number")


# --- health ------------------------------------------------------------------------------------------------------


def articles_not_reviewed_since(*, user: User, before: datetime) -> QuerySet[Article]:
    return (
        articles_visible_to(user)
        .published()
        .filter(Q(last_reviewed_at__lt=before) | Q(last_reviewed_at__isnull=True))
        .with_list_related()
        .order_by(F("last_reviewed_at").asc(nulls_first=True), "title")
    )


def articles_low_helpfulness(*, user: User, min_votes: int = 3, max_ratio: float = 0.5) -> list[Article]:
    qs = (
        articles_visible_to(user)
        .published()
        .annotate(vote_sum=F("helpful_count") + F("unhelpful_count"))
        .filter(vote_sum__gte=min_votes)
        .with_list_related()
    )
    low = [a for a in qs if a.helpful_ratio is not None and a.helpful_ratio < max_ratio]
    return sorted(low, key=lambda a: (a.helpful_ratio, -a.vote_total))


def category_gaps(*, since: datetime, max_articles: int = 2) -> list[dict]:
    """Categories that escalate often but have few published articles: escalations per category since ``since``
    (as reported by the apps registered in ``knowledge_base.hooks``)."""
    escalations = escalation_demand(since=since)
    articles = dict(
        Article.objects.published()
        .filter(category__isnull=False)
        .values_list("category")
        .annotate(n=Count("pk"))
        .values_list("category", "n")
    )
    rows = []
    for category in Category.objects.filter(pk__in=escalations.keys()):
        count = articles.get(category.pk, 0)
        if count <= max_articles:
            rows.append({"category": category, "escalations": escalations[category.pk], "articles": count})
    return sorted(rows, key=lambda r: (-r["escalations"] / (r["articles"] + 1), r["category"].name))


def deflection_stats(*, now: datetime, since: datetime, window: timedelta) -> dict:
    """Deflections are counted only once their window has passed without a ticket (see ``Deflection``)."""
    opened = Deflection.objects.filter(opened_at__gte=since)
    settled = opened.filter(opened_at__lte=now - window)
    return {
        "opened": opened.count(),
        "deflected": settled.filter(ticket__isnull=True).count(),
        "submitted_anyway": opened.filter(ticket__isnull=False).count(),
        "confirmed": opened.filter(confirmed_at__isnull=False, ticket__isnull=True).count(),
        "pending": opened.filter(ticket__isnull=True, opened_at__gt=now - window).count(),
    }
