#!/usr/bin/env python
"""Build a large PostgreSQL database (default one million tickets) for the benches to reuse.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_large python bench/seed_large.py --n 1000000 [--force]

The database named in ``DATABASE_URL`` is created if missing and migrated. If it already holds tickets the seed
stops (nothing is changed) unless ``--force`` drops and recreates it. The benches reuse it with ``--reuse``
(``bench/queue_pages.py``, ``bench/api.py``): they then read the people and tickets this script made and never reseed.

Set-based, not row-by-row: the rows are made inside PostgreSQL by ``INSERT … SELECT … FROM generate_series`` (no
Python object per row, no round trip per row), into the real models' tables. The secondary indexes of the big tables
are dropped before the load and rebuilt after it (one sorted build each is far cheaper than a million index inserts);
foreign-key triggers are off during the load (``session_replication_role = replica``): every id comes from rows this
script just made. ``VACUUM ANALYZE`` at the end sets the visibility map (index-only scans) and the statistics.

Shape (proportions, not counts, so ``--n`` scales it): tickets over two years, the newest fifth mostly open and an
older backlog (about 28 % open overall); priorities 20/50/22/8 % low/normal/high/urgent; one emergency in 2,000 open
tickets; 1 % restricted (compliance team); one in five tickets escalated to a tier-2 or tier-3 team (an escalation
hop each; the open ones awaiting acceptance); two SLA clocks per ticket (first response, resolution; running on open
tickets, met or stopped on closed ones, one in eight breached); three or four timeline events per ticket; a survey on
a third of the resolved tickets and on every resolved escalated one; a risk assessment on one open ticket in four.
Nothing is due when the seed finishes (clocks' next checks and escalations' acknowledgement deadlines lie in the
future), so an idle sweep on it stays idle.

Prints progress to stderr and one JSON object last (``seed_seconds``, row counts, ``rss_mb``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Big tables whose secondary indexes are rebuilt after the load.
BIG_TABLES = (
    "helpdesk_ticket",
    "helpdesk_ticketevent",
    "escalations_slaclock",
    "escalations_escalation",
    "escalations_riskassessment",
    "feedback_survey",
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_database(url: str, *, force: bool) -> bool:
    """Create the database if missing (``--force``: drop it first). Returns True if it already existed."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
        if exists and force:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return exists


def configure() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("HELPDESK_VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    import django

    django.setup()


def insert_select(model, columns: dict[str, str], source: str, params: dict) -> int:
    """``INSERT INTO <model's table> (…) SELECT <columns' SQL> FROM <source>``; every column not given takes its
    field's Python default (or NULL), so a field another change adds with a default needs no edit here."""
    from django.db import connection

    for field in model._meta.concrete_fields:
        if field.column in columns or field.primary_key or field.generated:  # generated: the database fills it
            continue
        if field.has_default() or (not field.null and field.empty_strings_allowed):  # blank text: ""
            key = f"default_{field.column}"
            params[key] = field.get_db_prep_save(field.get_default(), connection)
            columns = {**columns, field.column: f"%({key})s"}
        elif not field.null:
            raise ValueError(f"{model.__name__}.{field.name} has no default: give it a value in the seed")
    names = ", ".join(f'"{c}"' for c in columns)
    exprs = ",\n  ".join(columns.values())
    sql = f"INSERT INTO {model._meta.db_table} ({names})\nSELECT\n  {exprs}\nFROM {source}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def drop_secondary_indexes() -> list[str]:
    """Drop the big tables' indexes that back no constraint; returns their definitions to rebuild them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
            """,
            [list(BIG_TABLES)],
        )
        found = cursor.fetchall()
        for name, _ in found:
            cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in found]


