"""The daily rollups answer exactly what the facts answer (a property test over random tickets, escalations,
clocks, surveys and compensation at random moments in random time zones: every catalogue metric, the time in each
tier and the count of low CSAT scores), ``metrics_rebuild`` reproduces what the
after-commit refresh maintained, and the dashboard's query count does not grow with the data.

The random facts are written as rows (like ``bench/dashboard.py``), not through the services: the property is about
the arithmetic over any combination of facts, including ones a few service calls could not reach quickly (a clock
breached and met, a survey with no score, an escalation returned by a tier-3 team)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalations.models import ClockState, ClockTarget, CompensationRequest, Escalation, EscalationType, SLAClock
from feedback.models import Survey
from helpdesk.models import Channel, EventKind, Status, Ticket, TicketEvent
from reports import metrics
from reports.metrics import rollups
from reports.models import MetricRollup, MetricRollupBuild, MetricRollupDirty

UTC = dt.UTC
BASE = dt.datetime(2026, 11, 2, tzinfo=UTC)  # a Monday: three ISO weeks from here
ZONES = ["UTC", "Pacific/Auckland", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham"]

moments = st.builds(
    lambda minutes, zone: (BASE + dt.timedelta(minutes=minutes)).astimezone(ZoneInfo(zone)),
    st.integers(min_value=-3 * 24 * 60, max_value=24 * 24 * 60),
    st.sampled_from(ZONES),
)
escalation_specs = st.fixed_dictionaries(
    {
        "after_minutes": st.integers(min_value=0, max_value=3 * 24 * 60),
        "status": st.sampled_from(["open", "accepted", "resolved", "returned", "superseded"]),
        "type": st.sampled_from(EscalationType.values),
        "from": st.integers(min_value=0, max_value=2),
        "to_tier": st.sampled_from([2, 3]),
        "held_minutes": st.integers(min_value=1, max_value=3 * 24 * 60),
    }
)
ticket_specs = st.fixed_dictionaries(
    {
        "created": moments,
        "status": st.sampled_from([Status.NEW, Status.OPEN, Status.RESOLVED, Status.CLOSED]),
        "team": st.integers(min_value=0, max_value=2),
        "assignee": st.integers(min_value=0, max_value=2),
        "category": st.integers(min_value=0, max_value=2),
        "org": st.integers(min_value=0, max_value=1),
        "channel": st.sampled_from(Channel.values[:3]),
        "replies": st.integers(min_value=0, max_value=2),
        "reopened": st.booleans(),
        "escalations": st.lists(escalation_specs, max_size=2),
        "clocks": st.lists(
            st.tuples(st.sampled_from(ClockTarget.values), st.sampled_from(ClockState.values), st.booleans(), moments),
            max_size=2,
            unique_by=lambda clock: clock[0],
        ),
        "survey": st.none() | st.tuples(moments, st.none() | st.integers(min_value=1, max_value=5), st.booleans()),
        "compensation": st.none() | st.sampled_from(["auto_approved", "approved", "rejected", "pending"]),
    }
)


def _write_facts(specs, *, world) -> None:
    teams, people, categories, orgs = world["teams"], world["people"], world["categories"], world["orgs"]
    for i, spec in enumerate(specs):
        created = spec["created"]
        team = teams[spec["team"]]
        resolved = spec["status"] in (Status.RESOLVED, Status.CLOSED)
        ticket = Ticket.objects.create(
            reference=f"HD-P-{i:04d}-{created:%d%H%M}",
            subject="Property",
            description="Property.",
            customer=world["customer"],
            organization=orgs[spec["org"]],
            channel=spec["channel"],
            category=categories[spec["category"]],
            status=spec["status"],
            team=team,
            tier=team.tier,
            assignee=people[spec["assignee"]] if spec["assignee"] < 2 else None,
            created_at=created,
            updated_at=created,
            last_public_activity_at=created,
            resolved_at=created + dt.timedelta(hours=3) if resolved else None,
        )
        for r in range(spec["replies"]):
            TicketEvent.objects.create(
                ticket=ticket,
                kind=EventKind.AGENT_REPLY,
                actor=people[(spec["assignee"] + r) % 3],
                is_public=True,
                created_at=created + dt.timedelta(minutes=10 * (r + 1)),
            )
        if spec["reopened"]:
            TicketEvent.objects.create(
                ticket=ticket,
                kind=EventKind.STATUS_CHANGED,
                is_public=True,
                data={"from": Status.RESOLVED, "to": Status.OPEN},
                created_at=created + dt.timedelta(hours=1),
            )
        hops = []
        for level, e in enumerate(spec["escalations"], start=1):
            source = teams[e["from"]]
            raised = created + dt.timedelta(minutes=e["after_minutes"])
            hops.append(
                Escalation.objects.create(
                    ticket=ticket,
                    escalation_type=e["type"],
                    mode="functional",
                    status=e["status"],
                    level=level,
                    from_tier=source.tier,
                    to_tier=e.get("to_tier", 3),
                    from_team=source,
                    to_team=teams[2],
                    requested_by_kind="agent",
                    requested_by=people[e["from"]],
                    reason="r",
                    dossier_problem="p",
                    dossier_tried="t",
                    dossier_desired_outcome="o",
                    dossier_mood="calm",
                    created_at=raised,
                    # Accepted ten minutes after it was raised unless still open; closed once handed on or resolved.
                    accepted_at=raised + dt.timedelta(minutes=10) if e["status"] != "open" else None,
                    closed_at=raised + dt.timedelta(minutes=10 + e.get("held_minutes", 60))
                    if e["status"] in ("resolved", "returned", "superseded")
                    else None,
                )
            )
        for target, state, breached, started in spec["clocks"]:
            SLAClock.objects.create(
                ticket=ticket,
                target=target,
                state=state,
                target_seconds=3600,
                started_at=started,
                met_at=started + dt.timedelta(minutes=30) if state == ClockState.MET else None,
                breached_at=started + dt.timedelta(hours=1) if breached else None,
                updated_at=started,
            )
        if spec["survey"] is not None:
            answered, csat, explained_twice = spec["survey"]
            Survey.objects.create(
                ticket=ticket,
                escalation=hops[0] if hops else None,
                is_escalated=bool(hops),
                nonce="p",
                answered_at=answered,
                csat=csat,
                explain_count=2 if explained_twice else 1,
            )
        if spec["compensation"] is not None:
            CompensationRequest.objects.create(
                ticket=ticket,
                escalation=hops[0] if hops else None,
                amount=Decimal(20),
                reason="r",
                status=spec["compensation"],
                requested_by=people[0],
                requester_limit=Decimal(50),
                decided_by=people[2] if spec["compensation"] in ("approved", "rejected") else None,
                created_at=created,
            )


def _answers(period: metrics.MetricFilters) -> dict:
    """Every catalogue metric as a value, a tile, weekly series (plain and split by each dimension) and breakdowns, and
    the dashboard's SLA breaches by team and plan."""
    from reports.dashboard import low_csat_count, sla_breaches_by_team_and_plan

    result: dict = {
        "tiles": metrics.metric_tiles(list(metrics.METRICS), filters=period),
        "breaches_by_team_and_plan": sla_breaches_by_team_and_plan(filters=period),
        "time_in_tier": metrics.time_in_tier_hours(filters=period),
        "low_csat_count": low_csat_count(filters=period),
    }
    for key, metric in metrics.METRICS.items():
        result[key] = metrics.metric_value_and_sample(key, filters=period)
        for by in [None, *metrics.dimensions_of(metric.source)]:
            result[key, "series", by] = metrics.metric_series(key, filters=period, group=by)
            if by is not None:
                result[key, "breakdown", by] = metrics.metric_breakdown(key, by=by, filters=period)
    for keys in (["escalation_rate", "first_contact_resolution"], ["sla_first_response", "sla_resolution"]):
        result[tuple(keys)] = metrics.metric_series_many(keys, filters=period)
    return result


