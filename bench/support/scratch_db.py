"""Not a benchmark: the benches' one way to make a scratch PostgreSQL database, ``<name>_<suffix>`` next to the
``DATABASE_URL`` they are given, created empty (dropped first if a run left it), and a function that drops it."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit


def scratch_postgres(url: str, suffix: str) -> tuple[str, Callable[[], None]]:
    import psycopg

    parts = urlsplit(url)
    name = (parts.path.lstrip("/") or "postgres") + f"_{suffix}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop
