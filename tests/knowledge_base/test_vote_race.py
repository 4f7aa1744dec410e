"""On PostgreSQL (real row locks): the same reader (or anonymous visitor) voting twice at the same moment still
leaves one vote; a help-centre confirmation link followed twice at the same moment opens one ticket."""

from __future__ import annotations

import pytest
from django.db import connection

from knowledge_base.models import Article, ArticleVote
from knowledge_base.services import article_vote
from tests.threads import run_threads, run_together

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


def test_concurrent_votes_by_one_anonymous_visitor_leave_one_row(make_article):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    article = make_article(title="Changing your invoice address")
    run_threads(
        lambda: article_vote(article=article, visitor="a" * 32, helpful=True),
        lambda: article_vote(article=article, visitor="a" * 32, helpful=False),
    )
    assert ArticleVote.objects.filter(article=article, visitor="a" * 32).count() == 1


def test_a_confirmation_link_clicked_twice_at_once_opens_one_ticket(org, teams):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    from helpdesk.models import Ticket
    from knowledge_base.services import help_request_confirm, help_request_submit, help_request_token

    # given
    request = help_request_submit(
        email="robin@northwind.test", name="Robin", subject="Wrong VAT", description="The VAT number is wrong."
    )
    token = help_request_token(request)
    # when
    results = run_together(lambda: help_request_confirm(token=token), lambda: help_request_confirm(token=token))
    # then: one opened it, the other was shown the same ticket
    assert Ticket.objects.count() == 1
    assert sorted(created for _, created in results) == [False, True]
    assert {ticket.pk for ticket, _ in results} == {Ticket.objects.get().pk}
