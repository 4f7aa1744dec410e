"""The GIN index on ``article.search_vector``, on PostgreSQL only: SQLite has no GIN and does not use the column.

Filled in by hand on top of ``makemigrations --empty``: a vendor-conditional index cannot be declared in Meta.
"""

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS kb_article_search_gin ON knowledge_base_article USING gin (search_vector)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS kb_article_search_gin")


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge_base", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
