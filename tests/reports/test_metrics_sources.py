"""SLA compliance, CSAT, compensation, root causes and the knowledge base, on the data set of conftest.py plus the
rows each test adds (described in its docstring). Every expected number is computed by hand in the comments.

Those added rows are planted directly, at exact past timestamps, on purpose: metric definitions are pinned against
known facts at known times."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from escalations.models import ClockState, ClockTarget, CompensationRequest, EscalationPath, SLAClock
from feedback.models import CoachingItem, CorrectiveAction, RootCauseAnalysis, Survey
from helpdesk.models import EventKind, TicketEvent
from knowledge_base import services as kb_services
from knowledge_base.models import Article, Deflection
from reports import coaching, dashboard, metrics
from reports.metrics import MetricFilters
from tests.reports.conftest import at

PERIOD = MetricFilters(start=at(2, 0), end=at(16, 0))
PUBLISHED = at(1, 0)


def value(key, viewer=None, filters=PERIOD):
    return metrics.metric_value(key, filters=filters, viewer=viewer)


def breakdown(key, by, viewer):
    return {
        row.label: (row.value, row.num, row.den)
        for row in metrics.metric_breakdown(key, by=by, filters=PERIOD, viewer=viewer)
    }


# --- SLA -------------------------------------------------------------------------------------------------------


@pytest.fixture
def clocks(dataset):
    """| ticket | target          | state   | breached | outcome                |
    | T1     | first response  | met     | no       | met                    |
    | T1     | resolution      | met     | no       | met                    |
    | T2     | first response  | met     | yes      | breached (met late)    |
    | T2     | resolution      | met     | no       | met                    |
    | T3     | first response  | met     | no       | met                    |
    | T3     | resolution      | met     | yes      | breached (met late)    |
    | T4     | first response  | met     | no       | met                    |
    | T4     | next response   | running | no       | none yet (left out)    |
    | T5     | first response  | running | yes      | breached (restricted)  |
    | T6     | first response  | stopped | no       | none (left out)        |
    | T0     | first response  | met     | yes      | outside the period     |"""
    d = dataset
    rows = [
        (d.t1, ClockTarget.FIRST_RESPONSE, ClockState.MET, False),
        (d.t1, ClockTarget.RESOLUTION, ClockState.MET, False),
        (d.t2, ClockTarget.FIRST_RESPONSE, ClockState.MET, True),
        (d.t2, ClockTarget.RESOLUTION, ClockState.MET, False),
        (d.t3, ClockTarget.FIRST_RESPONSE, ClockState.MET, False),
        (d.t3, ClockTarget.RESOLUTION, ClockState.MET, True),
        (d.t4, ClockTarget.FIRST_RESPONSE, ClockState.MET, False),
        (d.t4, ClockTarget.NEXT_RESPONSE, ClockState.RUNNING, False),
        (d.t5, ClockTarget.FIRST_RESPONSE, ClockState.RUNNING, True),
        (d.t6, ClockTarget.FIRST_RESPONSE, ClockState.STOPPED, False),
        (d.t0, ClockTarget.FIRST_RESPONSE, ClockState.MET, True),
    ]
    for ticket, target, state, breached in rows:
        SLAClock.objects.create(
            ticket=ticket,
            target=target,
            state=state,
            target_seconds=3600,
            started_at=ticket.created_at,
            breached_at=ticket.created_at + dt.timedelta(hours=1) if breached else None,
            met_at=ticket.created_at + dt.timedelta(hours=2) if state == ClockState.MET else None,
        )
    return dataset


def test_sla_compliance_per_target(clocks, manager):
    # first response: met T1, T3, T4; breached T2, T5 (T6 stopped, T0 outside) -> 3 / 5
    assert value("sla_first_response", manager) == 60.0
    # resolution: met T1, T2; breached T3 -> 2 / 3
    assert value("sla_resolution", manager) == 66.7
    # next response: only T4's, still running -> no outcome
    assert value("sla_next_response", manager) is None
    # every target: 5 met in time out of 8 with an outcome
    assert value("sla_compliance", manager) == 62.5
    assert value("sla_breaches", manager) == 3


def test_sla_breaches_by_team_and_plan_and_hidden_from_agents(clocks, manager, agent):
    # breaches: T2 (Frontline, Enterprise), T3 (Technical, which accepted its escalation; Basic), T5 (Compliance,
    # Enterprise)
    assert breakdown("sla_breaches", "team", manager) == {
        "Frontline": (1.0, 1, None),
        "Technical": (1.0, 1, None),
        "Compliance": (1.0, 1, None),
    }
    assert {k: v[0] for k, v in breakdown("sla_breaches", "plan", manager).items()} == {"Enterprise": 2.0, "Basic": 1.0}
    assert breakdown("sla_compliance", "target", manager) == {
        "Resolution": (66.7, 2, 3),
        "First response": (60.0, 3, 5),
        "Next response": (None, 0, 0),
    }
    # the dashboard reads both from one query
    by_team, by_plan = dashboard.sla_breaches_by_team_and_plan(filters=PERIOD, viewer=manager)
    assert [(r.label, r.num) for r in by_team] == [("Compliance", 1), ("Frontline", 1), ("Technical", 1)]
    assert [(r.label, r.num) for r in by_plan] == [("Enterprise", 2), ("Basic", 1)]
    # the agent cannot see the restricted T5: first response 3 met of 4 decided
    assert value("sla_breaches", agent) == 2
    assert value("sla_first_response", agent) == 75.0


def test_sla_compliance_weekly_series_in_one_query(clocks, manager, django_assert_num_queries):
    keys = ["sla_first_response", "sla_next_response", "sla_resolution"]
    with django_assert_num_queries(1 + 1):  # whether the rollups are built, then the one fact query
        series = metrics.metric_series_many(keys, filters=PERIOD, viewer=manager)
    # week 1 (T1..T3): first response 2/3, resolution 2/3; week 2 (T4..T6): first response 1/2 (T4 met, T5 breached)
    assert {s.key: [v for _, v in s.points] for s in series} == {
        "sla_first_response": [66.7, 50.0],
        "sla_next_response": [None, None],
        "sla_resolution": [66.7, None],
    }


# --- CSAT and repeat-yourself ----------------------------------------------------------------------------------


@pytest.fixture
def surveys(dataset):
    """| ticket | escalated (path)   | csat | explained | answered       |
    | T1     | no                 | 5    | 1         | Mon 2 Nov 12:00 |
    | T2     | no                 | 2    | 3         | Tue 3 Nov 15:00 |
    | T3     | yes (Outage path)  | 4    | 2         | Thu 5 Nov 09:00 |
    | T4     | yes (no path)      | 5    | 2         | Tue 10 Nov 09:00 |
    | T6     | no                 | -    | -         | not answered    |"""
    d = dataset
    path = EscalationPath.objects.create(name="Outage path", escalation_type="technical")
    e1 = d.t3.escalations.get()
    e1.path = path
    e1.save(update_fields=["path"])
    for ticket, escalation, csat, explained, answered in [
        (d.t1, None, 5, 1, at(2, 12)),
        (d.t2, None, 2, 3, at(3, 15)),
        (d.t3, e1, 4, 2, at(5, 9)),
        (d.t4, d.t4.escalations.order_by("pk").last(), 5, 2, at(10, 9)),
        (d.t6, None, None, None, None),
    ]:
        # resolving a ticket already scheduled its survey (feedback); the customer's answers are set here
        Survey.objects.update_or_create(
            ticket=ticket,
            defaults={
                "escalation": escalation,
                "is_escalated": escalation is not None,
                "nonce": "n",
                "csat": csat,
                "explain_count": explained,
                "answered_at": answered,
            },
        )
    return dataset


def test_csat_and_repeat_yourself_escalated_vs_not_and_per_path(surveys, manager):
    # satisfied (4 or 5): T1, T3, T4 of the four scored -> 75%
    assert value("csat", manager) == 75.0
    # explained twice or more: T2, T3, T4
    assert value("repeat_yourself", manager) == 3
    # escalated: T3, T4 both satisfied; not escalated: T1 of T1, T2
    assert breakdown("csat", "escalated", manager) == {"Escalated": (100.0, 2, 2), "Not escalated": (50.0, 1, 2)}
    assert {k: v[0] for k, v in breakdown("repeat_yourself", "escalated", manager).items()} == {
        "Escalated": 2.0,
        "Not escalated": 1.0,
    }
    assert {k: v[0] for k, v in breakdown("csat", "path", manager).items()} == {"Outage path": 100.0, "(none)": 66.7}
    # per tier (the ticket's current one): T3 is with Technical, which accepted its escalation -> 1/1; T1, T2 and
    # T4 (returned to Frontline, its second escalation not accepted yet) are at tier 1 -> 2/3
    assert {k: v[0] for k, v in breakdown("csat", "tier", manager).items()} == {
        "Tier 1 (agents)": 66.7,
        "Tier 2 (specialists)": 100.0,
    }
    # the weekly chart: week 1 T1, T2, T3 -> 2/3; week 2 T4 -> 1/1
    series = metrics.metric_series("csat", filters=PERIOD, viewer=manager)
    assert [v for _, v in series[0].points] == [66.7, 100.0]


# --- compensation, pending approvals ----------------------------------------------------------------------------


@pytest.fixture
def compensations(dataset, agent, agent2, manager, compliance_officer):
    """| ticket | amount   | status        | decided by         |
    | T3     | 50 GBP   | auto approved | -                  |
    | T4     | 200 GBP  | approved      | manager            |
    | T4     | 30 GBP   | rejected      | manager            |
    | T5     | 100 EUR  | approved      | compliance officer | (restricted)
    | T1     | 500 GBP  | pending       | -                  |"""
    d = dataset
    for ticket, amount, currency, status, decided_by, requested_by in [
        (d.t3, "50", "GBP", "auto_approved", None, agent2),
        (d.t4, "200", "GBP", "approved", manager, agent2),
        (d.t4, "30", "GBP", "rejected", manager, agent2),
        (d.t5, "100", "EUR", "approved", compliance_officer, agent),
        (d.t1, "500", "GBP", "pending", None, agent),
    ]:
        CompensationRequest.objects.create(
            ticket=ticket,
            amount=Decimal(amount),
            currency=currency,
            reason="Goodwill.",
            status=status,
            requested_by=requested_by,
            requester_limit=Decimal("100"),
            decided_by=decided_by,
            created_at=ticket.created_at + dt.timedelta(hours=5),
        )
    return dataset


def test_compensation_granted_by_type_and_approver(compensations, manager, agent):
    assert value("compensations_granted", manager) == 3
    rows = [
        (r.currency, r.approval, r.approver, r.count, r.total)
        for r in dashboard.compensation_granted(filters=PERIOD, viewer=manager)
    ]
    assert rows == [
        ("EUR", "approved", "Cora Ng", 1, Decimal("100.00")),
        ("GBP", "approved", "Morgan Blake", 1, Decimal("200.00")),
        ("GBP", "auto_approved", "(within the requester's limit)", 1, Decimal("50.00")),
    ]
    # the agent does not see the restricted T5's compensation
    assert value("compensations_granted", agent) == 2


def test_needs_attention_lists_pending_approvals(compensations, manager):
    attention = dashboard.needs_attention(viewer=manager, now=at(16, 0))
    assert attention["pending_approval_count"] == 1
    assert [(c.ticket.subject, c.amount) for c in attention["pending_approvals"]] == [("T1", Decimal("500.00"))]


# --- root causes ---------------------------------------------------------------------------------------------


def test_top_root_causes_with_their_actions_status(dataset, manager, agent, agent2):
    # given RCAs: T3 product defect (not preventable; one action open due 1 Nov, one done), T4 training gap
    # (preventable, no action), T5 product defect (preventable; one action open due 30 Nov)
    d = dataset
    rows = [
        (
            d.t3,
            "product_defect",
            False,
            [("Fix the driver", at(1, 0).date(), "open"), ("Hotfix", at(5, 0).date(), "done")],
        ),
        (d.t4, "training_gap", True, []),
        (d.t5, "product_defect", True, [("Mask the export", at(30, 0).date(), "open")]),
    ]
    for ticket, cause, preventable, actions in rows:
        rca = RootCauseAnalysis.objects.create(
            ticket=ticket, cause_category=cause, preventable=preventable, five_whys="Why?", created_at=at(13, 9)
        )
        for description, due, status in actions:
            CorrectiveAction.objects.create(
                rca=rca, description=description, owner=manager, due_date=due, status=status
            )
    # when the top root causes are read on 16 Nov
    top = dashboard.top_root_causes(filters=PERIOD, viewer=manager, today=at(16, 0).date())
    # then product defects lead with 2 analyses (1 preventable), 2 open actions of which 1 overdue, 1 done
    assert [(r.label, r.analyses, r.preventable, r.actions_open, r.actions_overdue, r.actions_done) for r in top] == [
        ("Product defect", 2, 1, 2, 1, 1),
        ("Training gap", 1, 1, 0, 0, 0),
    ]
    # and the agent, who cannot see T5, sees one product defect
    top = dashboard.top_root_causes(filters=PERIOD, viewer=agent, today=at(16, 0).date())
    assert [(r.label, r.analyses, r.actions_open) for r in top] == [("Product defect", 1, 1), ("Training gap", 1, 0)]


# --- knowledge base ---------------------------------------------------------------------------------------------


@pytest.fixture
def kb(dataset, customer, customer2, agent, categories):
    """Articles: "Outage checklist" (outage, published 1 Nov), "Billing FAQ" (billing, published 1 Nov), "Privacy
    requests" (data & privacy, published 20 Nov: after E4), "Outage draft" (outage, draft).
    Uses and openings:
    - agent used "Outage checklist" on T3 at 4 Nov 12:00 (before E1 at 13:00);
    - T4 has a kb timeline event at 9 Nov 11:30 that is a draft from its RCA, not an opening;
    - customer2 opened "Outage checklist" before submitting T3 and T4, and "Billing FAQ" before T4 (submitted anyway);
    - customer opened "Billing FAQ" on 5 Nov (confirmed, no ticket) and on 15 Nov 20:00 (window still open)."""
    d = dataset

    def article(title, category, status="published", published=PUBLISHED):
        return Article.objects.create(
            title=title, body="Steps.", category=categories[category], status=status, published_at=published
        )

    outage = article("Outage checklist", "outage")
    billing = article("Billing FAQ", "billing")
    article("Privacy requests", "data-privacy", published=at(20, 0))
    article("Outage draft", "outage", status="draft", published=None)
    with time_machine.travel(at(4, 12), tick=False):
        kb_services.article_use_record(article=outage, ticket=d.t3, actor=agent)
    TicketEvent.objects.create(
        ticket=d.t4,
        kind=EventKind.KB,
        body="Draft article.",
        data={"action": "draft_from_rca"},
        created_at=at(9, 11, 30),
    )
    for art, ticket, session, opened in [
        (outage, d.t3, "s1", at(4, 8)),
        (outage, d.t4, "s2", at(9, 9)),
        (billing, d.t4, "s2", at(9, 9, 30)),
    ]:
        Deflection.objects.create(article=art, user=customer2, session_key=session, ticket=ticket, opened_at=opened)
    Deflection.objects.create(
        article=billing, user=customer, session_key="s3", opened_at=at(5, 9), confirmed_at=at(5, 9, 5)
    )
    Deflection.objects.create(article=billing, user=customer, session_key="s4", opened_at=at(15, 20))
    return dataset


def test_avoidable_when_a_published_article_existed_and_was_not_opened(kb, manager):
    # E1 (T3, outage): the checklist existed and was used first -> not avoidable
    # E2 (T4, outage): returned -> avoidable
    # E3 (T4, outage): the checklist existed; the kb event was a draft, not an opening -> avoidable
    # E4 (T5, data & privacy): its article was published only on 20 Nov -> not avoidable
    assert value("avoidable_rate", manager) == 50.0


def test_kb_deflections_follow_the_knowledge_base_definition(kb):
    # five openings in the period: three submitted anyway, one settled without a ticket (and confirmed), one pending
    assert dashboard.kb_deflections(filters=PERIOD, now=at(16, 0)) == {
        "opened": 5,
        "deflected": 1,
        "confirmed": 1,
        "submitted_anyway": 3,
        "pending": 1,
    }


def test_articles_that_most_often_precede_an_escalation(kb, manager):
    # Outage checklist: T3 (used by the agent and opened by the customer: counted once) and T4 -> 2
    # Billing FAQ: T4 -> 1 (its openings without a ticket preceded no escalation)
    rows = dashboard.articles_before_escalation(filters=PERIOD, viewer=manager)
    assert [(r.title, r.escalated_tickets) for r in rows] == [("Outage checklist", 2), ("Billing FAQ", 1)]


# --- coaching -----------------------------------------------------------------------------------------------


def test_coaching_shows_kb_articles_of_top_categories_and_rca_coaching_items(kb, manager, agent2):
    # given an RCA of T4 that found a training gap for agent2
    rca = RootCauseAnalysis.objects.create(
        ticket=kb.t4, cause_category="training_gap", preventable=True, five_whys="Why?"
    )
    CoachingItem.objects.create(agent=agent2, rca=rca, note="Check the status page before escalating.")
    # when the coaching view's rows are computed
    (row,) = coaching.coaching_candidates(filters=PERIOD, viewer=manager, min_tickets=3)
    # then agent2's top category (Outage) comes with its published article (not the draft) and the coaching item
    assert row.agent == agent2
    assert row.top_categories == [("Outage", 3)]
    assert [a.title for a in row.kb_articles] == ["Outage checklist"]
    assert [(i.note, i.rca.ticket.subject) for i in row.coaching_items] == [
        ("Check the status page before escalating.", "T4")
    ]


# --- numbers that agree ------------------------------------------------------------------------------------------


def test_every_tile_shows_the_sample_it_stands_on(surveys, manager):
    # given the two weeks of the hand-built data set, with four scored surveys in them
    # when the dashboard's tiles are computed
    tiles = {t.metric.key: t for t in metrics.metric_tiles(list(metrics.METRICS), filters=PERIOD, viewer=manager)}

    # then a rate carries its denominator, an average its rows, a count none
    assert (tiles["csat"].value, tiles["csat"].sample) == (75.0, 4)
    assert (tiles["escalation_rate"].value, tiles["escalation_rate"].sample) == (42.9, 7)
    assert (tiles["time_to_escalate"].value, tiles["time_to_escalate"].sample) == (4.0, 3)
    assert tiles["tickets"].sample is None
    # and the previous period (the two weeks before, with no data) says n=0 rather than a bare 0.0%
    assert (tiles["csat"].previous, tiles["csat"].previous_sample) == (None, 0)


@pytest.mark.parametrize("key", list(metrics.METRICS))
def test_previous_period_is_computed_exactly_as_the_current_one(surveys, manager, key):
    # given the dashboard's tile for the week of 9 Nov, whose previous period is the week of 2 Nov
    week2 = MetricFilters(start=at(9, 0), end=at(16, 0))
    tile = next(t for t in metrics.metric_tiles([key], filters=week2, viewer=manager))

    # when the previous week is computed on its own, as the current period
    alone = metrics.metric_value_and_sample(key, filters=week2.previous(), viewer=manager)
    current = metrics.metric_value_and_sample(key, filters=week2, viewer=manager)

    # then the tile's "previous" and "current" are those numbers, with the same samples
    assert (tile.previous, tile.previous_sample) == alone
    assert (tile.value, tile.sample) == current


def test_the_csat_tile_and_the_low_csat_list_count_the_same_surveys(surveys, manager):
    # given T2 scored 2 (low) on 3 Nov, and surveys outside the period that scored 1
    outside = surveys.t0
    Survey.objects.update_or_create(
        ticket=outside, defaults={"nonce": "n", "csat": 1, "is_escalated": True, "answered_at": at(30, 9, month=10)}
    )

    # when the dashboard's tiles and its attention panel are computed for the same period
    tile = next(t for t in metrics.metric_tiles(["csat"], filters=PERIOD, viewer=manager))
    attention = dashboard.needs_attention(viewer=manager, now=at(16, 0), period=PERIOD)

    # then the list holds exactly the low scores among the tile's sample
    assert [s.ticket_id for s in attention["low_csat"]] == [surveys.t2.pk]
    assert attention["low_csat_count"] == 1
    scored = Survey.objects.filter(answered_at__gte=PERIOD.start, answered_at__lt=PERIOD.end, csat__isnull=False)
    assert tile.sample == scored.count() == 4
    assert tile.value == 100.0 * scored.filter(csat__gte=4).count() / tile.sample
