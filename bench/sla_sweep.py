"""Benchmark of the SLA sweep: ``python bench/sla_sweep.py [--n 20000] [--due N] [--profile FILE]``.

Builds a fresh database (SQLite in a temporary directory; with ``DATABASE_URL=postgres://...`` a new database
``<name>_slabench`` on that server, dropped at the end), bulk-seeds N open tickets with a first-response and a
resolution clock each, then measures:

- the idle sweep (nothing due) at 10,000 tickets and at N: milliseconds (median of 20 runs) and queries;
- ``--due`` clocks (default: N, one per ticket) breached at once: escalations per second and queries per batch;
- the peak resident memory of the process (``rss_mb``).

``--profile FILE`` runs the busy sweep under cProfile, writes the stats to FILE and prints the top functions to
stderr. The last line printed is one JSON object: ``escalations_per_s``, ``idle_ms``, ``idle_queries``,
``rss_mb`` and the details.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from support.scratch_db import scratch_postgres  # bench/support/scratch_db.py (bench/ is on sys.path when run)

ROOT = Path(__file__).resolve().parent.parent


def fresh_database(var_dir: str):
    """A new, empty database: a file in ``var_dir``, or ``<name>_slabench`` next to a PostgreSQL ``DATABASE_URL``.
    Returns the URL and a function that drops it."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{var_dir}/bench.sqlite3", lambda: None
    return scratch_postgres(url, "slabench")


def setup_django(var_dir: str, url: str) -> None:
    os.environ["HELPDESK_VAR_DIR"] = var_dir
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "helpdesk.settings.test"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed(*, start: int, stop: int, now, fixtures: dict) -> None:
    from escalations.models import ClockState, SLAClock
    from helpdesk.models import Ticket

    batch = 5000
    for first in range(start, stop, batch):
        last = min(first + batch, stop)
        tickets = [
            Ticket(
                reference=f"HD-B-{i:07d}",
                subject=f"Bench ticket {i}",
                description="Seeded by bench/sla_sweep.py",
                customer=fixtures["customer"],
                organization=fixtures["org"],
                team=fixtures["frontline"],
                status="open",
                created_at=now - timedelta(minutes=5),
                updated_at=now,
                last_public_activity_at=now,
            )
            for i in range(first, last)
        ]
        Ticket.objects.bulk_create(tickets)
        clocks = []
        for i, ticket in enumerate(tickets, start=first):
            # Spread the deadlines over the coming ten days: nothing is due now.
            due = now + timedelta(minutes=60 + i % 14400)
            for target, seconds in (("first_response", 3600), ("resolution", 86400)):
                clocks.append(
                    SLAClock(
                        ticket=ticket,
                        target=target,
                        policy=fixtures["policy"],
                        state=ClockState.RUNNING,
                        target_seconds=seconds,
                        started_at=ticket.created_at,
                        running_since=ticket.created_at,
                        due_at=due if target == "first_response" else due + timedelta(days=1),
                        warn_at=due - timedelta(minutes=12),
                        next_check_at=due - timedelta(minutes=12),
                        updated_at=now,
                    )
                )
        SLAClock.objects.bulk_create(clocks, batch_size=2000)


def base_fixtures():
    from escalations.models import BusinessCalendar, EscalationLevel, EscalationPath, SLAPolicy
    from helpdesk.models import Organization, Plan, Team, TeamMembership, User

    plan = Plan.objects.create(code="enterprise", name="Enterprise", rank=3)
    org = Organization.objects.create(name="Bench Ltd", plan=plan)
    customer = User.objects.create(username="bench-customer", role="customer", organization=org)
    frontline = Team.objects.create(name="Frontline", slug="frontline", tier=1)
    technical = Team.objects.create(name="Technical", slug="technical", tier=2)
    managers = Team.objects.create(name="Managers", slug="managers", tier=3)
    for name, role, team, lead in [
        ("lead1", "agent", frontline, True),
        ("spec1", "specialist", technical, True),
        ("spec2", "specialist", technical, False),
        ("boss", "manager", managers, True),
    ]:
        user = User.objects.create(username=name, role=role, email=f"{name}@bench.test")
        TeamMembership.objects.create(team=team, user=user, is_lead=lead)
    calendar = BusinessCalendar.objects.create(name="24x7", timezone="UTC", is_24x7=True)
    policy = SLAPolicy.objects.create(
        name="Enterprise normal", plan=plan, priority="normal", calendar=calendar,
        first_response_minutes=60, next_response_minutes=120, resolution_minutes=1440,
    )  # fmt: skip
    path = EscalationPath.objects.create(name="SLA ladder", escalation_type="support_level")
    EscalationLevel.objects.create(path=path, position=1, team=technical, ack_minutes=30)
    EscalationLevel.objects.create(path=path, position=2, team=managers, ack_minutes=30)
    return {"customer": customer, "org": org, "frontline": frontline, "policy": policy}


