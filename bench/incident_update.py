"""Benchmark of a major incident's update: ``python bench/incident_update.py [--n 300]``.

Builds a fresh database (SQLite in a temporary directory; with ``DATABASE_URL=postgres://...`` a new database
``<name>_slabench`` on that server, dropped at the end; the helpers of ``bench/sla_sweep.py``), bulk-seeds N open
outage tickets of N customers, then measures linking them to one incident in one batch and delivering one update to
all of them (one public reply per ticket through the reply service): milliseconds, queries, replies per second, and a
re-run of the delivery (which must write nothing). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sla_sweep import fresh_database, setup_django


def run(args, *, var_dir: str, url: str) -> dict:
    setup_django(var_dir, url)
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from helpdesk.models import Category, Organization, Plan, Team, Ticket, User
    from incidents.services import (
        incident_declare,
        incident_link_tickets,
        incident_update_deliver,
        incident_update_post,
    )

    call_command("migrate", verbosity=0)
    now = timezone.now()
    plan = Plan.objects.create(code="enterprise", name="Enterprise", rank=3)
    org = Organization.objects.create(name="Bench org", plan=plan)
    outage = Category.objects.create(name="Outage", slug="outage")
    team = Team.objects.create(name="Frontline", slug="frontline", tier=1)
    manager = User.objects.create_user(username="bench-manager", role="manager", email="m@bench.test")
    customers = User.objects.bulk_create(
        [User(username=f"bc{i}", role="customer", organization=org, email=f"bc{i}@bench.test") for i in range(args.n)]
    )
    Ticket.objects.bulk_create(
        [
            Ticket(
                reference=f"HD-IB-{i:07d}",
                subject="Dashboard down",
                description="Seeded by bench/incident_update.py",
                customer=c,
                organization=org,
                category=outage,
                team=team,
                tier=1,
                created_at=now,
                updated_at=now,
                last_public_activity_at=now,
            )
            for i, c in enumerate(customers)
        ]
    )
    tickets = list(Ticket.objects.order_by("pk"))
    incident = incident_declare(
        actor=manager, title="Dashboard down", customer_message="We are on it.", category=outage
    )

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as link_q:
        incident_link_tickets(incident=incident, tickets=tickets, actor=manager)
    link_ms = (time.perf_counter() - started) * 1000
    update = incident_update_post(incident=incident, actor=manager, message="Rolling back.", deliver_later=False)
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as deliver_q:
        report = incident_update_deliver(update=update)
    deliver_s = time.perf_counter() - started
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as rerun_q:
        rerun = incident_update_deliver(update=update)
    rerun_ms = (time.perf_counter() - started) * 1000
    result = {
        "n": args.n,
        "database": connection.vendor,
        "link_ms": round(link_ms, 1),
        "link_queries": len(link_q),
        "deliver_ms": round(deliver_s * 1000, 1),
        "deliver_queries": len(deliver_q),
        "deliver_queries_per_ticket": round(len(deliver_q) / args.n, 1),
        "replies_per_s": round(report.delivered / deliver_s, 1),
        "delivered": report.delivered,
        "rerun_ms": round(rerun_ms, 1),
        "rerun_queries": len(rerun_q),
        "rerun_delivered": rerun.delivered,
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    connection.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="linked tickets (default 300)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="incident-bench-") as var_dir:
        url, drop = fresh_database(var_dir)
        try:
            result = run(args, var_dir=var_dir, url=url)
        finally:
            drop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
