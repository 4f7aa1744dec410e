"""The ticket workspace with every panel: the page, then what the browser loads after it (the presence poll and the
suggested-articles panel), timed through the whole Django stack.

    python bench/workspace.py [--n 100000] [--articles 50000] [--runs 15]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_x python bench/workspace.py --n 100000
    DATABASE_URL=postgres://.../helpdesk_large python bench/workspace.py --reuse   # a database seeded elsewhere

Without ``--reuse`` it builds a fresh database (a temporary SQLite file, or ``<name>_wsbench`` on the PostgreSQL
server of ``DATABASE_URL``, dropped afterwards; ``--keep`` keeps either for a later ``--reuse``): the demo data
(``seed_demo``: teams, SLA policies, tickets with clocks, escalations, surveys, so every panel has something to
show), then ``--n`` tickets with three timeline events each and ``--articles`` published articles (the corpus of
``bench/kb_search.py``, ticket subjects written in the same words), bulk-inserted around the services (this measures
reads). ``--reuse`` migrates and measures the database ``DATABASE_URL`` names as it is (e.g. the one
``bench/seed_large.py`` builds), adding articles only if it has fewer than ``--articles``.

Measured as the demo agent (else the first active agent) on the open ticket they can see with the longest timeline
among the newest and the oldest 200 (or ``--reference``): ``workspace`` is the page; ``presence`` the htmx POST the page sends at
once; ``kb_suggestions`` the htmx GET of the ranked articles panel; ``workspace_panels`` the three in a row, i.e.
what one opening of a ticket costs the server. Medians of wall-clock ms (and CPU ms of this process, steadier on a
shared machine), query counts, and the peak RSS. ``--profile FILE`` writes a pyinstrument profile of 20 openings (HTML, or text for a ``.txt`` name)
(``pip install -r requirements-dev.txt``). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.scratch_db import scratch_postgres  # bench/support/scratch_db.py (bench/ is on sys.path when run)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
CHUNK = 5_000

import kb_search  # noqa: E402  (the article corpus: bench/kb_search.py)


def _database(reuse: bool, keep: bool) -> tuple[str, Callable[[], None]]:
    url = os.environ.get("DATABASE_URL", "")
    if reuse:
        if not url:
            sys.exit("--reuse needs DATABASE_URL (the database to measure)")
        return url, lambda: None
    if url.startswith(("postgres://", "postgresql://")):
        fresh, drop = scratch_postgres(url, "wsbench")
        if keep:
            print(f"keeping {fresh}", file=sys.stderr)
        return fresh, (lambda: None) if keep else drop
    tmp = tempfile.mkdtemp(prefix="wsbench-")
    os.environ["HELPDESK_VAR_DIR"] = tmp
    if keep:
        print(f"keeping sqlite:///{tmp}/bench.sqlite3", file=sys.stderr)
    return f"sqlite:///{tmp}/bench.sqlite3", (lambda: None) if keep else (
        lambda: shutil.rmtree(tmp, ignore_errors=True)
    )


def _seed_tickets(n: int, rng: random.Random) -> None:
    """``n`` tickets of the demo's customers, teams and agents, three events each (created, reply, internal note)."""
    from django.db import transaction

    from helpdesk.models import Category, Channel, EventKind, Priority, Role, Status, Team, Ticket, TicketEvent, User

    now = datetime.now(tz=UTC)
    customers = list(User.objects.filter(role=Role.CUSTOMER, organization__isnull=False))
    agents = list(User.objects.filter(role=Role.AGENT, is_active=True))
    categories = list(Category.objects.all())
    teams = list(Team.objects.filter(tier=1)) or list(Team.objects.all())
    open_statuses = [Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER]
    done_statuses = [Status.RESOLVED, Status.CLOSED]
    tail = kb_search._long_tail(rng)
    topics = kb_search._topics(rng, 50, tail[0])
    for start in range(0, n, CHUNK):
        with transaction.atomic():
            tickets = []
            for i in range(start, min(start + CHUNK, n)):
                customer = customers[i % len(customers)]
                created = now - timedelta(minutes=(n - i) * 3)
                is_open = rng.random() < 0.25
                _, topic_words = rng.choice(topics)
                tickets.append(
                    Ticket(
                        reference=f"WS-{i + 1:07d}",
                        subject=rng.choice(kb_search.QUERIES).capitalize(),
                        description=kb_search._sentence(rng, topic_words, tail),
                        customer=customer,
                        organization_id=customer.organization_id,
                        channel=rng.choice(Channel.values),
                        category=rng.choice(categories),
                        priority=rng.choice(Priority.values),
                        status=rng.choice(open_statuses if is_open else done_statuses),
                        team=rng.choice(teams),
                        assignee=None if is_open and rng.random() < 0.5 else rng.choice(agents),
                        tier=1,
                        sla_due_at=now + timedelta(minutes=rng.randint(-600, 6000)) if is_open else None,
                        created_at=created,
                        updated_at=created,
                        last_public_activity_at=created + timedelta(minutes=30),
                    )
                )
            Ticket.objects.bulk_create(tickets)
            events = []
            for ticket in tickets:
                actor = ticket.assignee or agents[0]
                events += [
                    TicketEvent(ticket_id=ticket.pk, kind=EventKind.CREATED, actor=ticket.customer, is_public=True,
                                body=ticket.description, created_at=ticket.created_at),
                    TicketEvent(ticket_id=ticket.pk, kind=EventKind.AGENT_REPLY, actor=actor, is_public=True,
                                body="Thanks, we are on it.", created_at=ticket.created_at + timedelta(minutes=30)),
                    TicketEvent(ticket_id=ticket.pk, kind=EventKind.INTERNAL_NOTE, actor=actor, is_public=False,
                                body="Checked the logs.", created_at=ticket.created_at + timedelta(minutes=40)),
                ]  # fmt: skip
            TicketEvent.objects.bulk_create(events)


