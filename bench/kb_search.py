"""Knowledge-base search latency: seed N articles into a fresh database and time ranked, highlighted searches.

    python bench/kb_search.py [--n 50000] [--rounds 5]

With ``DATABASE_URL=postgres://...`` a fresh database ``<name>_kbbench`` is created on that server (and dropped
afterwards); otherwise a temporary SQLite file is used. Articles are bulk-inserted (the Markdown renderer is
bypassed: bodies are plain sentences, so ``body_text`` is the body) and on PostgreSQL the weighted search vector
is filled with the same expression the service uses. Every timed search goes through the customer's visibility
selector and returns the top 10 with snippets, exactly as the help centre does.

The corpus: ``--topics`` subjects (default 50) of 13 words each: the six named ones the queries are about
(billing, login, outage, ...) and made-up ones, because a 50,000-article knowledge base covers many more subjects than
six. A topic word is ~12% of an article's words, so each named topic word occurs in ~1-2% of all articles. On top
come 30 everyday words (in nearly every article: worst case for OR queries) and a Zipf-distributed tail of 4,000
made-up words. ``--topics 6`` is the adversarial variant (every query word in thousands of articles). Queries are
2-4 word problems as customers type them.

The last line printed is one JSON object: median (and p95) search latency in ms, n, vendor.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from support.scratch_db import scratch_postgres  # bench/support/scratch_db.py (bench/ is on sys.path when run)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = [
    "charged twice",
    "refund duplicate payment",
    "reset password",
    "two-factor code rejected",
    "vat number invoice",
    "webhook signature failing",
    "api rate limit 429",
    "export my data gdpr",
    "parcel tracking courier",
    "return damaged item",
    "service outage status page",
    "account locked",
    "update credit card",
    "crm sync salesforce",
    "delivery delayed order",
    "invoice missing",
    "sso login error",
    "data deletion request",
    "slow dashboard timeout",
    "cancel subscription refund",
]

TOPICS = {
    "billing": "invoice payment refund charge card vat tax subscription credit receipt plan upgrade discount",
    "login-access": "password reset login sso two-factor code authenticator locked account session email invite",
    "outage": "outage downtime status incident slow timeout error latency dashboard degraded maintenance",
    "integrations": "webhook api rate limit signature crm salesforce hubspot sync connector token endpoint",
    "data-privacy": "gdpr export deletion request privacy consent retention audit compliance erasure access",
    "orders-delivery": "order parcel tracking courier delivery return damaged exchange shipping delayed address",
}
_COMMON = (
    "customer team settings page select open check click choose save confirm wait minutes hours days business "
    "support request option menu detail screen message contact update change issue problem new existing first"
)
COMMON = _COMMON.split()


def _fresh_database() -> tuple[str, callable]:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return scratch_postgres(url, "kbbench")
    tmp = tempfile.mkdtemp(prefix="kbbench-")
    os.environ["HELPDESK_VAR_DIR"] = tmp
    return f"sqlite:///{tmp}/bench.sqlite3", lambda: shutil.rmtree(tmp, ignore_errors=True)


def _long_tail(rng: random.Random, size: int = 4000) -> tuple[list[str], list[float]]:
    """Made-up words with Zipf-like frequencies: the long tail of a real knowledge base's vocabulary."""
    syllables = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"]
    words = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(size)})
    rng.shuffle(words)
    cumulative, total = [], 0.0
    for rank in range(1, len(words) + 1):
        total += 1.0 / rank
        cumulative.append(total)
    return words, cumulative


def _sentence(rng: random.Random, topic_words: list[str], tail) -> str:
    words = []
    for _ in range(rng.randint(8, 16)):
        roll = rng.random()
        if roll < 0.12:
            words.append(rng.choice(topic_words))
        elif roll < 0.45:
            words.append(rng.choice(COMMON))
        else:
            words.append(rng.choices(tail[0], cum_weights=tail[1])[0])
    return " ".join(words).capitalize() + "."