def seed_people() -> dict:
    """The small tables through the ORM: plans, organisations, customers, teams, staff."""
    from django.contrib.auth.hashers import make_password

    from helpdesk.models import Category, Organization, Plan, Role, Team, TeamMembership, User

    unusable = make_password(None)
    plans = [
        Plan.objects.create(code=code, name=code.title(), rank=rank)
        for rank, code in enumerate(["basic", "pro", "enterprise"], start=1)
    ]
    orgs = Organization.objects.bulk_create(
        Organization(name=f"Org {i:03d}", plan=plans[i % 3], email_domain=f"org{i}.example") for i in range(300)
    )
    customers = User.objects.bulk_create(
        (
            User(
                username=f"customer{i}",
                first_name="Customer",
                last_name=str(i),
                email=f"c{i}@org{i % len(orgs)}.example",
                role=Role.CUSTOMER,
                organization=orgs[i % len(orgs)],
                password=unusable,
            )
            for i in range(6000)
        ),
        batch_size=2000,
    )
    categories = Category.objects.bulk_create(
        Category(name=name, slug=name.lower())
        for name in ["Billing", "Login", "Outage", "Integrations", "Data", "Orders", "Privacy", "Shipping"]
    )
    frontline = Team.objects.create(name="Frontline", slug="frontline", tier=1)
    frontline.categories.set(categories)
    technical = Team.objects.create(name="Technical", slug="technical", tier=2)
    billing = Team.objects.create(name="Billing", slug="billing", tier=2)
    compliance = Team.objects.create(name="Compliance", slug="compliance", tier=2)
    managers = Team.objects.create(name="Managers", slug="managers", tier=3)
    agents = User.objects.bulk_create(
        User(username=f"agent{i}", first_name="Agent", last_name=str(i), role=Role.AGENT, password=unusable)
        for i in range(40)
    )
    specialists = User.objects.bulk_create(
        User(username=f"specialist{i}", first_name="Spec", last_name=str(i), role=Role.SPECIALIST, password=unusable)
        for i in range(15)
    )
    bosses = User.objects.bulk_create(
        User(username=f"manager{i}", first_name="Manager", last_name=str(i), role=Role.MANAGER, password=unusable)
        for i in range(3)
    )
    tier2 = [technical, billing, compliance]
    TeamMembership.objects.bulk_create(
        [TeamMembership(team=frontline, user=a) for a in agents]
        + [TeamMembership(team=tier2[i % 3], user=s) for i, s in enumerate(specialists)]
        + [TeamMembership(team=managers, user=m) for m in bosses]
    )
    return {
        "customers": [c.pk for c in customers],
        "customer_orgs": [c.organization_id for c in customers],
        "categories": [c.pk for c in categories],
        "agents": [a.pk for a in agents],
        "specialists": {
            team.pk: [s.pk for i, s in enumerate(specialists) if i % 3 == k] for k, team in enumerate(tier2)
        },
        "managers": [m.pk for m in bosses],
        "frontline": frontline.pk,
        "technical": technical.pk,
        "billing": billing.pk,
        "compliance": compliance.pk,
        "manager_team": managers.pk,
    }


