"""KB fixtures: articles built through the real services (written by their owner, published by a manager)."""

from __future__ import annotations

import pytest

from knowledge_base.models import ArticleStatus, ArticleVisibility


@pytest.fixture
def make_article(manager, categories):
    from knowledge_base.services import article_create, article_set_status

    def make(
        *,
        title: str,
        body: str = "Some helpful text.",
        category: str | None = "billing",
        visibility: str = ArticleVisibility.PUBLIC,
        tags: str = "",
        status: str = ArticleStatus.PUBLISHED,
        owner=None,
    ):
        owner = owner or manager
        article = article_create(
            actor=owner,
            title=title,
            body=body,
            category=categories[category] if category else None,
            visibility=visibility,
            tags=tags,
        )
        if status in (ArticleStatus.IN_REVIEW, ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED):
            article_set_status(article=article, actor=owner, status=ArticleStatus.IN_REVIEW)
        if status in (ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED):
            article_set_status(article=article, actor=manager, status=ArticleStatus.PUBLISHED)
        if status == ArticleStatus.ARCHIVED:
            article_set_status(article=article, actor=manager, status=ArticleStatus.ARCHIVED)
        article.refresh_from_db()
        return article

    return make


@pytest.fixture
def kb_set(make_article, agent):
    """One article of each visibility/status kind, all about refunds so every search finds all of them."""
    return {
        "public": make_article(title="Refund for a duplicate charge", body="How refunds work for customers."),
        "internal": make_article(
            title="Refund approval limits", body="Refund limits for staff only.", visibility=ArticleVisibility.INTERNAL
        ),
        "draft": make_article(title="Refund draft", body="Unfinished refund text.", status=ArticleStatus.DRAFT),
        "agent_draft": make_article(
            title="Refund notes by an agent", body="Refund notes.", status=ArticleStatus.DRAFT, owner=agent
        ),
        "review": make_article(title="Refund in review", body="Refund text.", status=ArticleStatus.IN_REVIEW),
        "archived": make_article(title="Refund archived", body="Old refund text.", status=ArticleStatus.ARCHIVED),
    }