def _topics(rng: random.Random, count: int, tail_words: list[str]) -> list[tuple[str, list[str]]]:
    """The named topics, then made-up ones (words from the rarer part of the tail), filed under the six categories."""
    named = [(slug, words.split()) for slug, words in TOPICS.items()]
    made_up = [(named[i % len(named)][0], rng.sample(tail_words[500:], 13)) for i in range(max(0, count - len(named)))]
    return (named + made_up)[: max(count, 1)]


def _seed(n: int, rng: random.Random, topic_count: int) -> float:
    from django.db import connection, transaction
    from django.utils import timezone

    from helpdesk.models import Category, Role, User
    from knowledge_base.models import Article, ArticleStatus, ArticleVisibility
    from knowledge_base.search import search_vector_refresh

    started = time.perf_counter()
    categories = {slug: Category.objects.create(name=slug.title(), slug=slug) for slug in TOPICS}
    owner = User.objects.create_user(username="bench-editor", password="x", role=Role.MANAGER)  # noqa: S106
    now = timezone.now()
    tail = _long_tail(rng)
    topics = _topics(rng, topic_count, tail[0])
    batch: list[Article] = []
    for index in range(n):
        slug, topic_words = rng.choice(topics)
        picked = rng.sample(topic_words, 3)
        title = f"{picked[0].capitalize()} {rng.choice(COMMON)} {picked[1]} {rng.choice(COMMON)} ({index})"
        body = " ".join(_sentence(rng, topic_words, tail) for _ in range(rng.randint(4, 10)))
        batch.append(
            Article(
                title=title,
                body=body,
                body_html=f"<p>{body}</p>",
                body_text=body,
                tags=", ".join(rng.sample(topic_words, 3)),
                category=categories[slug],
                owner=owner,
                status=ArticleStatus.PUBLISHED if rng.random() < 0.8 else ArticleStatus.DRAFT,
                visibility=ArticleVisibility.PUBLIC if rng.random() < 0.7 else ArticleVisibility.INTERNAL,
                helpful_count=rng.randint(0, 40),
                created_at=now,
                updated_at=now,
            )
        )
        if len(batch) == 2000:
            Article.objects.bulk_create(batch)
            batch = []
    if batch:
        Article.objects.bulk_create(batch)
    with transaction.atomic():
        search_vector_refresh(Article.objects.all())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Compact the dead row versions left by the bulk vector UPDATE above (as autovacuum would over time).
            cursor.execute("VACUUM FULL ANALYZE knowledge_base_article")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50000, help="articles to seed (default 50000)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds over the query set (default 5)")
    parser.add_argument("--topics", type=int, default=50, help="subjects in the corpus (default 50; 6 = adversarial)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database (to EXPLAIN queries)")
    args = parser.parse_args()

    db_url, drop = _fresh_database()
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.test")
    import django

    django.setup()
    if os.environ.get("KB_BENCH_VERBOSE"):
        import logging

        logging.getLogger("django.db.backends").setLevel(logging.DEBUG)
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", verbosity=0)
        rng = random.Random(42)
        print(f"seeding {args.n} articles on {connection.vendor}…", file=sys.stderr)
        seed_seconds = _seed(args.n, rng, args.topics)
        from helpdesk.models import Role, User
        from knowledge_base.selectors import articles_search_for_user

        customer = User.objects.create_user(username="bench-customer", password="x", role=Role.CUSTOMER)  # noqa: S106
        for query in QUERIES:  # warm-up: caches, plans
            articles_search_for_user(user=customer, query=query, limit=10)
        timings, found = [], []
        for _ in range(args.rounds):
            for query in QUERIES:
                started = time.perf_counter()
                hits = articles_search_for_user(user=customer, query=query, limit=10)
                timings.append((time.perf_counter() - started) * 1000)
                found.append(len(hits))
        timings.sort()
        result = {
            "bench": "kb_search",
            "vendor": connection.vendor,
            "n": args.n,
            "topics": args.topics,
            "queries": len(QUERIES),
            "rounds": args.rounds,
            "median_ms": round(statistics.median(timings), 2),
            "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
            "max_ms": round(timings[-1], 2),
            "min_hits": min(found),
            "seed_seconds": round(seed_seconds, 1),
            "target_ms_postgresql": 30,
        }
    finally:
        if not args.keep:
            drop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