def seed_tickets(n: int, people: dict) -> int:
    """N tickets in one statement; random() after setseed() makes the shape repeatable."""
    from helpdesk.models import Ticket

    p = {
        "n": n,
        "customers": people["customers"],
        "orgs": people["customer_orgs"],
        "categories": people["categories"],
        "agents": people["agents"],
        "tech": people["specialists"][people["technical"]],
        "bill": people["specialists"][people["billing"]],
        "comp": people["specialists"][people["compliance"]],
        "mgrs": people["managers"],
        "frontline": people["frontline"],
        "technical": people["technical"],
        "billing": people["billing"],
        "compliance": people["compliance"],
        "manager_team": people["manager_team"],
    }
    # s: one row per ticket with its random draws; t: status and team from them; the SELECT derives the rest.
    source = """(
      SELECT s.*,
        CASE WHEN (s.i > %(n)s * 0.8 AND s.r1 < 0.8) OR (s.i <= %(n)s * 0.8 AND s.r1 < 0.15) THEN
               CASE WHEN s.r2 < 0.5 THEN 'open' WHEN s.r2 < 0.75 THEN 'new'
                    WHEN s.r2 < 0.92 THEN 'pending_customer' ELSE 'pending_third_party' END
             ELSE CASE WHEN s.r2 < 0.85 THEN 'closed' ELSE 'resolved' END END AS st,
        CASE WHEN s.r3 < 0.80 THEN %(frontline)s WHEN s.r3 < 0.89 THEN %(technical)s
             WHEN s.r3 < 0.97 THEN %(billing)s WHEN s.r3 < 0.99 THEN %(manager_team)s
             ELSE %(compliance)s END AS team
      FROM (
        SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5, random() AS r6,
               random() AS r7, 1 + ((i::bigint * 7919) %% cardinality(%(customers)s::bigint[]))::int AS ci,
               now() - (%(n)s - i) * (interval '730 days' / %(n)s) - interval '1 hour' AS created
        FROM generate_series(1, %(n)s) AS i
      ) s
    ) t"""
    open_ = "t.st IN ('open', 'new', 'pending_customer', 'pending_third_party')"
    running = "t.st IN ('open', 'new')"
    members = (
        "CASE t.team WHEN %(frontline)s THEN (%(agents)s::bigint[])[1 + (t.i %% cardinality(%(agents)s::bigint[]))]"
        " WHEN %(technical)s THEN (%(tech)s::bigint[])[1 + (t.i %% cardinality(%(tech)s::bigint[]))]"
        " WHEN %(billing)s THEN (%(bill)s::bigint[])[1 + (t.i %% cardinality(%(bill)s::bigint[]))]"
        " WHEN %(compliance)s THEN (%(comp)s::bigint[])[1 + (t.i %% cardinality(%(comp)s::bigint[]))]"
        " ELSE (%(mgrs)s::bigint[])[1 + (t.i %% cardinality(%(mgrs)s::bigint[]))] END"
    )
    due = "now() + (t.r5 * 7000 - 600) * interval '1 minute'"
    columns = {
        "reference": "'HD-L-' || lpad(t.i::text, 7, '0')",
        "subject": "'Ticket ' || t.i || ': ' || (ARRAY['invoice is wrong', 'cannot log in', 'outage in region',"
        " 'export fails', 'order not delivered', 'password reset loop', 'refund requested', 'data missing'])"
        "[1 + t.i %% 8]",
        "description": "'Steps to reproduce: open the page, click save, wait. Seen since this morning.'",
        "customer_id": "(%(customers)s::bigint[])[t.ci]",
        "organization_id": "(%(orgs)s::bigint[])[t.ci]",
        "channel": "(ARRAY['web', 'email', 'phone', 'chat', 'social'])[1 + floor(t.r6 * 5)::int]",
        "category_id": "(%(categories)s::bigint[])[1 + t.i %% cardinality(%(categories)s::bigint[])]",
        "priority": "CASE WHEN t.r4 < 0.2 THEN 'low' WHEN t.r4 < 0.7 THEN 'normal'"
        " WHEN t.r4 < 0.92 THEN 'high' ELSE 'urgent' END",
        "status": "t.st",
        "team_id": "t.team",
        "assignee_id": f"CASE WHEN {open_} AND t.r7 < 0.4 THEN NULL ELSE {members} END",
        "tier": "CASE t.team WHEN %(frontline)s THEN 1 WHEN %(manager_team)s THEN 3 ELSE 2 END",
        "restricted": "t.team = %(compliance)s",
        "is_emergency": f"{open_} AND t.r7 > 0.9995",
        "sla_due_at": f"CASE WHEN {running} THEN {due} END",
        "sla_warn_at": f"CASE WHEN {running} THEN {due} - interval '1 hour' END",
        "version": "1",
        "created_at": "t.created",
        "updated_at": "t.created",
        "last_public_activity_at": "LEAST(t.created + t.r6 * interval '30 hours', now())",
        "resolved_at": "CASE WHEN t.st IN ('resolved', 'closed') THEN t.created + t.r5 * interval '72 hours' END",
        "closed_at": "CASE WHEN t.st = 'closed' THEN t.created + t.r5 * interval '72 hours' + interval '3 days' END",
    }
    # Fields added to Ticket with a default take it (insert_select); the queue's sort keys are generated columns,
    # filled by the database from priority and sla_due_at.
    return insert_select(Ticket, columns, source, p)


def seed_events() -> int:
    """Created + first reply for every ticket but new ones, an internal note on every other, a status change on the
    resolved and closed ones."""
    from helpdesk.models import Ticket, TicketEvent

    table = Ticket._meta.db_table
    source = f"""{table} t CROSS JOIN LATERAL (VALUES
        (1, 'created', true, t.description, t.created_at, '{{}}'::jsonb),
        (2, 'agent_reply', true, 'Thanks, we are on it.', t.created_at + interval '25 minutes', '{{}}'::jsonb),
        (3, 'internal_note', false, 'Checked the logs.', t.created_at + interval '40 minutes', '{{}}'::jsonb),
        (4, 'status_changed', true, '', t.resolved_at, '{{"from": "open", "to": "resolved"}}'::jsonb)
      ) AS e(k, kind, is_public, body, at, data)
      WHERE e.k = 1 OR (e.k = 2 AND t.status <> 'new') OR (e.k = 3 AND t.id %% 2 = 0)
         OR (e.k = 4 AND t.resolved_at IS NOT NULL)
      ORDER BY t.id, e.k"""
    columns = {
        "ticket_id": "t.id",
        "kind": "e.kind",
        "actor_id": "CASE WHEN e.k = 1 THEN t.customer_id ELSE t.assignee_id END",
        "is_public": "e.is_public",
        "body": "e.body",
        "data": "e.data",
        "created_at": "LEAST(e.at, now())",
    }
    return insert_select(TicketEvent, columns, source, {})


