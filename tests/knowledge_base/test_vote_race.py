"""On PostgreSQL (real row locks): the same reader voting twice at the same moment still leaves one vote."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from knowledge_base.models import Article, ArticleVote
from knowledge_base.services import article_vote

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_votes_by_one_reader_leave_one_row(make_article, customer):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    # given
    article = make_article(title="Resetting your password")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def vote(helpful: bool) -> None:
        try:
            barrier.wait()
            article_vote(article=article, user=customer, helpful=helpful)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    # when
    threads = [threading.Thread(target=vote, args=(helpful,)) for helpful in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert errors == []
    assert ArticleVote.objects.filter(article=article, user=customer).count() == 1
    article = Article.objects.get(pk=article.pk)
    assert article.helpful_count + article.unhelpful_count == 1