@pytest.fixture
def world(teams, org, org2, categories, customer, agent, agent2, manager):
    return {
        "teams": [teams["frontline"], teams["technical"], teams["managers"]],
        "people": [agent, agent2, manager],
        "categories": list(categories.values())[:3],
        "orgs": [org, org2],
        "customer": customer,
    }


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=st.lists(ticket_specs, max_size=8),
    filters=st.fixed_dictionaries(
        {"start_day": st.integers(min_value=-2, max_value=6), "days": st.integers(min_value=1, max_value=21)}
    ),
    team_filter=st.booleans(),
)
def test_rollups_answer_exactly_what_the_facts_answer(world, specs, filters, team_filter):
    # given random facts, and a period of whole UTC days (optionally one team)
    start = BASE + dt.timedelta(days=filters["start_day"])
    period = metrics.MetricFilters(
        start=start,
        end=start + dt.timedelta(days=filters["days"]),
        team_id=world["teams"][0].pk if team_filter else None,
    )
    with transaction.atomic():
        _write_facts(specs, world=world)
        from_facts = _answers(period)
        # when the rollups are built and answer the same questions
        rollups.metrics_rebuild()
        assert MetricRollupBuild.objects.exists() and rollups.rollups_serve(filters=period, viewer=None)
        from_rollups = _answers(period)
        transaction.set_rollback(True)
    # then every answer is identical
    assert from_rollups.keys() == from_facts.keys()
    for key in from_facts:
        assert from_rollups[key] == from_facts[key], key


