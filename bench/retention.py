#!/usr/bin/env python
"""Benchmark data protection on a fresh temporary SQLite database: the retention sweep over N closed tickets past
their plan's period (each with 4 timeline events and 2 notifications) among K kept ones, and the erasure of one
customer with T tickets.

    python bench/retention.py [--n 5000] [--kept 20000] [--batch-size 200] [--t 200]

Reports the sweep's wall time, tickets per second and statements per batch (which must not grow with the tickets
kept or already done), and the erasure's time and statements. The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def seed(*, customers: list, org, count: int, closed_at, status: str, start: int) -> list[int]:
    from helpdesk.models import Notification, Ticket, TicketEvent

    ids: list[int] = []
    for first in range(0, count, 2000):
        tickets = [
            Ticket(
                reference=f"HD-R-{start + i:07d}",
                subject=f"Subject of {start + i}",
                description="The customer's words.",
                customer=customers[i % len(customers)],
                organization=org,
                status=status,
                created_at=closed_at - timedelta(days=3),
                updated_at=closed_at,
                last_public_activity_at=closed_at,
                resolved_at=closed_at if status == "closed" else None,
                closed_at=closed_at if status == "closed" else None,
            )
            for i in range(first, min(first + 2000, count))
        ]
        Ticket.objects.bulk_create(tickets)
        events, notifications = [], []
        for ticket in tickets:
            for kind, body in (
                ("created", ""),
                ("customer_message", "Hello, it broke."),
                ("agent_reply", "Fixed."),
                ("status_changed", ""),
            ):
                events.append(
                    TicketEvent(
                        ticket=ticket,
                        kind=kind,
                        body=body,
                        is_public=True,
                        data={"from": "open", "to": "closed"} if kind == "status_changed" else {},
                    )
                )
            for _ in range(2):
                notifications.append(Notification(channel="email", kind="agent_reply", recipient=ticket.customer, to_address="c@bench.test", ticket=ticket, subject=f"[{ticket.reference}] {ticket.subject}", body="Fixed."))  # fmt: skip
        TicketEvent.objects.bulk_create(events, batch_size=2000)
        Notification.objects.bulk_create(notifications, batch_size=2000)
        ids += [t.pk for t in tickets]
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="closed tickets past the retention period")
    parser.add_argument("--kept", type=int, default=20000, help="tickets the sweep must leave alone")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--t", type=int, default=200, help="tickets of the customer erased")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hd-bench-retention-"))
    os.environ["HELPDESK_VAR_DIR"] = str(tmp)
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "helpdesk.settings.test"
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone

        from helpdesk.models import Organization, Plan, User

        call_command("migrate", verbosity=0)
        now = timezone.now()
        plan = Plan.objects.create(code="pro", name="Pro", rank=2, retention_days=365)
        org = Organization.objects.create(name="Bench Ltd", plan=plan)
        customers = [
            User.objects.create(username=f"cust{i}", role="customer", organization=org, first_name=f"First{i}",
                                last_name=f"Last{i}", email=f"cust{i}@bench.test")
            for i in range(50)
        ]  # fmt: skip
        seed(customers=customers, org=org, count=args.n, closed_at=now - timedelta(days=400), status="closed", start=0)
        seed(
            customers=customers,
            org=org,
            count=args.kept,
            closed_at=now - timedelta(days=10),
            status="closed",
            start=args.n,
        )
        erased = User.objects.create(username="erase-me", role="customer", organization=org, email="erase@bench.test")
        seed(customers=[erased], org=org, count=args.t, closed_at=now - timedelta(days=1), status="open", start=10**6)

        from privacy.retention import retention_batch

        per_batch: list[int] = []
        started = time.perf_counter()
        tickets = 0
        while True:
            counter = QueryCounter()
            with connection.execute_wrapper(counter):
                done, _ = retention_batch(now=now, batch_size=args.batch_size)
            if not done:
                break
            tickets += done
            per_batch.append(counter.count)
        sweep_seconds = time.perf_counter() - started
        rerun = QueryCounter()
        with connection.execute_wrapper(rerun):
            retention_batch(now=now, batch_size=args.batch_size)

        from privacy.models import DataRequest, RequestKind, RequestStatus
        from privacy.services import customer_erase

        boss = User.objects.create(username="boss", role="admin")
        request = DataRequest.objects.create(
            kind=RequestKind.ERASURE, customer=erased, requested_by=boss, status=RequestStatus.RUNNING
        )
        counter = QueryCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            customer_erase(request=request, actor=boss, now=now)
        erase_seconds = time.perf_counter() - started
        result = {
            "database": connection.vendor,
            "retention": {
                "due": args.n,
                "kept": args.kept,
                "batch_size": args.batch_size,
                "anonymised": tickets,
                "seconds": round(sweep_seconds, 2),
                "tickets_per_second": round(tickets / sweep_seconds, 1) if sweep_seconds else None,
                "statements_per_batch_first_last": [
                    per_batch[0],
                    per_batch[-2] if len(per_batch) > 1 else per_batch[0],
                ],
                "statements_rerun_nothing_due": rerun.count,
            },
            "erasure": {"tickets": args.t, "seconds": round(erase_seconds, 2), "statements": counter.count},
        }
        connection.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