class QueryCounter:
    """Counts statements without Django's debug cursor (which quotes every parameter and would skew the timing)."""

    def __init__(self):
        self.count = 0
        self.seconds = 0.0
        self.commit_seconds = 0.0
        self.slowest: dict[str, float] = {}

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            took = time.perf_counter() - started
            self.seconds += took
            key = " ".join(sql.split()[:4])[:60]
            self.slowest[key] = self.slowest.get(key, 0.0) + took

    def __enter__(self):
        from django.db import connection

        self._ctx = connection.execute_wrapper(self)
        self._ctx.__enter__()
        # COMMIT does not pass the execute wrappers; on PostgreSQL it also runs the deferred foreign-key checks.
        self._connection, commit = connection, connection._commit

        def timed_commit():
            started = time.perf_counter()
            try:
                return commit()
            finally:
                self.commit_seconds += time.perf_counter() - started

        connection._commit = timed_commit
        return self

    def __exit__(self, *exc):
        del self._connection._commit
        return self._ctx.__exit__(*exc)


def analyze() -> None:
    """PostgreSQL plans from statistics; autovacuum would gather them soon after a bulk load like ours."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def idle(now) -> dict:
    from escalations.sla.sweep import sla_sweep

    analyze()

    timings = []
    for _ in range(20):
        started = time.perf_counter()
        result = sla_sweep(now=now)
        timings.append((time.perf_counter() - started) * 1000)
        assert result.clocks == 0, result
    with QueryCounter() as queries:
        sla_sweep(now=now)
    return {"ms": round(statistics.median(timings), 3), "max_ms": round(max(timings), 3), "queries": queries.count}


def due_run(*, now, count: int, batch_size: int | None, profile: str = "") -> dict:
    from escalations.models import Escalation, SLAClock
    from escalations.sla.sweep import sla_sweep
    from helpdesk.notifications import dispatch_disabled

    ids = list(SLAClock.objects.filter(target="first_response").order_by("pk").values_list("pk", flat=True)[:count])
    SLAClock.objects.filter(pk__in=ids).update(
        due_at=now - timedelta(minutes=1),
        warn_at=now - timedelta(minutes=13),
        warned_at=now - timedelta(minutes=13),
        next_check_at=now - timedelta(minutes=1),
    )
    analyze()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    load_before = os.getloadavg()[0]
    with dispatch_disabled(), QueryCounter() as queries:
        started, cpu_started = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        result = sla_sweep(now=now, **({"batch_size": batch_size} if batch_size else {}))
        if profiler is not None:
            profiler.disable()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if profiler is not None:
        import pstats

        profiler.dump_stats(profile)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    assert result.escalated == count == Escalation.objects.count(), result
    return {
        "due": count,
        # This machine is shared: the 1-minute load average before and after the run.
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "batch_size": batch_size or inspect.signature(sla_sweep).parameters["batch_size"].default,
        "seconds": round(elapsed, 3),
        "escalations_per_second": round(result.escalated / elapsed, 1),
        # CPU time of this process: the same figure on a machine shared with other work.
        "cpu_seconds": round(cpu, 3),
        "escalations_per_cpu_second": round(result.escalated / cpu, 1),
        "batches": result.batches,
        "queries": queries.count,
        "queries_per_batch": round(queries.count / max(result.batches, 1), 1),
        # Wall time spent in the database driver (statements and fetches), by statement start.
        "db_seconds": round(queries.seconds, 3),
        # Wall time of the COMMITs (PostgreSQL checks the deferred foreign keys of every row written then).
        "commit_seconds": round(queries.commit_seconds, 3),
        "db_top": {key: round(took, 3) for key, took in sorted(queries.slowest.items(), key=lambda kv: -kv[1])[:6]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="open tickets to seed (default 20000)")
    parser.add_argument("--due", type=int, default=None, help="clocks due in the busy run (default: one per ticket)")
    parser.add_argument("--batch-size", type=int, default=None, help="clocks per batch (default: the sweep's own)")
    parser.add_argument("--profile", default="", help="write cProfile stats of the busy sweep to this file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sla-bench-") as var_dir:
        url, drop = fresh_database(var_dir)
        try:
            run(args, var_dir=var_dir, url=url)
        finally:
            drop()


def run(args, *, var_dir: str, url: str) -> None:
    setup_django(var_dir, url)
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from escalations.sla.wiring import connect

    connect()
    call_command("migrate", verbosity=0)
    now = timezone.now()
    fixtures = base_fixtures()
    report: dict = {"n": args.n, "database": connection.vendor}
    small = min(10_000, args.n)
    started = time.perf_counter()
    seed(start=0, stop=small, now=now, fixtures=fixtures)
    report["idle_at_10000"] = idle(now) | {"tickets": small}
    seed(start=small, stop=args.n, now=now, fixtures=fixtures)
    report["seed_seconds"] = round(time.perf_counter() - started, 1)
    report["idle_at_n"] = idle(now) | {"tickets": args.n}
    due = args.n if args.due is None else min(args.due, args.n)
    report["due_run"] = due_run(now=now, count=due, batch_size=args.batch_size, profile=args.profile)
    report["idle_after"] = idle(now)
    # ru_maxrss is in KiB on Linux: the peak of the whole run (seeding included).
    rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    headline = {
        "escalations_per_s": report["due_run"]["escalations_per_second"],
        "idle_ms": report["idle_at_n"]["ms"],
        "idle_queries": report["idle_at_n"]["queries"],
        "rss_mb": rss_mb,
        "load_avg_1m": report["due_run"]["load_avg_1m"],
    }
    print(json.dumps(headline | report))
    connection.close()


if __name__ == "__main__":
    main()
