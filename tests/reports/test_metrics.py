"""Every expected number below is computed by hand from the data set described in conftest.py."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.models import Channel
from reports import coaching, dashboard, metrics
from reports.metrics import MetricFilters
from tests.reports.conftest import at

UTC = dt.UTC
PERIOD = MetricFilters(start=at(2, 0), end=at(16, 0))  # two ISO weeks: Mon 2 Nov to Sun 15 Nov


def value(key, filters=PERIOD, viewer=None):
    return metrics.metric_value(key, filters=filters, viewer=viewer)


def test_headline_metrics_on_the_hand_built_data_set(dataset, manager):
    # given seven tickets created in the period (T1..T7), three of them escalated (T3, T4, T5)
    # when a manager computes the headline metrics
    # then the cohort counts every ticket, the restricted T5 included
    assert value("tickets", viewer=manager) == 7
    # escalated: T3, T4, T5 out of 7
    assert value("escalation_rate", viewer=manager) == 42.9
    # resolved: T1, T2, T3, T6; only T1 is first-contact (T2 reopened, T3 escalated, T6 two replies)
    assert value("first_contact_resolution", viewer=manager) == 25.0
    # escalated T3, T4, T5; only T4 bounced (returned, then escalated again)
    assert value("bounce_rate", viewer=manager) == 33.3
    # escalations raised in the period: E1, E2, E3, E4 (T0's and T8's are outside); E2 was returned
    assert value("escalations", viewer=manager) == 4
    assert value("avoidable_rate", viewer=manager) == 25.0
    # first escalations: E1 4 h, E2 2 h, E4 6 h after creation (E3 is T4's second) -> 4 h
    assert value("time_to_escalate", viewer=manager) == 4.0


def test_reopened_ticket_is_not_first_contact_resolution(dataset, manager):
    # given T2 alone: one agent reply, resolved, reopened by the customer, resolved again
    only_t2 = MetricFilters(start=at(3, 0), end=at(4, 0))
    # then it is resolved but not resolved at first contact
    assert value("tickets", only_t2) == 1
    assert value("first_contact_resolution", only_t2) == 0.0
    # and T1, resolved the same way but never reopened, is
    only_t1 = MetricFilters(start=at(2, 0), end=at(3, 0))
    assert value("first_contact_resolution", only_t1) == 100.0


def test_restricted_tickets_count_for_managers_but_not_for_agents_outside_the_team(dataset, manager, agent):
    # given T5 is restricted and handled by Compliance, which the agent is not a member of
    # when the same metrics are computed for the agent
    # then T5 and its escalation E4 are simply not there: 6 tickets, 2 escalated
    assert value("tickets", viewer=agent) == 6
    assert value("escalation_rate", viewer=agent) == 33.3
    assert value("escalations", viewer=agent) == 3
    assert value("avoidable_rate", viewer=agent) == 33.3
    # while the manager's numbers include it
    assert value("escalations", viewer=manager) == 4


def test_no_tickets_gives_empty_rates_not_errors(db, manager):
    # given an empty database
    # when every metric is computed
    tiles = metrics.metric_tiles(list(metrics.METRICS), filters=PERIOD, viewer=manager)
    # then counts are zero and rates and durations have no value
    assert {t.metric.key: t.value for t in tiles} == {
        "tickets": 0.0,
        "escalation_rate": None,
        "first_contact_resolution": None,
        "bounce_rate": None,
        "escalations": 0.0,
        "avoidable_rate": None,
        "time_to_escalate": None,
        "sla_compliance": None,
        "sla_first_response": None,
        "sla_next_response": None,
        "sla_resolution": None,
        "sla_breaches": 0.0,
        "csat": None,
        "repeat_yourself": 0.0,
        "compensations_granted": 0.0,
    }
    assert all(t.change is None for t in tiles)
    series = metrics.metric_series("escalation_rate", filters=PERIOD)
    assert [v for _, v in series[0].points] == [None, None]
    assert coaching.coaching_candidates(filters=PERIOD) == []
    assert metrics.time_in_tier_hours(filters=PERIOD) == {1: None, 2: None, 3: None}


def test_tiles_compare_with_the_previous_period_in_one_query_per_source(dataset, manager):
    # given the second week (9-15 Nov) against the first (2-8 Nov)
    week2 = MetricFilters(start=at(9, 0), end=at(16, 0))
    # when the tiles are computed
    with CaptureQueriesContext(connection) as queries:
        tiles = {t.metric.key: t for t in metrics.metric_tiles(metrics.DASHBOARD_TILES, filters=week2, viewer=manager)}
    # then one aggregate query per source (tickets, escalations, SLA clocks, surveys) covers both periods, after one
    # asking whether the daily rollups are built (they are not here: these are the fact queries)
    assert len(queries) == 1 + 4
    # week 2: T4..T7, 2 escalated = 50%; week 1: T1..T3, 1 escalated = 33.3% -> +16.7 points
    assert (tiles["escalation_rate"].value, tiles["escalation_rate"].previous) == (50.0, 33.3)
    assert tiles["escalation_rate"].change == 16.7
    assert tiles["escalation_rate"].is_better is False
    # tickets 4 vs 3 -> +33.3 %
    assert tiles["tickets"].change == 33.3
    # first-contact resolution: week 2 resolved T6 only (two replies) = 0%; week 1 T1 of T1, T2, T3 = 33.3%
    assert (tiles["first_contact_resolution"].value, tiles["first_contact_resolution"].previous) == (0.0, 33.3)
    # avoidable: week 2 E2 of E2, E3, E4 = 33.3%; week 1 none of E1 = 0%
    assert (tiles["avoidable_rate"].value, tiles["avoidable_rate"].previous) == (33.3, 0.0)
    # time to escalate: week 2 first escalations E2 2 h and E4 6 h = 4 h; week 1 E1 4 h
    assert (tiles["time_to_escalate"].value, tiles["time_to_escalate"].previous) == (4.0, 4.0)
    assert tiles["time_to_escalate"].change == 0.0


def test_escalation_rate_by_agent_team_plan_category_channel_and_type(dataset, manager, agent, agent2, plans, teams):
    # by origin agent: agent T1, T2, T5 (1 escalated); agent2 T3, T4, T6 (2 escalated); T7 nobody (0 of 1)
    by_agent = {row.key: row.value for row in metrics.metric_breakdown("escalation_rate", by="agent", filters=PERIOD)}
    assert by_agent == {agent.pk: 33.3, agent2.pk: 66.7, None: 0.0}
    # by origin team: every ticket started with Frontline (T5 was moved to Compliance by its escalation)
    by_team = {row.label: row.value for row in metrics.metric_breakdown("escalation_rate", by="team", filters=PERIOD)}
    assert by_team == {"Frontline": 42.9}
    # by plan: Basic T3, T4 both escalated; Enterprise T1, T2, T5, T6, T7 with one (T5)
    by_plan = {row.label: row.value for row in metrics.metric_breakdown("escalation_rate", by="plan", filters=PERIOD)}
    assert by_plan == {"Basic": 100.0, "Enterprise": 20.0}
    # by category: billing T1, T2, T6, T7 none; outage T3, T4 both; data-privacy T5
    by_category = {
        row.label: row.value for row in metrics.metric_breakdown("escalation_rate", by="category", filters=PERIOD)
    }
    assert by_category == {"Billing": 0.0, "Outage": 100.0, "Data & privacy": 100.0}
    # by type: technical on T3, T4 (2 of 7), compliance on T5 (1 of 7), nothing else
    by_type = {row.key: row.value for row in metrics.escalation_rate_by_type(filters=PERIOD, viewer=manager)}
    assert by_type["technical"] == 28.6
    assert by_type["compliance"] == 14.3
    assert by_type["financial"] == 0.0
    # filters: channel phone is T6 alone, not escalated; team Compliance started no ticket
    phone = MetricFilters(start=PERIOD.start, end=PERIOD.end, channel=Channel.PHONE)
    assert (value("tickets", phone), value("escalation_rate", phone)) == (1, 0.0)
    compliance = MetricFilters(start=PERIOD.start, end=PERIOD.end, team_id=teams["compliance"].pk)
    assert (value("tickets", compliance), value("escalation_rate", compliance)) == (0, None)
    basic = MetricFilters(start=PERIOD.start, end=PERIOD.end, plan_id=plans["basic"].pk)
    assert value("escalations", basic) == 3  # E1, E2, E3
    by_agent2 = MetricFilters(start=PERIOD.start, end=PERIOD.end, agent_id=agent2.pk)
    assert (value("escalation_rate", by_agent2), value("avoidable_rate", by_agent2)) == (66.7, 33.3)


def test_weekly_series_and_escalations_by_type(dataset, manager):
    # week of 2 Nov: T1, T2, T3 with one escalated; week of 9 Nov: T4..T7 with two
    rate = metrics.metric_series("escalation_rate", filters=PERIOD, viewer=manager)
    assert rate[0].points == [(at(2, 0), 33.3), (at(9, 0), 50.0)]
    # escalations by type: week 1 E1 technical; week 2 E2, E3 technical and E4 compliance
    by_type = metrics.metric_series("escalations", filters=PERIOD, viewer=manager, group="type")
    # every type is a series, in a fixed order, so its colour and pattern never change between charts
    assert [(s.key, [v for _, v in s.points]) for s in by_type] == [
        ("technical", [1.0, 2.0]),
        ("managerial", [0.0, 0.0]),
        ("support_level", [0.0, 0.0]),
        ("emergency", [0.0, 0.0]),
        ("process", [0.0, 0.0]),
        ("financial", [0.0, 0.0]),
        ("compliance", [0.0, 1.0]),
        ("third_party", [0.0, 0.0]),
    ]


def test_time_in_each_tier(dataset, manager):
    # tier 1 (creation to first escalation or resolution): T1 1 h, T2 4 h (resolved again at 13:00), T3 4 h,
    # T4 2 h, T5 6 h, T6 2 h; T7 has left neither -> 19 / 6 = 3.17 h
    # tier 2 (accept to resolve or hand-off): E1 6 h, E2 1 h (returned); E4 still open -> 3.5 h
    assert metrics.time_in_tier_hours(filters=PERIOD, viewer=manager) == {1: 3.17, 2: 3.5, 3: None}


def test_coaching_flags_agents_well_above_their_team(dataset, manager, agent2, teams):
    # given Frontline escalated 3 of 7 tickets (42.9%) and agent2 2 of 3 (66.7% >= 1.5 x 42.9% = 64.3%)
    # when the threshold is 3 tickets
    rows = coaching.coaching_candidates(filters=PERIOD, viewer=manager, min_tickets=3)
    # then only agent2 is flagged, for the escalation rate (avoidable 33.3% < 1.5 x 25%), with their top category
    assert len(rows) == 1
    row = rows[0]
    assert (row.agent, row.team, row.tickets, row.escalated) == (agent2, teams["frontline"], 3, 2)
    assert (row.escalation_rate, row.team_escalation_rate) == (66.7, 42.9)
    assert (row.escalations, row.avoidable, row.avoidable_rate, row.team_avoidable_rate) == (3, 1, 33.3, 25.0)
    assert row.flags == ["escalation_rate"]
    assert row.top_categories == [("Outage", 3)]
    # and with the default minimum of 5 tickets nobody has enough tickets to be judged
    assert coaching.coaching_candidates(filters=PERIOD, viewer=manager) == []


def test_needs_attention_lists_only_what_the_viewer_may_see(dataset, manager, agent):
    # given two open emergencies, one of them the restricted T5, and T7 due in 30 minutes, past its warning point
    from helpdesk.models import Ticket

    now = at(12, 12)
    Ticket.objects.filter(pk__in=[dataset.t4.pk, dataset.t5.pk]).update(is_emergency=True)
    soon = {"sla_due_at": now + dt.timedelta(minutes=30), "sla_warn_at": now - dt.timedelta(minutes=10)}
    Ticket.objects.filter(pk=dataset.t7.pk).update(**soon)
    Ticket.objects.filter(pk=dataset.t6.pk).update(**soon)  # resolved: ignored
    # when the manager and the agent look
    for_manager = dashboard.needs_attention(viewer=manager, now=now)
    for_agent = dashboard.needs_attention(viewer=agent, now=now)
    # then the manager sees both emergencies; the agent never sees the restricted one
    assert {t.subject for t in for_manager["emergencies"]} == {"T4", "T5 restricted"}
    assert for_manager["emergency_count"] == 2
    assert [t.subject for t in for_agent["emergencies"]] == ["T4"]
    assert for_agent["emergency_count"] == 1
    assert [t.subject for t in for_manager["breaching"]] == ["T7"]
    # the feedback app is installed, so the low-CSAT list exists; no survey was answered in this data set
    assert list(for_manager["low_csat"]) == []


def test_filters_round_trip_through_the_query_string(teams):
    now = at(23, 12)
    filters = MetricFilters.from_params(
        {"start": "2026-11-02", "end": "2026-11-15", "team": str(teams["frontline"].pk), "tier": "9", "channel": "fax"},
        now=now,
    )
    assert (filters.start, filters.end, filters.team_id) == (at(2, 0), at(16, 0), teams["frontline"].pk)
    assert (filters.tier, filters.channel) == (None, None)  # invalid values are ignored
    assert filters.to_params() == {"start": "2026-11-02", "end": "2026-11-15", "team": str(teams["frontline"].pk)}
    assert filters.previous().start == at(19, 0, month=10)


def test_ticket_metrics_refuse_a_dimension_they_do_not_have(db):
    with pytest.raises(ValueError) as excinfo:
        metrics.metric_breakdown("escalation_rate", by="type", filters=PERIOD)
    assert str(excinfo.value) == "Escalation rate cannot be broken down by type."


def test_several_series_in_one_query(dataset, manager):
    # escalation rate 33.3% then 50%; first-contact resolution: week 1 T1 of T1, T2, T3; week 2 none of T6
    with CaptureQueriesContext(connection) as queries:
        rate, fcr = metrics.metric_series_many(
            ["escalation_rate", "first_contact_resolution"], filters=PERIOD, viewer=manager
        )
    assert len(queries) == 1 + 1  # whether the rollups are built, then the one fact query
    assert [v for _, v in rate.points] == [33.3, 50.0]
    assert [v for _, v in fcr.points] == [33.3, 0.0]