def _seed_articles(count: int, rng: random.Random) -> None:
    """``count`` articles of bench/kb_search.py's corpus (80% published, 70% public), filed under the categories."""
    from django.db import transaction
    from django.utils import timezone

    from helpdesk.models import Category, Role, User
    from knowledge_base.models import Article, ArticleStatus, ArticleVisibility
    from knowledge_base.search import search_vector_refresh

    categories = list(Category.objects.all())
    owner = User.objects.filter(role__in=[Role.MANAGER, Role.ADMIN]).first()
    now = timezone.now()
    tail = kb_search._long_tail(rng)
    topics = kb_search._topics(rng, 50, tail[0])
    for start in range(0, count, CHUNK):
        batch = []
        for index in range(start, min(start + CHUNK, count)):
            _, words = rng.choice(topics)
            picked = rng.sample(words, 3)
            body = " ".join(kb_search._sentence(rng, words, tail) for _ in range(rng.randint(4, 10)))
            title = f"{picked[0].capitalize()} {rng.choice(kb_search.COMMON)} {picked[1]} ({index})"
            published = rng.random() < 0.8
            batch.append(
                Article(
                    title=title,
                    body=body,
                    body_html=f"<p>{body}</p>",
                    body_text=body,
                    tags=", ".join(rng.sample(words, 3)),
                    category=rng.choice(categories),
                    owner=owner,
                    status=ArticleStatus.PUBLISHED if published else ArticleStatus.DRAFT,
                    visibility=ArticleVisibility.PUBLIC if rng.random() < 0.7 else ArticleVisibility.INTERNAL,
                    helpful_count=rng.randint(0, 40),
                    created_at=now,
                    updated_at=now,
                    published_at=now if published else None,
                )
            )
        with transaction.atomic():
            created = Article.objects.bulk_create(batch)
            search_vector_refresh(Article.objects.filter(pk__in=[a.pk for a in created]))


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")


def _subject(reference: str | None):
    """The agent and the ticket to open."""
    from django.db.models import Count

    from helpdesk.models import OPEN_STATUSES, Role, User
    from helpdesk.selectors import tickets_visible_to

    agent = User.objects.filter(username="agent", is_active=True).first()
    agent = agent or User.objects.filter(role=Role.AGENT, is_active=True).order_by("pk").first()
    if agent is None:
        sys.exit("no active agent in this database")
    visible = tickets_visible_to(agent)
    if reference:
        return agent, visible.get(reference=reference)
    open_pks = visible.filter(status__in=OPEN_STATUSES).values_list("pk", flat=True)
    # The newest and the oldest open tickets (the demo's, with clocks and escalations, come before the bulk ones).
    candidates = [*open_pks.order_by("-pk")[:200], *open_pks.order_by("pk")[:200]]
    ticket = visible.filter(pk__in=candidates).annotate(n=Count("events")).order_by("-n", "-pk").first()
    if ticket is None:
        sys.exit(f"no open ticket visible to {agent.username}")
    return agent, ticket


