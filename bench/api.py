#!/usr/bin/env python
"""Benchmark the ticket API at scale: median time and query count of /api/tickets/ page 1, of a ticket's detail and
of its events, of its SLA clocks, and of /api/escalations/ page 1 (one escalation per ten tickets), on a fresh
temporary SQLite database seeded with N tickets (default 100,000).

    python bench/api.py [--n 100000] [--runs 30]
    DATABASE_URL=postgres://…/helpdesk_large python bench/api.py --reuse   # a database from bench/seed_large.py

The last line of output is one JSON object. Target: under 50 ms, with query counts independent of N.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of tickets (default 100000)")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per measurement (default 30)")
    parser.add_argument(
        "--reuse", action="store_true", help="use the database in DATABASE_URL as it is (bench/seed_large.py)"
    )
    args = parser.parse_args()
    reuse_url = os.environ.get("DATABASE_URL", "") if args.reuse else ""
    if args.reuse and not reuse_url:
        parser.error("--reuse needs DATABASE_URL (a database built by bench/seed_large.py)")

    tmp = Path(tempfile.mkdtemp(prefix="hd-bench-api-"))
    # A fresh database (or the reused one) and var/ of our own, chosen before Django reads its settings.
    os.environ["HELPDESK_VAR_DIR"] = str(tmp)
    os.environ["DATABASE_URL"] = reuse_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "helpdesk.settings.test"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    try:
        import django

        django.setup()
        result = run(n=args.n, runs=args.runs, reuse=bool(reuse_url))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))


def seed(n: int, rng: random.Random) -> dict:
    from django.core.management import call_command

    from helpdesk.models import (
        Category,
        Organization,
        Plan,
        Priority,
        Status,
        Team,
        TeamMembership,
        Ticket,
        TicketEvent,
        User,
    )

    call_command("migrate", verbosity=0)
    plan = Plan.objects.create(code="pro", name="Pro", rank=2)
    orgs = Organization.objects.bulk_create(
        [Organization(name=f"Org {i}", plan=plan, email_domain=f"org{i}.test") for i in range(200)]
    )
    categories = Category.objects.bulk_create(
        [Category(name=name, slug=name.lower()) for name in ("Billing", "Outage", "Login", "Privacy")]
    )
    frontline = Team.objects.create(name="Frontline", slug="frontline", tier=1)
    compliance = Team.objects.create(name="Compliance", slug="compliance", tier=2)
    customers = User.objects.bulk_create(
        [User(username=f"c{i}", role="customer", organization=orgs[i % len(orgs)]) for i in range(1000)]
    )
    agents = User.objects.bulk_create(
        [User(username=f"a{i}", role="agent", first_name="Agent", last_name=str(i)) for i in range(20)]
    )
    TeamMembership.objects.bulk_create([TeamMembership(team=frontline, user=a) for a in agents])
    manager = User.objects.create(username="boss", role="manager")

    start = datetime(2024, 1, 1, tzinfo=UTC)
    statuses = list(Status.values)
    priorities = list(Priority.values)
    batch: list[Ticket] = []
    for i in range(1, n + 1):
        customer = customers[i % len(customers)]
        restricted = i % 50 == 0
        created = start + timedelta(minutes=i * 5)
        batch.append(
            Ticket(
                reference=f"HD-{created.year}-{i:06d}",
                subject=f"Ticket {i}",
                description="Lorem ipsum " * 10,
                customer=customer,
                organization_id=customer.organization_id,
                category=categories[i % len(categories)],
                priority=rng.choice(priorities),
                status=rng.choice(statuses),
                team=compliance if restricted else frontline,
                assignee=None if restricted else agents[i % len(agents)],
                restricted=restricted,
                created_at=created,
                updated_at=created,
                last_public_activity_at=created,
            )
        )
        if len(batch) == 5000:
            Ticket.objects.bulk_create(batch)
            batch = []
    Ticket.objects.bulk_create(batch)
    # One event per ticket, and a long timeline on the ticket we open.
    ids = list(Ticket.objects.values_list("pk", flat=True))
    for chunk in range(0, len(ids), 5000):
        TicketEvent.objects.bulk_create(
            [TicketEvent(ticket_id=pk, kind="created", is_public=True, body="x") for pk in ids[chunk : chunk + 5000]]
        )
    target = Ticket.objects.filter(restricted=False, customer=customers[1]).order_by("-created_at").first()
    TicketEvent.objects.bulk_create(
        [
            TicketEvent(
                ticket=target,
                kind=["customer_message", "agent_reply", "internal_note"][k % 3],
                actor=agents[0] if k % 3 else target.customer,
                is_public=k % 3 != 2,
                body=f"message {k}",
            )
            for k in range(40)
        ]
    )
    # One escalation per ten tickets (a tenth of them restricted with their ticket), for /api/escalations/.
    from escalations.models import Escalation

    technical = Team.objects.create(name="Technical", slug="technical", tier=2)
    escalations = []
    for pk, created in Ticket.objects.filter(pk__in=ids[::10]).values_list("pk", "created_at"):
        escalations.append(
            Escalation(
                ticket_id=pk,
                escalation_type="technical",
                mode="functional",
                status=rng.choice(["open", "accepted", "resolved"]),
                from_tier=1,
                to_tier=2,
                from_team=frontline,
                to_team=technical,
                requested_by_kind="agent",
                requested_by=agents[pk % len(agents)],
                reason="Needs tier 2",
                dossier_problem="Export fails",
                dossier_tried="Retried",
                dossier_desired_outcome="Working export",
                dossier_mood="calm",
                created_at=created + timedelta(hours=1),
                ack_due_at=created + timedelta(hours=2),
            )
        )
        if len(escalations) == 5000:
            Escalation.objects.bulk_create(escalations)
            escalations = []
    Escalation.objects.bulk_create(escalations)
    return {"agent": agents[0], "manager": manager, "customer": customers[1], "ticket": target}


def reused_people() -> dict:
    """The people of a database made by bench/seed_large.py, and an open ticket of the customer with a timeline."""
    from helpdesk.models import Ticket, User

    customer = User.objects.get(username="customer1")
    ticket = Ticket.objects.filter(customer=customer, restricted=False).order_by("-created_at").first()
    return {
        "agent": User.objects.get(username="agent0"),
        "manager": User.objects.get(username="manager0"),
        "customer": customer,
        "ticket": ticket,
    }


def measure(client, path: str, headers: dict, runs: int) -> tuple[float, int, float, float]:
    """Median wall-clock ms, the query count, median CPU ms of this process and median ms in the database."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(path, headers=headers)  # warm-up (and last_used_at write)
    assert response.status_code == 200, (path, response.status_code, response.content[:200])
    timings, cpu, sql = [], [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(path, headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        sql.append(sum(float(query["time"]) * 1000 for query in queries.captured_queries))
        assert response.status_code == 200
    return (
        round(statistics.median(timings), 2),
        len(queries),
        round(statistics.median(cpu), 2),
        round(statistics.median(sql), 2),
    )


def run(*, n: int, runs: int, reuse: bool = False) -> dict:
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from helpdesk.api.services import api_token_create
    from helpdesk.models import Ticket

    rng = random.Random(42)
    started = time.perf_counter()
    if reuse:
        call_command("migrate", verbosity=0)
        people = reused_people()
        n = Ticket.objects.count()
    else:
        people = seed(n, rng)
    seeded_s = round(time.perf_counter() - started, 1)
    print(f"{'reused' if reuse else 'seeded'} {n} tickets ({connection.vendor})", file=sys.stderr)
    client = Client()
    ticket = people["ticket"]
    result: dict = {"n": n, "runs": runs, "seed_seconds": seeded_s}
    for role in ("agent", "manager", "customer"):
        _token, raw = api_token_create(user=people[role], name="bench")
        headers = {"Authorization": f"Bearer {raw}"}
        paths = [
            ("list", "/api/tickets/"),
            ("detail", f"/api/tickets/{ticket.reference}/"),
            ("events", f"/api/tickets/{ticket.reference}/events/"),
            ("sla", f"/api/tickets/{ticket.reference}/sla/"),
        ]
        if role != "customer":
            paths.append(("escalations", "/api/escalations/"))
        for name, path in paths:
            ms, queries, cpu_ms, sql_ms = measure(client, path, headers, runs)
            result[f"{role}_{name}_ms"] = ms
            result[f"{role}_{name}_queries"] = queries
            result[f"{role}_{name}_cpu_ms"] = cpu_ms
            result[f"{role}_{name}_sql_ms"] = sql_ms
            print(
                f"{role:9} {name:11} median {ms:7.2f} ms {cpu_ms:7.2f} cpu ms {sql_ms:7.2f} sql ms {queries} queries",
                file=sys.stderr,
            )
    result["detail_with_events_ms"] = round(result["agent_detail_ms"] + result["agent_events_ms"], 2)
    result["max_ms"] = max(
        v
        for k, v in result.items()
        if k.endswith("_ms") and not k.endswith(("_cpu_ms", "_sql_ms")) and k != "detail_with_events_ms"
    )
    result["target_ms"] = 25 if connection.vendor == "postgresql" else 30
    result["load_average"] = round(os.getloadavg()[0], 1)
    result["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


if __name__ == "__main__":
    main()
