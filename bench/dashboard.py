"""Benchmark the manager dashboard on a large data set.

    python bench/dashboard.py [--n 100000] [--escalations 20000] [--runs 15] [--days 90] [--rollups | --rollups-only]
                              [--keep NAME]

Creates a fresh temporary database (a new PostgreSQL database next to ``DATABASE_URL`` when it is set, otherwise a
temporary SQLite file), migrates it, bulk-seeds N tickets over the last year with their timeline events and the
escalations, then renders ``/reports/`` as a signed-in manager: a few warm-up requests, then ``--runs`` timed ones.
Seeding and ``metrics_rebuild`` run in a child process, so ``rss_mb`` is the resident memory of the process that
serves the timed requests (``seed_rss_mb`` is the child's). ``--keep NAME`` keeps the database (a SQLite file path,
or a PostgreSQL database name) and reuses it when it already holds the data: migrated, not seeded again.
With ``--rollups`` it measures twice on the same data: from the facts, then after ``metrics_rebuild`` from the daily
rollups (``dashboard_ms``/``trends_ms`` are the rollup figures, ``facts_*`` the others). The trend explorer is
timed over one year for every metric, split by team (``trends_ms`` is the median over metrics and runs).
Progress goes to stderr; the last line on stdout is one JSON object with the median and the query count.
The temporary database is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def prepare_database(tmp: Path, keep: str | None = None) -> tuple[str, str | None]:
    """Point the settings at a fresh (or kept) database before Django starts; returns (vendor, admin URL to drop
    it, ``None`` when it is kept)."""
    os.environ["HELPDESK_VAR_DIR"] = str(tmp)
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
    # The bench manager signs in with force_login: two-step enrolment is not what is measured.
    os.environ["MFA_REQUIRED_ROLES"] = ""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        path = Path(keep).resolve() if keep else tmp / "bench.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        return "sqlite", None
    import psycopg

    name = keep or f"bench_dashboard_{os.getpid()}"
    parts = urlsplit(url)
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    return "postgresql", None if keep else url


def drop_database(admin_url: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    name = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(*, n: int, n_escalations: int, rng: random.Random) -> None:
    """Bulk rows, no services: people and teams, N tickets over 365 days, their events, and the escalations."""
    import datetime as dt

    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from escalations.models import Escalation, EscalationType
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

    now = timezone.now()
    unusable = make_password(None)
    plans = [Plan.objects.create(code=c, name=c.title(), rank=i) for i, c in enumerate(["basic", "pro", "enterprise"])]
    orgs = Organization.objects.bulk_create(
        Organization(name=f"Org {i}", plan=plans[i % 3], email_domain=f"org{i}.example") for i in range(40)
    )
    customers = User.objects.bulk_create(
        User(username=f"c{i}", role=Role.CUSTOMER, organization=orgs[i % len(orgs)], password=unusable)
        for i in range(400)
    )
    categories = Category.objects.bulk_create(
        Category(name=name, slug=name.lower())
        for name in ["Billing", "Login", "Outage", "Integrations", "Data", "Orders"]
    )
    frontline = Team.objects.create(name="Frontline", slug="frontline", tier=1)
    technical = Team.objects.create(name="Technical", slug="technical", tier=2)
    billing = Team.objects.create(name="Billing", slug="billing", tier=2)
    managers = Team.objects.create(name="Managers", slug="managers", tier=3)
    agents = User.objects.bulk_create(User(username=f"a{i}", role=Role.AGENT, password=unusable) for i in range(24))
    specialists = User.objects.bulk_create(
        User(username=f"s{i}", role=Role.SPECIALIST, password=unusable) for i in range(8)
    )
    manager = User.objects.create(username="manager", role=Role.MANAGER, password=unusable)  # force_login only
    TeamMembership.objects.bulk_create(
        [TeamMembership(team=frontline, user=a) for a in agents]
        + [TeamMembership(team=technical if i % 2 else billing, user=s) for i, s in enumerate(specialists)]
        + [TeamMembership(team=managers, user=manager)]
    )

    statuses = [Status.CLOSED] * 50 + [Status.RESOLVED] * 25 + [Status.OPEN] * 15 + [Status.NEW] * 5
    statuses += [Status.PENDING_CUSTOMER] * 5
    channels, priorities = list(Channel.values), list(Priority.values)
    start = time.perf_counter()
    tickets: list[Ticket] = []
    for i in range(n):
        created = now - dt.timedelta(seconds=rng.uniform(0, 365 * 86400))
        status = rng.choice(statuses)
        customer = customers[i % len(customers)]
        resolved = created + dt.timedelta(hours=rng.uniform(0.5, 72))
        is_open = status not in (Status.RESOLVED, Status.CLOSED)
        due = now + dt.timedelta(minutes=rng.uniform(-600, 6000)) if is_open else None
        tickets.append(
            Ticket(
                reference=f"HD-B-{i:07d}",
                subject=f"Bench ticket {i}",
                description="Benchmark.",
                customer=customer,
                organization_id=customer.organization_id,
                channel=channels[i % len(channels)],
                category=categories[i % len(categories)],
                priority=priorities[i % len(priorities)],
                status=status,
                team=frontline,
                assignee=agents[i % len(agents)],
                tier=1,
                restricted=i % 97 == 0,
                is_emergency=is_open and i % 997 == 0,
                sla_due_at=due,
                # Warned two hours before the deadline: a few hundred tickets are "breaching soon" at any moment.
                sla_warn_at=due - dt.timedelta(hours=2) if due else None,
                created_at=created,
                updated_at=created,
                last_public_activity_at=created,
                resolved_at=None if is_open else min(resolved, now),
            )
        )
    Ticket.objects.bulk_create(tickets, batch_size=5000)
    log(f"  tickets: {n} in {time.perf_counter() - start:.1f}s")

    start = time.perf_counter()
    events: list[TicketEvent] = []
    for i, ticket in enumerate(tickets):
        t = ticket.created_at
        events.append(TicketEvent(ticket=ticket, kind=EventKind.CREATED, is_public=True, created_at=t))
        if ticket.status == Status.NEW:
            continue
        replies = 1 if i % 3 else 2
        for r in range(replies):
            events.append(
                TicketEvent(
                    ticket=ticket,
                    kind=EventKind.AGENT_REPLY,
                    actor=ticket.assignee,
                    is_public=True,
                    body="Reply.",
                    created_at=t + dt.timedelta(minutes=20 * (r + 1)),
                )
            )
        if ticket.resolved_at:
            if i % 11 == 0:  # resolved, reopened by the customer, resolved again
                events.append(
                    TicketEvent(
                        ticket=ticket,
                        kind=EventKind.STATUS_CHANGED,
                        is_public=True,
                        data={"from": "resolved", "to": "open"},
                        created_at=ticket.resolved_at,
                    )
                )
            events.append(
                TicketEvent(
                    ticket=ticket,
                    kind=EventKind.STATUS_CHANGED,
                    is_public=True,
                    data={"from": "open", "to": "resolved"},
                    created_at=ticket.resolved_at,
                )
            )
        if len(events) >= 20000:
            TicketEvent.objects.bulk_create(events, batch_size=5000)
            events = []
    TicketEvent.objects.bulk_create(events, batch_size=5000)
    log(f"  events: {TicketEvent.objects.count()} in {time.perf_counter() - start:.1f}s")

    start = time.perf_counter()
    escalated = rng.sample(tickets, min(n_escalations, n))
    types = list(EscalationType.values)
    hops: list[Escalation] = []
    for i, ticket in enumerate(escalated):
        created = min(ticket.created_at + dt.timedelta(hours=rng.uniform(0.2, 30)), now)
        accepted = created + dt.timedelta(minutes=rng.uniform(5, 120))
        status = ["resolved", "resolved", "returned", "accepted", "open"][i % 5]
        hops.append(
            Escalation(
                ticket=ticket,
                escalation_type=types[i % len(types)],
                mode="functional",
                status=status,
                from_tier=1,
                to_tier=2,
                from_team=frontline,
                to_team=technical if i % 2 else billing,
                requested_by_kind="agent",
                requested_by=ticket.assignee,
                reason="Bench.",
                dossier_problem="p",
                dossier_tried="t",
                dossier_desired_outcome="o",
                dossier_mood="calm",
                created_at=created,
                accepted_by=specialists[i % len(specialists)] if status != "open" else None,
                accepted_at=accepted if status != "open" else None,
                closed_at=accepted + dt.timedelta(hours=rng.uniform(1, 48))
                if status in ("resolved", "returned")
                else None,
            )
        )
    Escalation.objects.bulk_create(hops, batch_size=5000)
    log(f"  escalations: {len(hops)} in {time.perf_counter() - start:.1f}s")

    start = time.perf_counter()
    seed_analytics(tickets=tickets, escalations=hops, people=agents + specialists + [manager], rng=rng, now=now)
    log(f"  SLA clocks, surveys, compensation, RCAs, KB: {time.perf_counter() - start:.1f}s")


def seed_analytics(*, tickets, escalations, people, rng, now) -> None:
    """What the other apps write, in bulk: two SLA clocks per ticket (first response, resolution; one in eight
    breached), a survey for a third of the resolved tickets, compensation on one escalation in ten (a fifth of it
    pending), an RCA with a corrective action on one escalation in ten, 30 articles, and 20,000 suggestion openings."""
    import datetime as dt
    from decimal import Decimal

    from escalations.models import ClockState, ClockTarget, CompensationRequest, SLAClock
    from feedback.models import CauseCategory, CorrectiveAction, RootCauseAnalysis, Survey
    from helpdesk.models import Category
    from knowledge_base.models import Article, Deflection

    clocks, surveys = [], []
    for i, ticket in enumerate(tickets):
        resolved = ticket.resolved_at
        for target, minutes in ((ClockTarget.FIRST_RESPONSE, 20), (ClockTarget.RESOLUTION, 60 * 24)):
            met_at = (
                ticket.created_at + dt.timedelta(minutes=minutes) if target == ClockTarget.FIRST_RESPONSE else resolved
            )
            clocks.append(
                SLAClock(
                    ticket=ticket,
                    target=target,
                    state=ClockState.MET if met_at else ClockState.RUNNING,
                    target_seconds=minutes * 60,
                    started_at=ticket.created_at,
                    running_since=None if met_at else ticket.created_at,
                    met_at=met_at,
                    breached_at=ticket.created_at + dt.timedelta(minutes=minutes) if i % 8 == 0 else None,
                    updated_at=ticket.created_at,
                )
            )
        if resolved and i % 3 == 0:
            surveys.append(
                Survey(
                    ticket=ticket,
                    is_escalated=False,
                    nonce="bench",
                    created_at=resolved,
                    sent_at=resolved,
                    answered_at=min(resolved + dt.timedelta(hours=5), now),
                    csat=1 + i % 5,
                    explain_count=1 + i % 3,
                )
            )
        if len(clocks) >= 20000:
            SLAClock.objects.bulk_create(clocks, batch_size=5000)
            clocks = []
    SLAClock.objects.bulk_create(clocks, batch_size=5000)
    Survey.objects.bulk_create(surveys, batch_size=5000)
    escalated_ids = {e.ticket_id for e in escalations}
    Survey.objects.filter(ticket_id__in=escalated_ids).update(is_escalated=True)

    approver = people[-1]
    comps, rcas = [], []
    causes = list(CauseCategory.values)
    for i, escalation in enumerate(escalations):
        if i % 10 == 0:
            status = ["auto_approved", "approved", "approved", "rejected", "pending"][i // 10 % 5]
            comps.append(
                CompensationRequest(
                    ticket_id=escalation.ticket_id,
                    escalation=escalation,
                    amount=Decimal(rng.choice([10, 25, 50, 120, 300])),
                    reason="Bench.",
                    status=status,
                    requested_by=escalation.requested_by,
                    requester_limit=Decimal(50),
                    decided_by=approver if status in ("approved", "rejected") else None,
                    created_at=escalation.created_at,
                )
            )
        if i % 10 == 5:
            rcas.append(
                RootCauseAnalysis(
                    ticket_id=escalation.ticket_id,
                    escalation=escalation,
                    cause_category=causes[i % len(causes)],
                    preventable=i % 3 == 0,
                    five_whys="Bench.",
                    created_at=min(escalation.created_at + dt.timedelta(days=1), now),
                )
            )
    CompensationRequest.objects.bulk_create(comps, batch_size=5000)
    rcas = RootCauseAnalysis.objects.bulk_create(rcas, batch_size=5000)
    CorrectiveAction.objects.bulk_create(
        CorrectiveAction(
            rca=rca,
            description="Fix it.",
            owner=approver,
            due_date=(rca.created_at + dt.timedelta(days=14)).date(),
            status="done" if i % 2 else "open",
        )
        for i, rca in enumerate(rcas)
    )
    categories = list(Category.objects.all())
    articles = Article.objects.bulk_create(
        Article(
            title=f"Article {i}",
            body="Bench.",
            category=categories[i % len(categories)],
            status="published",
            published_at=now - dt.timedelta(days=400),
        )
        for i in range(30)
    )
    Deflection.objects.bulk_create(
        (
            Deflection(
                article=articles[i % len(articles)],
                session_key=f"bench-{i}",
                opened_at=now - dt.timedelta(seconds=rng.uniform(0, 365 * 86400)),
                ticket=tickets[i * 5] if i % 4 == 0 else None,
            )
            for i in range(min(20000, len(tickets) // 5))
        ),
        batch_size=5000,
    )


def measure(*, runs: int, days: int, slowest: int = 0) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from helpdesk.models import User
    from reports.metrics import METRICS

    client = Client()
    client.force_login(User.objects.get(username="manager"))
    url = f"/reports/?days={days}"
    for _ in range(2):  # warm-up: connection, template loading, planner statistics
        response = client.get(url)
        assert response.status_code == 200, (response.status_code, response.get("Location"))
    timings, cpu_timings = [], []
    for _ in range(runs):
        start, cpu_start = time.perf_counter(), time.process_time()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        cpu_timings.append((time.process_time() - cpu_start) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    dashboard_queries = len(queries)
    for query in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:slowest]:
        log(f"  {float(query['time']) * 1000:7.1f} ms  {query['sql'][:300]}")
    import datetime as dt

    today = dt.datetime.now(dt.UTC).date()
    period = f"start={(today - dt.timedelta(days=364)).isoformat()}&end={today.isoformat()}"
    trend_timings, trend_queries = [], 0
    for key in METRICS:
        trend_url = f"/reports/explorer/?metric={key}&group=team&{period}"
        assert client.get(trend_url).status_code == 200
        for _ in range(max(1, runs // 5)):
            start = time.perf_counter()
            assert client.get(trend_url).status_code == 200
            trend_timings.append((time.perf_counter() - start) * 1000)
        with CaptureQueriesContext(connection) as captured:
            client.get(trend_url)
            count = len(captured)
        trend_queries = max(trend_queries, count)
    return {
        "dashboard_ms": round(statistics.median(timings), 1),
        "dashboard_min_ms": round(min(timings), 1),
        "dashboard_max_ms": round(max(timings), 1),
        # CPU time of this process (SQLite runs in it; PostgreSQL's server time is not included): steadier than the
        # wall clock on a machine shared with other jobs.
        "dashboard_cpu_ms": round(statistics.median(cpu_timings), 1),
        "dashboard_queries": dashboard_queries,
        "trends_ms": round(statistics.median(trend_timings), 1),
        "trends_max_ms": round(max(trend_timings), 1),
        "trends_queries": trend_queries,
    }


def child(args: argparse.Namespace, vendor: str) -> None:
    """The child process: migrate, seed when the database is empty, and/or rebuild the rollups; prints one JSON line."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from helpdesk.models import Ticket

    n_escalations = args.escalations if args.escalations is not None else args.n // 5
    result: dict = {}
    call_command("migrate", verbosity=0)
    if args.child == "seed":
        if Ticket.objects.exists():
            log(f"  reusing the kept database ({Ticket.objects.count()} tickets)")
        else:
            start = time.perf_counter()
            seed(n=args.n, n_escalations=n_escalations, rng=random.Random(8))
            result["seed_seconds"] = round(time.perf_counter() - start, 1)
    else:
        start = time.perf_counter()
        call_command("metrics_rebuild", verbosity=0)
        result["rebuild_seconds"] = round(time.perf_counter() - start, 1)
        log(f"  metrics_rebuild: {result['rebuild_seconds']}s")
    if vendor == "postgresql":
        # What autovacuum does on a live database: statistics for the planner and the visibility map.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
    result[f"{args.child}_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


def run_child(kind: str) -> dict:
    """Run this script as a child (``--child seed`` or ``rebuild``) with the same arguments and database."""
    argv = list(sys.argv[1:])
    completed = subprocess.run(
        [sys.executable, __file__, *argv, "--child", kind], check=True, stdout=subprocess.PIPE, text=True
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="tickets to seed (default 100000)")
    parser.add_argument("--escalations", type=int, default=None, help="escalations to seed (default n / 5)")
    parser.add_argument("--runs", type=int, default=15, help="timed requests (default 15)")
    parser.add_argument("--slowest", type=int, default=0, help="log the N slowest queries of one request")
    parser.add_argument("--days", type=int, default=90, choices=(7, 28, 90), help="dashboard period (default 90)")
    parser.add_argument("--rollups", action="store_true", help="also measure after metrics_rebuild (daily rollups)")
    parser.add_argument("--rollups-only", action="store_true", help="measure only after metrics_rebuild")
    parser.add_argument("--keep", help="keep (and reuse) the database: a SQLite file path or a PostgreSQL name")
    parser.add_argument(
        "--keep-rollups", action="store_true", help="with --keep: do not rebuild rollups a kept database already has"
    )
    parser.add_argument("--child", choices=("seed", "rebuild"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    n_escalations = args.escalations if args.escalations is not None else args.n // 5

    if args.child:
        # The parent has already pointed DATABASE_URL and HELPDESK_VAR_DIR at the database.
        child(args, "postgresql" if os.environ["DATABASE_URL"].startswith("postgres") else "sqlite")
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    vendor, admin_url = prepare_database(tmp, args.keep)
    try:
        log(f"bench/dashboard.py: {vendor}, {args.n} tickets, {n_escalations} escalations")
        result = {
            "bench": "dashboard",
            "database": vendor,
            "tickets": args.n,
            "escalations": n_escalations,
            "days": args.days,
            "runs": args.runs,
            **run_child("seed"),
        }
        import django

        django.setup()
        from reports.models import MetricRollupBuild

        if not args.rollups_only:
            # From the facts first: a kept database may hold rollups from an earlier run.
            MetricRollupBuild.objects.all().delete()
        measured = {} if args.rollups_only else measure(runs=args.runs, days=args.days, slowest=args.slowest)
        if args.rollups or args.rollups_only:
            result.update({f"facts_{key}": value for key, value in measured.items()})
            if not (args.keep_rollups and MetricRollupBuild.objects.exists()):
                result.update(run_child("rebuild"))
            measured = measure(runs=args.runs, days=args.days, slowest=args.slowest)
        result.update(measured)
        result["target_ms"] = 300 if vendor == "sqlite" else 150
        result["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        print(json.dumps(result))
    finally:
        if admin_url:
            drop_database(admin_url)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