def _timed(client, method: str, url: str) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        started, started_cpu = time.perf_counter(), time.process_time()
        response = getattr(client, method)(url)
        response.content  # noqa: B018 (a TemplateResponse renders lazily: include rendering)
        wall = (time.perf_counter() - started) * 1000
        cpu = (time.process_time() - started_cpu) * 1000
    assert response.status_code == 200, (method, url, response.status_code)
    return wall, cpu, len(captured.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="tickets to seed (default 100000)")
    parser.add_argument("--articles", type=int, default=50_000, help="knowledge-base articles (default 50000)")
    parser.add_argument("--runs", type=int, default=15, help="timed openings (default 15)")
    parser.add_argument("--reuse", action="store_true", help="measure DATABASE_URL as it is (no fresh database)")
    parser.add_argument("--keep", action="store_true", help="keep the fresh database (for a later --reuse)")
    parser.add_argument("--reference", help="the ticket to open (default: see above)")
    parser.add_argument("--profile", type=Path, help="write a pyinstrument HTML profile of 20 openings here")
    args = parser.parse_args()

    db_url, drop = _database(args.reuse, args.keep)
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.test")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")  # seeding queues nothing that must be delivered
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from helpdesk.models import Ticket
    from knowledge_base.models import Article

    setup_test_environment()  # the "testserver" host, in-memory email
    try:
        call_command("migrate", verbosity=0)
        rng = random.Random(7)
        started = time.perf_counter()
        if not args.reuse:
            print(f"seeding demo data, {args.n} tickets on {connection.vendor}…", file=sys.stderr)
            call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
            _seed_tickets(args.n, rng)
        missing = args.articles - Article.objects.count()
        if missing > 0:
            print(f"seeding {missing} articles…", file=sys.stderr)
            _seed_articles(missing, rng)
        if not args.reuse or missing > 0:
            _analyze()
        seed_seconds = time.perf_counter() - started
        agent, ticket = _subject(args.reference)
        print(f"opening {ticket.reference} ({ticket.subject!r}) as {agent.username}", file=sys.stderr)

        page = Client()
        htmx = Client(headers={"HX-Request": "true"})  # what the page's placeholders send
        page.force_login(agent)
        htmx.force_login(agent)
        steps = [
            ("workspace", page, "get", reverse("ticket_detail", args=[ticket.reference])),
            ("presence", htmx, "post", reverse("ticket_presence", args=[ticket.reference])),
            ("kb_suggestions", htmx, "get", reverse("kb_ticket_suggestions", args=[ticket.reference])),
        ]

        def open_ticket() -> dict[str, tuple[float, float, int]]:
            return {name: _timed(client, method, url) for name, client, method, url in steps}

        for _ in range(3):  # warm-up: templates, plans, caches
            open_ticket()
        samples = [open_ticket() for _ in range(args.runs)]
        if args.profile:
            from pyinstrument import Profiler

            with Profiler(interval=0.0005) as profiler:
                for _ in range(20):
                    open_ticket()
            if args.profile.suffix == ".txt":
                args.profile.write_text(profiler.output_text(unicode=False, color=False))
            else:
                args.profile.write_text(profiler.output_html())
            print(f"profile written to {args.profile}", file=sys.stderr)

        result: dict[str, object] = {
            "bench": "workspace",
            "vendor": connection.vendor,
            "tickets": Ticket.objects.count(),
            "articles": Article.objects.count(),
            "reused": args.reuse,
            "runs": args.runs,
        }
        for name, *_ in steps:
            result[f"{name}_ms"] = round(statistics.median(s[name][0] for s in samples), 2)
            result[f"{name}_cpu_ms"] = round(statistics.median(s[name][1] for s in samples), 2)
            result[f"{name}_queries"] = max(s[name][2] for s in samples)
        result["workspace_panels_ms"] = round(statistics.median(sum(v[0] for v in s.values()) for s in samples), 2)
        result["workspace_panels_cpu_ms"] = round(statistics.median(sum(v[1] for v in s.values()) for s in samples), 2)
        result["workspace_panels_queries"] = max(sum(v[2] for v in s.values()) for s in samples)
        result["seed_seconds"] = round(seed_seconds, 1)
        result["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        result["load_avg_1m"] = round(os.getloadavg()[0], 2)
    finally:
        drop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
