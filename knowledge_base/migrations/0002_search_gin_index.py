"""PostgreSQL only (SQLite has no GIN and never fills the column): the GIN index on ``article.search_vector``, and
``STORAGE MAIN`` for that column so the vector stays in the row (compressed) while the long body columns are the
ones moved out to TOAST: ranking reads the vector of every matching row, and an out-of-line vector costs an extra
TOAST fetch per row (measured with bench/kb_search.py).

Filled in by hand on top of ``makemigrations --empty``: a vendor-conditional index cannot be declared in Meta.
"""

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS kb_article_search_gin ON knowledge_base_article USING gin (search_vector)"
        )
        schema_editor.execute("ALTER TABLE knowledge_base_article ALTER COLUMN search_vector SET STORAGE MAIN")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS kb_article_search_gin")
        schema_editor.execute("ALTER TABLE knowledge_base_article ALTER COLUMN search_vector SET STORAGE EXTENDED")


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge_base", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
