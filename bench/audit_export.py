"""Benchmark of the audit export: ``python bench/audit_export.py [--n 1000000]``.

Builds a fresh database in a temporary directory (SQLite unless BENCH_DATABASE_URL is set; a PostgreSQL database
named there is flushed first, so give it a scratch one), bulk-seeds N events (half ticket events, half account-level
audit rows, interleaved in time), and streams the CSV export of the whole period through the real response
(``audit_export_response``) at N/10 and at N events, discarding the bytes. For each run it reports rows per second and
the process's resident memory before and at its peak during the stream (sampled every 64 KiB chunk): constant memory
means what the export adds (``rss_added_by_export_mb``) does not grow with N.

The last line printed is one JSON object: ``rows_per_s`` and ``rss_mb`` (peak) are those of the run at N.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE / 2**20


def setup_django(var_dir: str) -> None:
    os.environ["HELPDESK_VAR_DIR"] = var_dir
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{var_dir}/bench.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "helpdesk.settings.test"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


START = datetime(2026, 1, 1, tzinfo=UTC)


def seed(*, start: int, stop: int, fixtures: dict) -> None:
    """Events ``start``..``stop``: even ones on the ticket's timeline, odd ones on the account trail, one second
    apart, each with a small detail object like the real ones."""
    from helpdesk.models import AuditEvent, TicketEvent

    batch = 10_000
    for first in range(start, stop, batch):
        last = min(first + batch, stop)
        ticket_events, audit_events = [], []
        for i in range(first, last):
            moment = START + timedelta(seconds=i)
            if i % 2 == 0:
                ticket_events.append(
                    TicketEvent(
                        ticket=fixtures["ticket"],
                        kind="status_changed",
                        actor=fixtures["agent"],
                        is_public=True,
                        data={"from": "open", "to": "pending_customer"},
                        created_at=moment,
                    )
                )
            else:
                audit_events.append(
                    AuditEvent(
                        action="sign_in",
                        actor=fixtures["agent"],
                        actor_label="agent",
                        target_type="user",
                        target_id=str(fixtures["agent"].pk),
                        ip_address="10.0.0.1",
                        detail={"via": "web"},
                        created_at=moment,
                    )
                )
        TicketEvent.objects.bulk_create(ticket_events)
        AuditEvent.objects.bulk_create(audit_events)


def fixtures() -> dict:
    from helpdesk.models import Organization, Plan, Ticket, User

    plan = Plan.objects.create(code="bench", name="Bench")
    org = Organization.objects.create(name="Bench Org", plan=plan)
    customer = User.objects.create_user(username="customer", password=None, role="customer", organization=org)
    agent = User.objects.create_user(username="agent", password=None, role="agent")
    admin = User.objects.create_user(username="admin", password=None, role="admin")
    ticket = Ticket.objects.create(
        reference="HD-BENCH-1", subject="Bench", description="Seeded by bench/audit_export.py", customer=customer,
        organization=org,
    )  # fmt: skip
    return {"agent": agent, "admin": admin, "ticket": ticket}


def export(*, n: int, admin) -> dict:
    from helpdesk.audit_export import Period, audit_export_response

    last_day = (START + timedelta(seconds=n)).date()
    gc.collect()
    before = rss_mb()
    peak = before
    rows = size = 0
    started = time.perf_counter()
    response = audit_export_response(actor=admin, period=Period(START.date(), last_day), fmt="csv")
    for chunk in response.streaming_content:
        size += len(chunk)
        rows += chunk.count(b"\n")
        peak = max(peak, rss_mb())
    seconds = time.perf_counter() - started
    events = rows - 3  # the column names, the header record and the footer record
    return {
        "events": events,
        "seconds": round(seconds, 1),
        "rows_per_s": round(events / seconds),
        "mb_written": round(size / 2**20, 1),
        "rss_mb_before": round(before, 1),
        "rss_mb": round(peak, 1),
        "rss_added_by_export_mb": round(peak - before, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="events to seed (default 1000000)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="audit-bench-") as var_dir:
        setup_django(var_dir)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        if connection.vendor != "sqlite":
            call_command("flush", interactive=False, verbosity=0)
        base = fixtures()
        small = max(args.n // 10, 1)
        started = time.perf_counter()
        seed(start=0, stop=small, fixtures=base)
        first = export(n=small, admin=base["admin"]) | {"n": small}
        seed(start=small, stop=args.n, fixtures=base)
        seeded = time.perf_counter() - started - first["seconds"]
        second = export(n=args.n, admin=base["admin"]) | {"n": args.n}
        report = {
            "n": args.n,
            "database": connection.vendor,
            "seed_seconds": round(seeded, 1),
            "runs": [first, second],
            "rows_per_s": second["rows_per_s"],
            "rss_mb": second["rss_mb"],
            # Seeding leaves the process larger between the runs; what the export itself adds must not grow with N.
            "rss_added_by_export_mb": [first["rss_added_by_export_mb"], second["rss_added_by_export_mb"]],
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
