"""Benchmark the queue, escalation inbox and review, workspace and customer pages on a database of N tickets.

    python bench/queue_pages.py [--n 100000] [--runs 15] [--articles 2000]
    DATABASE_URL=postgres://…/helpdesk_large python bench/queue_pages.py --reuse   # after bench/seed_large.py

Without ``--reuse``: a fresh SQLite database in a temporary folder (never touches var/).
With ``--reuse``: the database in ``DATABASE_URL`` as it is (built by ``bench/seed_large.py``), never reseeded.

It builds its own database in a temporary folder (never touches var/), migrates it, bulk-inserts N tickets with
three events each (created, agent reply, internal note) straight into the tables (not through the services: this
measures reads, and the services would take minutes), then renders each page with Django's test Client and reports
the median wall-clock time, the median CPU time of this process (steadier when other work shares the machine) and
the query count. ``--articles`` published knowledge-base articles share words with the tickets' subjects, so the
workspace's suggested-articles panel (``kb_ticket_suggestions``, loaded after the page) ranks a realistic corpus.
The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 5_000


def _configure(tmp: Path, *, reuse_url: str = "") -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["HELPDESK_VAR_DIR"] = str(tmp)
    os.environ["DATABASE_URL"] = reuse_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "helpdesk.settings.test"  # base's JIT-off connection option included
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost")
    # No broker is needed: nothing here enqueues notifications (the seeding bypasses the services).
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the "testserver" host, in-memory email


ARTICLE_WORDS = [
    *("something", "wrong", "steps", "reproduce", "ticket", "invoice", "payment", "refund", "login", "password"),
    *("outage", "error", "timeout", "export", "order", "delivery", "account", "settings", "page", "open", "check"),
    *("save", "confirm", "wait", "support", "request", "update", "change", "problem"),
]


def _seed(n: int, rng: random.Random, articles: int) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from helpdesk.models import (
        Category,
        Channel,
        EventKind,
        Organization,
        Plan,
        Priority,
        Role,
        Status,
        Team,
        TeamMembership,
        Ticket,
        TicketEvent,
        User,
    )

    now = datetime.now(tz=UTC)
    unusable = make_password(None)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous=OFF")
    with transaction.atomic():
        plans = [
            Plan.objects.create(code=code, name=code.title(), rank=rank)
            for rank, code in enumerate(["basic", "pro", "enterprise"], start=1)
        ]
        orgs = Organization.objects.bulk_create(
            [Organization(name=f"Org {i:03d}", plan=plans[i % 3]) for i in range(50)]
        )
        categories = Category.objects.bulk_create(
            [Category(name=name, slug=name.lower()) for name in ["Billing", "Login", "Outage", "Data", "Shipping"]]
        )
        frontline = Team.objects.create(name="Frontline", slug="frontline", tier=1)
        frontline.categories.set(categories)
        technical = Team.objects.create(name="Technical", slug="technical", tier=2)
        teams = [frontline, technical]
        agents = User.objects.bulk_create(
            [
                User(username=f"agent{i}", first_name="Agent", last_name=str(i), role=Role.AGENT, password=unusable)
                for i in range(20)
            ]
        )
        TeamMembership.objects.bulk_create([TeamMembership(team=frontline, user=a) for a in agents[:15]])
        TeamMembership.objects.bulk_create([TeamMembership(team=technical, user=a) for a in agents[15:]])
        specialists = User.objects.bulk_create(
            [User(username=f"specialist{i}", role=Role.SPECIALIST, password=unusable) for i in range(5)]
        )
        TeamMembership.objects.bulk_create([TeamMembership(team=technical, user=s) for s in specialists])
        User.objects.create(username="manager0", role=Role.MANAGER, password=unusable)
        customers = User.objects.bulk_create(
            [
                User(
                    username=f"customer{i}",
                    first_name="Customer",
                    last_name=str(i),
                    email=f"c{i}@example.test",
                    role=Role.CUSTOMER,
                    organization=orgs[i % len(orgs)],
                    password=unusable,
                )
                for i in range(500)
            ]
        )
        open_statuses = [Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER]
        done_statuses = [Status.RESOLVED, Status.CLOSED]
        for start in range(0, n, CHUNK):
            tickets = []
            for i in range(start, min(start + CHUNK, n)):
                customer = customers[i % len(customers)]
                created = now - timedelta(minutes=(n - i) * 3)
                is_open = rng.random() < 0.25
                team = teams[0] if rng.random() < 0.85 else teams[1]
                assignee = rng.choice(agents[:15] if team is frontline else agents[15:])
                tickets.append(
                    Ticket(
                        reference=f"HD-{created.year}-{i + 1:06d}",
                        subject=f"Ticket {i}: something is wrong",
                        description="Steps to reproduce...",
                        customer=customer,
                        organization_id=customer.organization_id,
                        channel=rng.choice(Channel.values),
                        category=rng.choice(categories),
                        priority=rng.choice(Priority.values),
                        status=rng.choice(open_statuses if is_open else done_statuses),
                        team=team,
                        assignee=None if is_open and rng.random() < 0.5 else assignee,
                        tier=team.tier,
                        is_emergency=is_open and rng.random() < 0.001,
                        sla_due_at=now + timedelta(minutes=rng.randint(-600, 6000)) if is_open else None,
                        created_at=created,
                        updated_at=created,
                        last_public_activity_at=created + timedelta(minutes=30),
                    )
                )
            Ticket.objects.bulk_create(tickets)
            events = []
            for ticket in tickets:
                pk = ticket.pk  # SQLite returns the ids from a bulk insert
                events += [
                    TicketEvent(ticket_id=pk, kind=EventKind.CREATED, actor=ticket.customer, is_public=True,
                                body=ticket.description, created_at=ticket.created_at),
                    TicketEvent(ticket_id=pk, kind=EventKind.AGENT_REPLY, actor=ticket.assignee or agents[0],
                                is_public=True, body="Thanks, we are on it.",
                                created_at=ticket.created_at + timedelta(minutes=30)),
                    TicketEvent(ticket_id=pk, kind=EventKind.INTERNAL_NOTE, actor=ticket.assignee or agents[0],
                                is_public=False, body="Checked the logs.",
                                created_at=ticket.created_at + timedelta(minutes=40)),
                ]  # fmt: skip
            TicketEvent.objects.bulk_create(events)
            _seed_escalations([t for t in tickets if t.team is technical], frontline, agents)
        _seed_articles(articles, rng, categories)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return _people()


def _seed_escalations(tickets: list, frontline, agents: list) -> None:
    """One hop to the technical team per ticket on it: open or accepted while the ticket is open, resolved after."""
    from escalations.models import Escalation, EscalationStatus

    hops = []
    for i, ticket in enumerate(tickets):
        if ticket.is_open:
            status = EscalationStatus.OPEN if i % 5 < 2 or ticket.is_emergency else EscalationStatus.ACCEPTED
        else:
            status = EscalationStatus.RESOLVED
        hops.append(
            Escalation(
                ticket_id=ticket.pk,
                escalation_type="emergency" if ticket.is_emergency else "technical",
                mode="functional",
                status=status,
                from_tier=1,
                to_tier=2,
                from_team=frontline,
                to_team_id=ticket.team_id,
                requested_by_kind="agent",
                requested_by=agents[i % 15],
                reason="Needs a specialist.",
                dossier_problem="The export fails.",
                dossier_tried="Retried.",
                dossier_desired_outcome="A working export.",
                dossier_mood="calm",
                accepted_by=None if status == EscalationStatus.OPEN else ticket.assignee,
                accepted_at=None if status == EscalationStatus.OPEN else ticket.created_at,
                created_at=ticket.created_at + timedelta(hours=1),
                closed_at=None if ticket.is_open else ticket.created_at + timedelta(days=1),
            )
        )
    Escalation.objects.bulk_create(hops)


def _seed_articles(count: int, rng: random.Random, categories: list) -> None:
    """Published articles straight into the table (the Markdown renderer is bypassed: bodies are plain sentences)."""
    from knowledge_base.models import Article, ArticleStatus, ArticleVisibility

    now = datetime.now(tz=UTC)
    rows = []
    for i in range(count):
        body = " ".join(rng.choice(ARTICLE_WORDS) for _ in range(120)) + "."
        rows.append(
            Article(
                title=f"Article {i}: " + " ".join(rng.sample(ARTICLE_WORDS, 4)),
                body=body,
                body_html=f"<p>{body}</p>",
                body_text=body,
                tags=", ".join(rng.sample(ARTICLE_WORDS, 3)),
                category=rng.choice(categories),
                status=ArticleStatus.PUBLISHED,
                visibility=ArticleVisibility.PUBLIC if rng.random() < 0.7 else ArticleVisibility.INTERNAL,
                helpful_count=rng.randint(0, 40),
                created_at=now,
                updated_at=now,
                published_at=now,
            )
        )
    Article.objects.bulk_create(rows, batch_size=CHUNK)


def _people() -> dict:
    from helpdesk.models import Category, Status, Team, Ticket, User

    return {
        "agent": User.objects.get(username="agent0"),
        "specialist": User.objects.get(username="specialist0"),
        "manager": User.objects.get(username="manager0"),
        "customer": User.objects.get(username="customer0"),
        "ticket": Ticket.objects.filter(status=Status.OPEN, team__slug="frontline").order_by("-pk").first(),
        "category": Category.objects.order_by("pk").first(),
        "team": Team.objects.get(slug="frontline"),
    }


def _measure(client, url: str, runs: int) -> tuple[float, float, int, float, float]:
    """Median wall-clock ms, median CPU ms of this process (steadier on a shared machine), the query count, the median
    time spent in the database (sum of the page's queries, as the client saw them) and its slowest query's."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    wall, cpu, sql, slowest = [], [], [], []
    queries = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            response.content  # noqa: B018 (the TemplateResponse renders lazily; include rendering)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        queries = len(captured.captured_queries)
        times = [float(query["time"]) * 1000 for query in captured.captured_queries]
        sql.append(sum(times))
        slowest.append(max(times, default=0.0))
    return (
        round(statistics.median(wall), 2),
        round(statistics.median(cpu), 2),
        queries,
        round(statistics.median(sql), 2),
        round(statistics.median(slowest), 2),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of tickets (default 100000)")
    parser.add_argument("--runs", type=int, default=15, help="timed requests per page (default 15)")
    parser.add_argument("--articles", type=int, default=2000, help="published KB articles to seed (default 2000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep the database in this folder and reuse it on the next run")
    parser.add_argument(
        "--reuse", action="store_true", help="use the database in DATABASE_URL as it is (bench/seed_large.py)"
    )
    parser.add_argument("--only", default="", help="measure only the pages whose name starts with this")
    args = parser.parse_args()
    reuse_url = os.environ.get("DATABASE_URL", "") if args.reuse else ""
    if args.reuse and not reuse_url:
        parser.error("--reuse needs DATABASE_URL (a database built by bench/seed_large.py)")

    with tempfile.TemporaryDirectory(prefix="hd-bench-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        reuse = bool(reuse_url) or (workdir / "bench.sqlite3").exists()
        _configure(workdir, reuse_url=reuse_url)
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.urls import reverse

        from helpdesk.filters import queue_order
        from helpdesk.models import Ticket

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        people = _people() if reuse else _seed(args.n, random.Random(args.seed), args.articles)
        seed_s = time.perf_counter() - started
        n = Ticket.objects.count() if reuse else args.n
        print(f"{'reused' if reuse else 'seeded'} {n} tickets in {seed_s:.1f} s ({connection.vendor})", file=sys.stderr)

        agent_client, customer_client = Client(), Client()
        specialist_client, manager_client = Client(), Client()
        htmx_client = Client(headers={"HX-Request": "true"})  # as the workspace's placeholder asks for its panel
        agent_client.force_login(people["agent"])
        htmx_client.force_login(people["agent"])
        customer_client.force_login(people["customer"])
        specialist_client.force_login(people["specialist"])
        manager_client.force_login(people["manager"])
        queue = reverse("ticket_list")
        # a keyset cursor 2,500 rows deep into "all open, SLA order" (page 101)
        open_ids = queue_order(Ticket.objects.open().filter(restricted=False), "sla").values_list("pk", flat=True)
        deep = open_ids[min(2500, open_ids.count() - 1)]
        pages = {
            "queue_first_page": (agent_client, queue),
            "queue_all_first_page": (agent_client, f"{queue}?scope=all"),
            "queue_filtered": (agent_client, f"{queue}?scope=all&priority=high&category={people['category'].pk}"),
            "queue_team_filtered": (agent_client, f"{queue}?scope=all&team={people['team'].pk}&sort=priority"),
            **{
                f"queue_all_sort_{sort}": (agent_client, f"{queue}?scope=all&sort={sort}")
                for sort in ("priority", "oldest", "newest", "activity", "reference", "risk")
            },
            **{
                f"queue_mine_sort_{sort}": (agent_client, f"{queue}?sort={sort}")
                for sort in ("priority", "newest", "reference")
            },
            "queue_deep_page": (agent_client, f"{queue}?scope=all&after={deep}"),
            "escalation_inbox": (specialist_client, reverse("escalation_inbox")),
            "escalation_review": (manager_client, reverse("escalation_review")),
            "workspace": (agent_client, reverse("ticket_detail", args=[people["ticket"].reference])),
            "customer_list": (customer_client, queue),
            # the workspace's suggested-articles panel, which the browser loads after the page
            "workspace_kb_suggestions": (
                htmx_client,
                reverse("kb_ticket_suggestions", args=[people["ticket"].reference]),
            ),
        }
        result: dict[str, float | int | str] = {"n": n, "articles": args.articles, "vendor": connection.vendor}
        for name, (client, url) in pages.items():
            if not name.startswith(args.only):
                continue
            ms, cpu_ms, queries, sql_ms, slowest_ms = _measure(client, url, args.runs)
            result[f"{name}_ms"] = ms
            result[f"{name}_cpu_ms"] = cpu_ms
            result[f"{name}_sql_ms"] = sql_ms
            result[f"{name}_slowest_sql_ms"] = slowest_ms
            result[f"{name}_queries"] = queries
            print(
                f"{name:26s} {ms:8.2f} ms {cpu_ms:8.2f} cpu ms {sql_ms:7.2f} sql ms (slowest {slowest_ms:6.2f})"
                f" {queries:3d} queries  {url}",
                file=sys.stderr,
            )
        result["seed_seconds"] = round(seed_s, 1)
        result["load_average"] = round(os.getloadavg()[0], 1)
        result["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(result))


if __name__ == "__main__":
    main()
