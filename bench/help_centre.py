"""Public help-centre page latency: seed N articles (the corpus of ``bench/kb_search.py``: ~56% public and published,
the rest internal or draft) and time each anonymous page through the whole Django stack (middleware, CSP, templates).

    python bench/help_centre.py [--n 20000] [--rounds 20]

With ``DATABASE_URL=postgres://...`` a fresh database ``<name>_kbbench`` is created on that server (and dropped
afterwards); otherwise a temporary SQLite file is used. Pages: the front page, a topic, an article, a search, the
contact form's suggestions, the sitemap index and one sitemap page. Queries per page are counted too: they must not
grow with N (the tests assert the same bounds at 3 and 24 articles).

The last line printed is one JSON object: per page, the median and p95 in ms and the number of queries.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from kb_search import _fresh_database, _seed  # noqa: E402  # the same corpus as the search benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="articles to seed (default 20000)")
    parser.add_argument("--rounds", type=int, default=20, help="timed requests per page (default 20)")
    args = parser.parse_args()

    db_url, drop = _fresh_database()
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.test")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    try:
        call_command("migrate", verbosity=0)
        print(f"seeding {args.n} articles on {connection.vendor}…", file=sys.stderr)
        seed_seconds = _seed(args.n, random.Random(42), 50)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Set the visibility map, as autovacuum does on a live table, so the help centre's partial indexes
                # answer counts with index-only scans (VACUUM FULL in the seeding leaves it unset).
                cursor.execute("VACUUM ANALYZE knowledge_base_article")
        from knowledge_base.selectors import articles_public

        article = articles_public().select_related("category").order_by("pk").first()
        assert article is not None
        pages = {
            "home": "/help/",
            "topic": "/help/billing/",
            "article": article.get_help_url(),
            "search": "/help/?q=charged+twice+refund",
            "suggest": "/contact/suggest/?description=my+card+was+charged+twice",
            "sitemap_index": "/sitemap.xml",
            "sitemap_page": "/sitemap-articles.xml",
        }
        client = Client(SERVER_NAME="localhost")
        result: dict = {"bench": "help_centre", "vendor": connection.vendor, "n": args.n, "rounds": args.rounds}
        for name, url in pages.items():
            queries: list[str] = []

            def count(execute, sql, params, many, context, queries=queries):
                queries.append(sql)
                return execute(sql, params, many, context)

            with connection.execute_wrapper(count):
                response = client.get(url)
            assert response.status_code == 200, (name, url, response.status_code)
            timings = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            result[name] = {
                "median_ms": round(statistics.median(timings), 2),
                "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 2),
                "queries": len(queries),
            }
        result["seed_seconds"] = round(seed_seconds, 1)
    finally:
        drop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
