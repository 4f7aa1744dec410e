"""SQLite's search index: an FTS5 shadow table of the articles, kept current by triggers.

``knowledge_base_article_fts`` is an *external-content* FTS5 table over ``knowledge_base_article`` (title, tags,
body_text; Porter stemming, diacritics folded): it stores only the inverted index, and three triggers on the article
table keep it in step with every INSERT, UPDATE and DELETE, whoever writes (services, admin, bulk imports, raw SQL).

Why a repair step, and where: on SQLite, Django applies most ``AlterField``/``RemoveField``/constraint changes by
rebuilding the table (create ``new__…``, copy, drop the old table, rename), and dropping a table drops its triggers.
The index itself survives (the rows keep their ids), but from then on writes would no longer reach it. So
``sqlite_fts_ensure`` (idempotent) is run by migration ``0005_article_fts`` and again after every ``migrate``
(``post_migrate``, wired in ``apps.py``): it creates whatever is missing and, when anything was missing, rebuilds the
index from the table, so rows written while the triggers were gone are found again.
``tests/knowledge_base/test_fts.py`` rebuilds the article table the way a migration does and checks exactly that.

PostgreSQL does not use this (its index is the GIN-indexed ``search_vector``, see ``search.py``).
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

FTS_TABLE = "knowledge_base_article_fts"
ARTICLE_TABLE = "knowledge_base_article"
# Column order matters: bm25() takes one weight per column, in this order (see search.py).
FTS_COLUMNS = ("title", "tags", "body_text")

_CREATE_TABLE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    f"{', '.join(FTS_COLUMNS)}, content='{ARTICLE_TABLE}', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')"
)
_NEW = ", ".join(f"new.{column}" for column in FTS_COLUMNS)
_OLD = ", ".join(f"old.{column}" for column in FTS_COLUMNS)
_COLUMNS = ", ".join(FTS_COLUMNS)
# Fixed DDL from the constants above: no input reaches it.
TRIGGERS = {
    f"{FTS_TABLE}_ai": (
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON {ARTICLE_TABLE} BEGIN "  # noqa: S608
        f"INSERT INTO {FTS_TABLE}(rowid, {_COLUMNS}) VALUES (new.id, {_NEW}); END"
    ),
    f"{FTS_TABLE}_ad": (
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON {ARTICLE_TABLE} BEGIN "  # noqa: S608
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_COLUMNS}) VALUES ('delete', old.id, {_OLD}); END"
    ),
    # Only a change to an indexed column touches the index (votes update helpful_count all day long).
    f"{FTS_TABLE}_au": (
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE OF {_COLUMNS} ON {ARTICLE_TABLE} BEGIN "  # noqa: S608
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_COLUMNS}) VALUES ('delete', old.id, {_OLD}); "
        f"INSERT INTO {FTS_TABLE}(rowid, {_COLUMNS}) VALUES (new.id, {_NEW}); END"
    ),
}


def _existing(cursor, kind: str, names: list[str]) -> set[str]:
    placeholders = ", ".join("%s" for _ in names)
    cursor.execute(f"SELECT name FROM sqlite_master WHERE type = %s AND name IN ({placeholders})", [kind, *names])  # noqa: S608
    return {row[0] for row in cursor.fetchall()}


def sqlite_fts_ensure(connection: BaseDatabaseWrapper) -> bool:
    """Create the FTS table and its triggers where missing; rebuild the index when anything was. SQLite only (a
    no-op elsewhere), idempotent. Returns whether it had to repair anything."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        if ARTICLE_TABLE not in _existing(cursor, "table", [ARTICLE_TABLE]):
            return False  # migrating backwards past 0001, or a database without this app's tables
        has_table = bool(_existing(cursor, "table", [FTS_TABLE]))
        missing = set(TRIGGERS) - _existing(cursor, "trigger", list(TRIGGERS))
        if has_table and not missing:
            return False
        cursor.execute(_CREATE_TABLE)
        for name in sorted(missing):
            cursor.execute(TRIGGERS[name])
        # Rows may have been written while a trigger was missing: re-read the whole table (external content).
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")  # noqa: S608
    return True


def sqlite_fts_drop(connection: BaseDatabaseWrapper) -> None:
    """Remove the index and its triggers (the migration's reverse)."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for name in TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def fts_repair_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """``post_migrate`` receiver: a migration that rebuilt the article table dropped its triggers; put them back."""
    from django.db import connections

    sqlite_fts_ensure(connections[using])