@pytest.mark.django_db
def test_rollups_serve_only_whole_days_for_a_viewer_who_sees_everything(world, agent, manager):
    # given a built rollup
    rollups.metrics_rebuild()
    day = metrics.MetricFilters(start=BASE, end=BASE + dt.timedelta(days=7))
    # then managers read rollups for whole days; an agent (who may not see restricted tickets) and a period cut
    # inside a day read the facts
    assert rollups.rollups_serve(filters=day, viewer=manager)
    assert not rollups.rollups_serve(filters=day, viewer=agent)
    cut = metrics.MetricFilters(start=BASE + dt.timedelta(hours=5), end=BASE + dt.timedelta(days=7))
    assert not rollups.rollups_serve(filters=cut, viewer=manager)


@pytest.mark.django_db
def test_nothing_is_read_from_rollups_before_a_complete_rebuild(world, manager):
    # given rollup rows for one day, but no complete rebuild
    rollups.metrics_rebuild(start=BASE.date(), end=BASE.date())
    # then the metrics still come from the facts
    assert not MetricRollupBuild.objects.exists()
    period = metrics.MetricFilters(start=BASE, end=BASE + dt.timedelta(days=7))
    assert not rollups.rollups_serve(filters=period, viewer=manager)


def _snapshot() -> list[tuple]:
    fields = ["source", "day", "grain", *rollups.DIMENSION_COLUMNS, *rollups.MEASURE_COLUMNS]
    return sorted(MetricRollup.objects.values_list(*fields), key=repr)


@pytest.mark.django_db
def test_refresh_after_commit_matches_a_rebuild_from_scratch(
    world, make_ticket, escalate, customer, agent, specialist, django_capture_on_commit_callbacks
):
    # given the rollups built over an empty history
    rollups.metrics_rebuild()
    from helpdesk import services

    # when tickets are created just before midnight, then replied to, escalated, accepted and resolved through the
    # services after it
    before_midnight = time_machine.travel(dt.datetime(2026, 11, 3, 23, 50, tzinfo=UTC), tick=False)
    with before_midnight, django_capture_on_commit_callbacks(execute=True):
        first = make_ticket(customer, subject="Printer on fire", category="outage")
        second = make_ticket(customer, subject="Cannot log in")
    after_midnight = time_machine.travel(dt.datetime(2026, 11, 4, 0, 10, tzinfo=UTC), tick=False)
    with after_midnight, django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(ticket=first, author=agent, body="Looking into it.")
        services.ticket_reply(ticket=second, author=agent, body="Fixed.")
    with django_capture_on_commit_callbacks(execute=True):
        escalate(
            first,
            when=dt.datetime(2026, 11, 4, 1, 0, tzinfo=UTC),
            by=agent,
            accepted=(specialist, dt.datetime(2026, 11, 4, 2, 0, tzinfo=UTC)),
            resolved=dt.datetime(2026, 11, 5, 9, 0, tzinfo=UTC),
        )
    assert MetricRollupDirty.objects.filter(source="tickets").count() == 1
    assert set(MetricRollupDirty.objects.values_list("source", flat=True)) >= {"tickets", "escalations"}
    refreshed = rollups.rollups_refresh_dirty()
    incremental = _snapshot()
    # then the marks are consumed and a rebuild from scratch writes exactly the same rows
    assert refreshed >= 2 and not MetricRollupDirty.objects.exists()
    MetricRollup.objects.all().delete()
    rollups.metrics_rebuild()
    assert _snapshot() == incremental
    assert any(row[0] == "escalations" and row[2] == "" for row in incremental)


