"""SQLite's FTS5 shadow table: the triggers keep it in step with the article table, and a migration that rebuilds
the article table (as Django does on SQLite for an ``AlterField``) does not leave search stale: ``migrate`` puts the
triggers back and re-reads the rows written while they were gone (``knowledge_base/fts.py``)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection, models

from knowledge_base.fts import FTS_TABLE, TRIGGERS
from knowledge_base.models import Article
from knowledge_base.search import articles_search
from knowledge_base.selectors import articles_visible_to

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL searches its GIN-indexed vector")


def _triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'knowledge_base_article'")
        return {row[0] for row in cursor.fetchall()}


def _index_matches_the_table() -> None:
    """FTS5's own check of an external-content index against its table (raises if they disagree)."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('integrity-check', 1)")  # noqa: S608


def _titles(user, query: str) -> list[str]:
    return [hit.article.title for hit in articles_search(queryset=articles_visible_to(user), query=query)]


def _rebuild_article_table(max_length: int) -> None:
    """What a later migration's ``AlterField`` does on SQLite: create ``new__…``, copy, drop the old table, rename."""
    old = Article._meta.get_field("tags")
    new = models.CharField(max_length=max_length, blank=True)
    new.set_attributes_from_name("tags")
    new.model = Article
    with connection.schema_editor() as editor:
        editor.alter_field(Article, old, new, strict=True)


@pytest.mark.django_db
def test_the_triggers_keep_the_index_in_step_with_every_write(make_article, customer, manager):
    # given
    article = make_article(title="Resetting your password", body="Choose Forgot password on the sign-in page.")
    # when: the title changes, then a vote (which does not touch an indexed column), then the article goes
    Article.objects.filter(pk=article.pk).update(title="Unlocking a locked account")
    # then
    assert _titles(customer, "password reset") == ["Unlocking a locked account"]  # still matched by its body
    assert _titles(customer, "unlocking") == ["Unlocking a locked account"]
    assert _titles(customer, "resetting") == []
    Article.objects.filter(pk=article.pk).update(helpful_count=3)
    _index_matches_the_table()
    Article.objects.filter(pk=article.pk).delete()
    assert _titles(customer, "unlocking") == []
    _index_matches_the_table()


@pytest.mark.django_db(transaction=True)
def test_a_migration_that_rebuilds_the_article_table_leaves_search_working(make_article, customer):
    # given: an indexed article
    make_article(title="Resetting your password", body="Choose Forgot password on the sign-in page.")
    assert _triggers() == set(TRIGGERS)
    try:
        # when: a later migration rebuilds the table
        _rebuild_article_table(max_length=300)
        # then the rebuild took the triggers with the old table (the hazard this guards against is real) ...
        assert _triggers() == set()
        # ... and a row written before migrate ends is not in the index yet
        make_article(title="Unlocking a locked account", body="Accounts lock after five failed sign-ins.")
        assert _titles(customer, "locked account") == []
        # when migrate finishes
        call_command("migrate", verbosity=0)
        # then the triggers are back, the index agrees with the table, and both rows are found
        assert _triggers() == set(TRIGGERS)
        _index_matches_the_table()
        assert _titles(customer, "locked account") == ["Unlocking a locked account"]
        assert _titles(customer, "password") == ["Resetting your password"]
        # and writes reach the index again
        make_article(title="Changing the payment card", body="Update the card under billing settings.")
        assert _titles(customer, "payment card") == ["Changing the payment card"]
    finally:
        _rebuild_article_table(max_length=250)
        call_command("migrate", verbosity=0)
    assert _triggers() == set(TRIGGERS)
