"""SQLite only: the FTS5 shadow table of the articles and the triggers that keep it current (``knowledge_base/fts.py``
says why, and how a later table rebuild is repaired). A no-op on PostgreSQL, which searches its GIN-indexed vector.

Filled in by hand on top of ``makemigrations --empty``: a virtual table and triggers cannot be declared in a model.
"""

from django.db import migrations


def create_fts(apps, schema_editor):
    from knowledge_base.fts import sqlite_fts_ensure

    sqlite_fts_ensure(schema_editor.connection)


def drop_fts(apps, schema_editor):
    from knowledge_base.fts import sqlite_fts_drop

    sqlite_fts_drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge_base", "0004_help_centre_indexes"),
    ]

    operations = [
        migrations.RunPython(create_fts, drop_fts, elidable=False),
    ]
