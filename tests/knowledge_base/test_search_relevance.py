"""Search relevance on a small fixed corpus: the right article ranks first. Runs on SQLite by default and on
PostgreSQL with ``DATABASE_URL=postgres://...`` (full-text search with weights), with the same expectations."""

from __future__ import annotations

import pytest
from django.db import connection

from knowledge_base.search import articles_search
from knowledge_base.selectors import articles_visible_to

pytestmark = pytest.mark.django_db

CORPUS = [
    (
        "Resetting your password",
        "password, reset, forgot, sign in",
        "On the sign-in page choose Forgot password and enter your work email. The reset link is valid for 30 minutes.",
    ),
    (
        "Two-factor authentication codes are rejected",
        "2fa, mfa, authenticator",
        "Authenticator codes depend on your phone clock. Turn on automatic time, or use a backup code.",
    ),
    (
        "I was charged twice for the same invoice",
        "duplicate charge, refund, card",
        "A duplicate charge is usually a pending authorisation that your bank releases within five days.",
    ),
    (
        "Adding your VAT number to invoices",
        "vat, tax, invoice",
        "Enter your VAT number under billing details; every invoice issued afterwards shows it.",
    ),
    (
        "Webhooks stopped arriving",
        "webhook, integration, signature",
        "We retry failed deliveries for 24 hours. Check your endpoint answers quickly and verify the signature.",
    ),
    (
        "API rate limits and 429 errors",
        "api, rate limit, throttling",
        "A 429 Too Many Requests answer carries a Retry-After header: wait before retrying.",
    ),
    (
        "Requesting a copy of your data (GDPR)",
        "gdpr, export, privacy",
        "An administrator can export all your data. Subject access requests are answered within one month.",
    ),
    (
        "Tracking your order",
        "order, tracking, delivery, courier",
        "Every shipped order has a tracking link. If the courier shows delivered but the parcel is missing, tell us.",
    ),
    (
        "Returning an item",
        "return, exchange, damaged",
        "Returns are free within 30 days. Print the label and drop the parcel at a courier point; refunds follow.",
    ),
    (
        "Checking the service status during an outage",
        "status page, outage, downtime",
        "The status page shows live incidents when the service is down or slow.",
    ),
    (
        "Unlocking a locked account",
        "locked, lockout",
        "Accounts lock for 15 minutes after five failed sign-in attempts.",
    ),
    (
        "Changing the payment card",
        "card, payment method, billing",
        "Update the card we charge under billing settings; the next invoice uses the new card.",
    ),
]

QUERIES = [
    ("forgot my password", "Resetting your password"),
    ("authenticator code not accepted", "Two-factor authentication codes are rejected"),
    ("I was charged twice", "I was charged twice for the same invoice"),
    ("VAT missing on invoice", "Adding your VAT number to invoices"),
    ("webhook deliveries failing", "Webhooks stopped arriving"),
    ("getting 429 too many requests", "API rate limits and 429 errors"),
    ("export my data gdpr", "Requesting a copy of your data (GDPR)"),
    ("where is my parcel tracking", "Tracking your order"),
    ("return a damaged item", "Returning an item"),
    ("site is down, outage?", "Checking the service status during an outage"),
    ("my account is locked", "Unlocking a locked account"),
    ("update my credit card", "Changing the payment card"),
]


@pytest.fixture
def corpus(make_article):
    return {title: make_article(title=title, tags=tags, body=body) for title, tags, body in CORPUS}


@pytest.mark.parametrize(("query", "expected"), QUERIES)
def test_right_article_ranks_first(corpus, customer, query, expected):
    # when
    hits = articles_search(queryset=articles_visible_to(customer), query=query, limit=5)
    # then
    assert hits, f"nothing found for {query!r} on {connection.vendor}"
    assert hits[0].article.title == expected, [h.article.title for h in hits]


def test_snippets_highlight_matches_and_escape_article_text(make_article, customer):
    # given: text that looks like markup once rendered as plain text
    make_article(title="Script errors on the widget", body="If the console shows `<script>alert(1)</script>` errors.")
    # when
    hit = articles_search(queryset=articles_visible_to(customer), query="script errors", limit=1)[0]
    # then
    assert hit.title_html == "<mark>Script</mark> <mark>errors</mark> on the widget"
    assert "<script" not in hit.snippet_html  # escaped (portable) or dropped as a tag by ts_headline
    assert "<mark>errors</mark>" in hit.snippet_html


def test_blank_or_stop_word_queries_find_nothing(corpus, customer):
    # then
    assert articles_search(queryset=articles_visible_to(customer), query="  the and of ", limit=5) == []
    assert articles_search(queryset=articles_visible_to(customer), query="", limit=5) == []


def test_category_boost_prefers_the_tickets_category(make_article, customer):
    # given: two equally good matches in different categories
    make_article(title="Refund timing", body="Refunds take five days.", category="billing")
    outage = make_article(title="Refund timing after an incident", body="Refunds take five days.", category="outage")
    # when
    hits = articles_search(
        queryset=articles_visible_to(customer), query="refund timing", limit=2, boost_category_id=outage.category_id
    )
    # then
    assert hits[0].article == outage


def test_search_index_matches_the_database(make_article):
    # given
    article = make_article(title="Resetting your password", tags="password")
    # when
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'kb_article_search_gin'")
            index = cursor.fetchone()
            cursor.execute(
                "SELECT attstorage FROM pg_attribute WHERE attrelid = 'knowledge_base_article'::regclass "
                "AND attname = 'search_vector'"
            )
            storage = cursor.fetchone()[0]
        cursor.execute("SELECT search_vector FROM knowledge_base_article WHERE id = %s", [article.pk])
        vector = cursor.fetchone()[0]
    # then: PostgreSQL keeps a weighted, GIN-indexed vector; SQLite leaves the column empty and ranks without it
    if connection.vendor == "postgresql":
        assert "USING gin (search_vector)" in index[0]
        assert storage == "m"
        assert "'password':3A,4B" in vector and "'reset':1A" in vector and "'help':6C" in vector
    else:
        assert vector is None
