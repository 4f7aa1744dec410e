"""On PostgreSQL (real row locks): the same reader voting twice at the same moment still leaves one vote."""

from __future__ import annotations

import pytest
from django.db import connection

from knowledge_base.models import Article, ArticleVote
from knowledge_base.services import article_vote
from tests.threads import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_votes_by_one_reader_leave_one_row(make_article, customer):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    # given
    article = make_article(title="Resetting your password")
    # when
    run_threads(
        lambda: article_vote(article=article, user=customer, helpful=True),
        lambda: article_vote(article=article, user=customer, helpful=False),
    )
    # then (run_threads fails the test if either vote raised)
    assert ArticleVote.objects.filter(article=article, user=customer).count() == 1
    article = Article.objects.get(pk=article.pk)
    assert article.helpful_count + article.unhelpful_count == 1