def seed_escalations(people: dict) -> int:
    """One hop from the frontline for every ticket on a tier-2 or tier-3 team: open (awaiting acceptance, not yet
    due) or accepted on open tickets, resolved or returned on closed ones; the emergencies' hops are emergencies."""
    from escalations.models import Escalation
    from helpdesk.models import Ticket

    open_ = "t.status IN ('open', 'new', 'pending_customer', 'pending_third_party')"
    hop_status = f"CASE WHEN {open_} THEN CASE WHEN t.is_emergency OR t.id %% 5 < 2 THEN 'open' ELSE 'accepted' END"
    hop_status += " ELSE CASE WHEN t.id %% 7 = 0 THEN 'returned' ELSE 'resolved' END END"
    table = Ticket._meta.db_table
    source = f"(SELECT t.*, {hop_status} AS hop_status FROM {table} t WHERE t.team_id <> %(fl)s) t"  # noqa: S608
    types = "ARRAY['technical', 'managerial', 'support_level', 'process', 'financial', 'compliance', 'third_party']"
    created = "LEAST(t.created_at + interval '2 hours', now() - interval '10 minutes')"
    columns = {
        "ticket_id": "t.id",
        "escalation_type": f"CASE WHEN t.is_emergency THEN 'emergency' ELSE ({types})[1 + t.id %% 7] END",
        "mode": "CASE WHEN t.tier = 3 THEN 'hierarchical' ELSE 'functional' END",
        "status": "t.hop_status",
        "level": "1",
        "from_tier": "1",
        "to_tier": "t.tier",
        "from_team_id": "%(fl)s",
        "to_team_id": "t.team_id",
        "requested_by_kind": "'agent'",
        "requested_by_id": "(%(agents)s::bigint[])[1 + t.id %% cardinality(%(agents)s::bigint[])]",
        "reason": "'Needs a specialist.'",
        "dossier_problem": "'The export fails with a timeout after the upgrade.'",
        "dossier_tried": "'Cleared the cache, retried with a smaller range.'",
        "dossier_desired_outcome": "'A working export today.'",
        "dossier_mood": "(ARRAY['calm', 'frustrated', 'angry'])[1 + t.id %% 3]",
        "accepted_by_id": "CASE WHEN t.hop_status <> 'open' THEN t.assignee_id END",
        "accepted_at": f"CASE WHEN t.hop_status <> 'open' THEN {created} + interval '5 minutes' END",
        "created_at": created,
        "ack_due_at": "CASE WHEN t.hop_status = 'open' THEN now() + (t.id %% 240 + 5) * interval '1 minute' END",
        "closed_at": "CASE WHEN t.hop_status IN ('resolved', 'returned') THEN t.resolved_at END",
    }
    return insert_select(Escalation, columns, source, {"fl": people["frontline"], "agents": people["agents"]})


def seed_clocks() -> int:
    """First response and resolution per ticket: running on open and new tickets (next check at the warning point,
    in the future), paused on pending ones, met or stopped on resolved ones; one in eight breached."""
    from escalations.models import SLAClock
    from helpdesk.models import Ticket

    source = f"""{Ticket._meta.db_table} t CROSS JOIN LATERAL (VALUES
        ('first_response', 1200, 1), ('resolution', 86400, 2)) AS c(target, seconds, k)"""
    running = "t.status IN ('open', 'new')"
    paused = "t.status IN ('pending_customer', 'pending_third_party')"
    breached = "t.id %% 8 = 0"
    columns = {
        "ticket_id": "t.id",
        "target": "c.target",
        "state": f"CASE WHEN {running} THEN 'running' WHEN {paused} THEN 'paused'"
        " WHEN c.k = 1 OR t.id %% 3 > 0 THEN 'met' ELSE 'stopped' END",
        "target_seconds": "c.seconds",
        "started_at": "t.created_at",
        "running_since": f"CASE WHEN {running} THEN t.created_at END",
        "consumed_seconds": "0",
        "due_at": f"CASE WHEN {running} THEN t.sla_due_at + (c.k - 1) * interval '1 day' END",
        "warn_at": f"CASE WHEN {running} THEN t.sla_warn_at + (c.k - 1) * interval '1 day' END",
        "paused_since": f"CASE WHEN {paused} THEN t.last_public_activity_at END",
        "paused_seconds": "0",
        "met_at": f"CASE WHEN NOT ({running} OR {paused}) THEN LEAST(t.created_at + c.seconds * interval '1 second',"
        " t.resolved_at) END",
        "breached_at": f"CASE WHEN {breached} THEN t.created_at + c.seconds * interval '1 second' END",
        "escalation_level": f"CASE WHEN {breached} THEN 1 ELSE 0 END",
        # The next check is the warning point, or the deadline once warned; never in the past (nothing due).
        "next_check_at": f"CASE WHEN {running} THEN GREATEST(t.sla_warn_at + (c.k - 1) * interval '1 day',"
        " now() + interval '5 minutes') END",
        "updated_at": "t.updated_at",
    }
    return insert_select(SLAClock, columns, source, {})


