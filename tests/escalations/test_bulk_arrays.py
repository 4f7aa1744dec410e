"""``escalations.bulk._pg_array``: the PostgreSQL array literal the set-based writers send stores exactly what the
driver's own list adaptation stores (quotes, backslashes, braces, NULLs, JSON, times)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.conf import settings
from django.db import connection
from psycopg.types.json import Jsonb

from escalations.bulk import _pg_array

pytestmark = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="the literal is PostgreSQL's: set DATABASE_URL=postgres://...",
)

AWKWARD = ["plain", 'quote " inside', "back\\slash", "{braces, commas}", "", "NULL", "new\nline", "é ✓", None]
COLUMNS = [
    ("text", AWKWARD),
    ("bigint", [1, -2, 2**40, None]),
    ("boolean", [True, False, None]),
    ("timestamptz", [datetime(2026, 11, 30, 23, 5, 1, 123456, tzinfo=UTC), None,
                     datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=2)))]),
    ("uuid", [uuid.UUID(int=7), None]),
    ("jsonb", [Jsonb({"a": 'x"y', "b": [1, None]}), Jsonb({}), None]),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "values"), COLUMNS, ids=[kind for kind, _ in COLUMNS])
def test_the_literal_stores_what_the_driver_stores(kind, values):
    literal = _pg_array(values)
    assert isinstance(literal, str)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{kind}[] IS NOT DISTINCT FROM %s::{kind}[]", [literal, values])  # noqa: S608 (types from the table above)
        assert cursor.fetchone()[0] is True
        cursor.execute(f"SELECT * FROM unnest(%s::{kind}[])", [literal])  # noqa: S608
        assert len(cursor.fetchall()) == len(values)


def test_a_column_of_another_type_is_left_to_the_driver():
    from decimal import Decimal

    values = [Decimal("1.5"), None]
    assert _pg_array(values) is values