@pytest.mark.django_db
def test_a_rolled_back_change_marks_nothing(world, make_ticket, customer, django_capture_on_commit_callbacks):
    # when a transaction that created a ticket rolls back
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        make_ticket(customer, subject="Never happened")
        transaction.set_rollback(True)
    # then no day is marked
    assert callbacks == [] and not MetricRollupDirty.objects.exists()


@pytest.mark.django_db
def test_a_day_marked_again_during_a_refresh_stays_marked(world):
    # given a mark, refreshed while the same day is marked again
    day = BASE.date()
    rollups.rollups_mark_days(days=[("tickets", day)], now=BASE)
    marks = list(MetricRollupDirty.objects.all())
    rollups.rollups_mark_days(days=[("tickets", day)], now=BASE + dt.timedelta(seconds=1))
    # when the refresh clears the marks it read
    for mark in marks:
        MetricRollupDirty.objects.filter(pk=mark.pk, marked_at__lte=mark.marked_at).delete()
    # then the later mark survives for the next run
    assert MetricRollupDirty.objects.get().marked_at == BASE + dt.timedelta(seconds=1)


@pytest.mark.django_db
def test_metrics_rebuild_command_rejects_bad_dates(world):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="'yesterday' is not a date"):
        call_command("metrics_rebuild", "--from", "yesterday")
    with pytest.raises(CommandError, match=r"--from must be on or before --to\."):
        call_command("metrics_rebuild", "--from", "2026-11-05", "--to", "2026-11-01")


def _spec(i: int) -> dict:
    created = BASE + dt.timedelta(days=i % 20, hours=i % 24)
    return {
        "created": created,
        "status": [Status.NEW, Status.OPEN, Status.RESOLVED, Status.CLOSED][i % 4],
        "team": i % 3,
        "assignee": i % 3,
        "category": i % 3,
        "org": i % 2,
        "channel": Channel.values[i % 3],
        "replies": i % 3,
        "reopened": i % 5 == 0,
        "escalations": [{"after_minutes": 60, "status": "returned", "type": EscalationType.values[i % 8], "from": 0}]
        if i % 2
        else [],
        "clocks": [(ClockTarget.FIRST_RESPONSE, ClockState.MET, i % 4 == 0, created)],
        "survey": (created + dt.timedelta(hours=5), 1 + i % 5, i % 3 == 0),
        "compensation": "approved" if i % 2 else None,
    }


@pytest.mark.django_db
def test_dashboard_and_explorer_queries_from_rollups_do_not_grow_with_the_data(
    world, client, login, manager, django_assert_max_num_queries
):
    from django.urls import reverse

    from tests.reports.test_views import DASHBOARD_QUERIES

    login(manager)
    explorer = reverse("reports_explorer") + "?metric=csat&group=team&start=2026-01-01&end=2026-11-30"
    sizes = []
    with time_machine.travel(dt.datetime(2026, 11, 30, 12, tzinfo=UTC), tick=False):
        for start, count in ((0, 4), (4, 40)):
            # given rollups built over 4, then 44 tickets of every kind
            _write_facts([_spec(i) for i in range(start, start + count)], world=world)
            rollups.metrics_rebuild()
            # then the dashboard and the trend explorer read them with the same number of queries
            with django_assert_max_num_queries(DASHBOARD_QUERIES) as dashboard_queries:
                assert client.get(reverse("reports_dashboard") + "?days=90").status_code == 200
            with django_assert_max_num_queries(13) as explorer_queries:
                response = client.get(explorer)
            assert response.status_code == 200
            sizes.append((len(dashboard_queries), len(explorer_queries)))
    assert sizes[0] == sizes[1]
    # and the page asks once whether the rollups are built, not once per panel
    built_checks = [q for q in dashboard_queries.captured_queries if "reports_metricrollupbuild" in q["sql"]]
    assert len(built_checks) == 1
    assert not any("helpdesk_ticket" in q["sql"] and "GROUP BY" in q["sql"] for q in explorer_queries.captured_queries)