def seed_surveys() -> int:
    """A survey on a third of the resolved tickets and every resolved escalated one; four in five answered."""
    from feedback.models import Survey
    from helpdesk.models import Ticket

    source = f"""{Ticket._meta.db_table} t
      WHERE t.resolved_at IS NOT NULL AND (t.id %% 3 = 0 OR t.tier > 1)"""
    answered = "t.id %% 5 > 0"
    columns = {
        "ticket_id": "t.id",
        "escalation_id": "NULL",
        "is_escalated": "t.tier > 1",
        "nonce": "md5(t.id::text)",
        "created_at": "t.resolved_at",
        "sent_at": "t.resolved_at + interval '1 hour'",
        "expires_at": "t.resolved_at + interval '15 days'",
        "answered_at": f"CASE WHEN {answered} THEN t.resolved_at + interval '5 hours' END",
        "csat": f"CASE WHEN {answered} THEN 1 + t.id %% 5 END",
        "fixed": f"CASE WHEN {answered} THEN t.id %% 4 > 0 END",
        "explain_count": f"CASE WHEN {answered} THEN 1 + t.id %% 3 END",
    }
    return insert_select(Survey, columns, source, {})


def seed_risk() -> int:
    """A risk assessment on one open ticket in four (score 1-9), so the queue's risk column has data, and the
    tickets' stored risk sort key."""
    from escalations.models import RiskAssessment
    from helpdesk.models import Ticket

    source = f"""{Ticket._meta.db_table} t
      WHERE t.status IN ('open', 'new', 'pending_customer', 'pending_third_party') AND t.id %% 4 = 0"""
    columns = {
        "ticket_id": "t.id",
        "score": "1 + t.id %% 9",
        "signals": "'[]'::jsonb",
        "messages_assessed": "1",
        "updated_at": "t.updated_at",
    }
    count = insert_select(RiskAssessment, columns, source, {})
    # The queue's stored risk key (``Ticket.risk_order``), as ``escalations.services.risk.risk_orders_store`` keeps it.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Ticket._meta.db_table} t SET risk_order = -r.score "  # noqa: S608 (table names from the models)
            f"FROM {RiskAssessment._meta.db_table} r WHERE r.ticket_id = t.id"
        )
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of tickets (default 1000000)")
    parser.add_argument("--force", action="store_true", help="drop and recreate the database if it exists")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        parser.error("DATABASE_URL must name a PostgreSQL database (postgres://…/helpdesk_large)")

    started = time.perf_counter()
    ensure_database(url, force=args.force)
    configure()
    from django.core.management import call_command
    from django.db import connection, transaction

    from helpdesk.models import Ticket

    call_command("migrate", verbosity=0)
    if Ticket.objects.exists():
        log("the database already holds tickets: nothing done (use --force to rebuild it)")
        print(json.dumps({"n": Ticket.objects.count(), "seeded": False}))
        return
    log(f"migrated in {time.perf_counter() - started:.1f}s")
    counts: dict[str, int] = {}
    with transaction.atomic():
        people = seed_people()
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no FK triggers during the load
        cursor.execute("SET maintenance_work_mem = '256MB'")
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SELECT setseed(0.42)")
    definitions = drop_secondary_indexes()
    for name, step in (
        ("tickets", lambda: seed_tickets(args.n, people)),
        ("events", seed_events),
        ("escalations", lambda: seed_escalations(people)),
        ("sla_clocks", seed_clocks),
        ("surveys", seed_surveys),
        ("risk_assessments", seed_risk),
    ):
        t0 = time.perf_counter()
        with transaction.atomic():
            counts[name] = step()
        log(f"{name}: {counts[name]} rows in {time.perf_counter() - t0:.1f}s")
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        for definition in definitions:
            cursor.execute(definition)
        cursor.execute("SET session_replication_role = origin")
        # The sequences already moved past the ids the INSERTs drew; nothing to reset.
    log(f"{len(definitions)} indexes rebuilt in {time.perf_counter() - t0:.1f}s")
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        for table in BIG_TABLES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("ANALYZE")
    log(f"vacuum analyze in {time.perf_counter() - t0:.1f}s")
    seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps({"n": args.n, "seeded": True, **counts, "seed_seconds": round(seconds, 1), "rss_mb": round(rss_mb)})
    )


if __name__ == "__main__":
    main()
