#!/usr/bin/env python
"""Benchmark a bulk assign of N tickets (default 500) through the queue's bulk-action runner, and the saved views'
navigation counts: median wall time and query count of one run, tickets per second, and peak RSS.

    python bench/bulk_assign.py [--n 500] [--runs 3]

Honours DATABASE_URL: with a PostgreSQL URL it creates (and afterwards drops) a ``test_``-prefixed database next to
it, exactly as the test runner does; without one it uses a temporary SQLite file. The last line of output is one
JSON object (``assign_ms``: median wall time of one run; ``assign_queries``: its queries, the same for any N since
the assign is set-based through ``ticket_assign_many``; ``rss_mb``: peak RSS). What it answers: whether a 500-ticket
action is fine synchronously in a web request (see helpdesk/bulk_actions.py).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="tickets per bulk action (default 500)")
    parser.add_argument("--runs", type=int, default=3, help="timed bulk actions (default 3)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hd-bench-bulk-"))
    os.environ["HELPDESK_VAR_DIR"] = str(tmp)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "helpdesk.settings.test"
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        result = run(n=args.n, runs=args.runs)
        result["database"] = connection.vendor
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))


def run(*, n: int, runs: int) -> dict:
    from django.db import connection, reset_queries
    from django.http import QueryDict
    from django.test.utils import CaptureQueriesContext

    from helpdesk.bulk_actions import bulk_action_get, bulk_action_run, bulk_selection_resolve
    from helpdesk.models import Category, Organization, Plan, Team, TeamMembership, Ticket, User
    from helpdesk.saved_views import saved_view_counts, saved_view_create
    from helpdesk.services import ticket_create

    plan = Plan.objects.create(code="pro", name="Pro", rank=2)
    org = Organization.objects.create(name="Bench Org", plan=plan)
    billing = Category.objects.create(name="Billing", slug="billing")
    team = Team.objects.create(name="Frontline", slug="frontline", tier=1)
    team.categories.set([billing])
    customer = User.objects.create_user(username="c", role="customer", organization=org, email="c@example.test")
    agents = []
    for name in ("a1", "a2"):
        agent = User.objects.create_user(username=name, role="agent", email=f"{name}@example.test")
        TeamMembership.objects.create(team=team, user=agent, is_lead=True)
        agents.append(agent)
    first = ticket_create(customer=customer, subject="Outage 0", description="Down.", category=billing)
    rows = []
    for i in range(1, n):
        row = copy.copy(first)
        row.pk = None
        row.reference = f"HD-BENCH-{i:06d}"
        rows.append(row)
    Ticket.objects.bulk_create(rows, batch_size=1000)

    action = bulk_action_get(user=agents[0], name="assign")
    times, queries, done = [], [], []
    for i in range(runs):
        assignee = agents[(i + 1) % 2]  # alternate, so every run changes every ticket
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            selection = bulk_selection_resolve(actor=agents[0], selected=None, query=QueryDict("scope=all&sort=oldest"))
            record = bulk_action_run(
                actor=agents[0],
                action=action,
                selection=selection,
                params={"team": team, "assignee": assignee},
                token=uuid.uuid4(),
            )
            times.append((time.perf_counter() - started) * 1000)
        queries.append(len(ctx.captured_queries))
        done.append(record.done_count)

    for name, query in [
        ("Urgent", "scope=all&priority=urgent"),
        ("Billing", f"scope=all&category={billing.pk}"),
        ("Mine", f"scope=mine&assignee={agents[0].pk}"),
        ("Team", f"scope=all&team={team.pk}"),
        ("Old", "scope=all&status=any&sort=oldest"),
    ]:
        saved_view_create(owner=agents[0], name=name, query=QueryDict(query))
    count_times, count_queries = [], 0
    for _ in range(10):
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            saved_view_counts(agents[0])
            count_times.append((time.perf_counter() - started) * 1000)
        count_queries = len(ctx.captured_queries)

    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        selection = bulk_selection_resolve(actor=agents[0], selected=None, query=QueryDict("scope=all"))
        profile.runcall(
            bulk_action_run,
            actor=agents[0],
            action=action,
            selection=selection,
            params={"team": team, "assignee": agents[(runs + 1) % 2]},  # a change, as the timed runs are
            token=uuid.uuid4(),
        )
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
    median = statistics.median(times)
    return {
        "bench": "bulk_assign",
        "n": n,
        "runs": runs,
        "done_per_run": done,
        "assign_ms": round(median, 1),
        "assign_queries": max(queries),
        "bulk_assign_ms": round(median, 1),
        "bulk_assign_queries": max(queries),
        "bulk_assign_queries_per_ticket": round(max(queries) / n, 2),
        "bulk_assign_tickets_per_s": round(n / (median / 1000), 1),
        "saved_view_counts_ms": round(statistics.median(count_times), 2),
        "saved_view_counts_queries": count_queries,
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


if __name__ == "__main__":
    main()
