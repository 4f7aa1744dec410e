"""The reports screens: access, the dashboard, the attention panel, the explorer and its CSV export, coaching.

Some tests plant rows directly (clocks, surveys, compensations, RCAs, KB facts) at exact past timestamps on purpose:
metric definitions are pinned against known facts at known times."""

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from escalations.models import OnCallMember, OnCallRotation
from helpdesk.models import Category, TeamMembership, Ticket, User
from reports.csv_export import csv_neutralise, csv_render
from reports.models import CoachingSession
from reports.services import coaching_session_record
from tests.reports.conftest import at

# The dashboard, whatever the data (bench/dashboard.py prints the same figure): at most 45, five of them to read the
# viewer's on-call rotas, their members, zones and covers and the people on call, one asking whether the daily
# rollups are built (once per request), two for the time in tier, the likely-to-escalate panel with its outcome
# figures, and the open major incidents with their linked-ticket counts (one query, incidents.templatetags).
DASHBOARD_QUERIES = 45

SCREENS = ["reports_dashboard", "reports_attention", "reports_coaching", "reports_explorer", "reports_explorer_csv"]


@pytest.mark.parametrize("url_name", SCREENS)
def test_reports_are_for_managers_and_admins_only(
    url_name, client, login, customer, agent, specialist, manager, admin_user
):
    url = reverse(url_name)
    # anonymous visitors are sent to sign in
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    # customers, agents and specialists are refused
    for user in (customer, agent, specialist):
        login(user)
        assert client.get(url).status_code == 403
        client.logout()
    # managers and admins get the page
    for user in (manager, admin_user):
        login(user)
        assert client.get(url).status_code == 200
        client.logout()


def test_nav_shows_reports_to_managers_only(client, login, manager, agent):
    login(manager)
    page = client.get(reverse("reports_dashboard")).content.decode()
    assert 'href="/reports/coaching/"' in page and 'href="/reports/explorer/"' in page
    client.logout()
    login(agent)
    page = client.get(reverse("ticket_list")).content.decode()
    assert "/reports/" not in page


def test_dashboard_shows_tiles_charts_and_attention(dataset, client, login, manager):
    # given the hand-built data set, and T4 is an open emergency
    Ticket.objects.filter(pk=dataset.t4.pk).update(is_emergency=True)
    login(manager)
    # when the manager opens the dashboard as of 16 Nov (the last 7 days are 10-16 Nov)
    with time_machine.travel(at(16, 12), tick=False):
        response = client.get(reverse("reports_dashboard"), {"days": 7})
    page = response.content.decode()
    # then the tiles, the four charts and the attention panel are there
    assert response.status_code == 200
    for label in (
        "Tickets created",
        "Escalation rate",
        "Avoidable escalations",
        "First-contact resolution",
        "SLA compliance",
        "CSAT",
    ):
        assert label in page
    assert page.count('role="img"') == 4
    assert "Escalations per week by type, last 12 weeks" in page
    assert "SLA compliance per target, last 12 weeks" in page
    assert "CSAT per week, escalated vs not escalated, last 12 weeks" in page
    for section in ("SLA breaches today", "Pending approvals", "Top root causes", "Compensation granted"):
        assert section in page
    assert dataset.t4.reference in page
    assert "Needs attention now" in page


def test_explorer_renders_a_filtered_series(dataset, client, login, manager, plans):
    login(manager)
    response = client.get(
        reverse("reports_explorer"),
        {
            "metric": "escalations",
            "group": "type",
            "start": "2026-11-02",
            "end": "2026-11-15",
            "plan": plans["basic"].pk,
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Escalations per week" in page
    assert "Technical: 3 in total." in page  # E1, E2, E3 are the Basic plan's


def test_explorer_breaks_the_escalation_rate_down_by_agent_and_by_type(dataset, client, login, manager):
    login(manager)
    params = {"metric": "escalation_rate", "start": "2026-11-02", "end": "2026-11-15"}
    page = client.get(reverse("reports_explorer"), {**params, "group": "agent"}).content.decode()
    # agent2: T3, T4, T6 with two escalated; Alex Morgan: T1, T2, T5 with one
    assert '<th scope="row">Jordan Lee</th><td>66.7%</td><td>2 / 3</td>' in page
    assert '<th scope="row">Alex Morgan</th><td>33.3%</td><td>1 / 3</td>' in page
    page = client.get(reverse("reports_explorer"), {**params, "group": "type"}).content.decode()
    assert '<th scope="row">Technical</th><td>28.6%</td><td>2 / 7</td>' in page


def test_csv_export_neutralises_formulas_and_shows_the_numbers(dataset, client, login, manager):
    # given a category whose name is a spreadsheet formula
    Category.objects.filter(slug="billing").update(name='=HYPERLINK("http://evil.example","x")')
    login(manager)
    # when the explorer's escalation rate per category is exported
    response = client.get(
        reverse("reports_explorer_csv"),
        {"metric": "escalation_rate", "group": "category", "start": "2026-11-02", "end": "2026-11-15"},
    )
    # then it is a CSV attachment, the formula is text, and the numbers match the screen
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="escalation_rate-20261102-20261116.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Week starting (UTC)", "Category", "Escalation rate", "Unit"]
    assert ["2026-11-02", '\'=HYPERLINK("http://evil.example","x")', "0.0", "%"] in rows
    assert ["2026-11-09", "Outage", "100.0", "%"] in rows
    assert not any(cell.startswith("=") for row in rows for cell in row)


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_neutralise_prefixes_formula_triggers(text):
    assert csv_neutralise(text) == "'" + text


def test_csv_neutralise_leaves_plain_text_and_numbers():
    assert csv_neutralise("Billing") == "Billing"
    assert csv_neutralise(-3) == -3
    assert csv_render(header=["a"], rows=[[None], ["=x"]]) == 'a\r\n""\r\n\'=x\r\n'


def test_coaching_view_lists_flagged_agents_and_records_a_session(
    dataset, client, login, manager, agent, agent2, escalate
):
    # given, in the week of 10-16 Nov, four more outage tickets that agent2 escalated and four billing tickets that
    # agent resolved without escalating
    from helpdesk import services

    for day in (13, 14, 15, 16):
        with time_machine.travel(at(day, 9), tick=False):
            escalated = services.ticket_create(
                customer=dataset.t3.customer, subject=f"Down {day}", description="Down.", category=dataset.t3.category
            )
            services.ticket_reply(ticket=escalated, author=agent2, body="Checking.")
            resolved = services.ticket_create(
                customer=dataset.t1.customer, subject=f"Bill {day}", description="?", category=dataset.t1.category
            )
            services.ticket_reply(ticket=resolved, author=agent, body="Fixed.")
            services.ticket_change_status(ticket=resolved, actor=agent, status="resolved")
        escalate(escalated, when=at(day, 10), by=agent2)
    login(manager)
    # when the manager opens the coaching view on 16 Nov for the last 7 days (10-16 Nov)
    with time_machine.travel(at(16, 12), tick=False):
        page = client.get(reverse("reports_coaching"), {"days": 7}).content.decode()
    # then agent2 (T6 + 4 = 5 tickets, 4 escalated = 80%) stands out from Frontline (T5, T6, T7 + 8 = 11 tickets,
    # 5 escalated = 45.5%; 1.5 x 45.5% = 68.2%), and agent (T5 + 4 = 5 tickets, 1 escalated = 20%) does not
    flagged = page.split("Record a coaching session")[0]
    assert "Jordan Lee" in flagged and "Alex Morgan" not in flagged
    assert '<strong>80.0%</strong> <span class="muted">vs team 45.5%</span>' in flagged
    assert "4 of 5 tickets" in flagged
    assert "Outage — 4 escalations" in flagged
    assert "Escalates often" in flagged and "Many avoidable escalations" not in flagged
    # and recording a session works and shows up under the agent
    with time_machine.travel(at(16, 12), tick=False):
        response = client.post(
            reverse("reports_coaching") + "?days=7",
            {"agent": agent2.pk, "held_on": "2026-11-16", "notes": "Walked through the outage checklist."},
        )
        assert response.status_code == 302
        page = client.get(reverse("reports_coaching"), {"days": 7}).content.decode()
    session = CoachingSession.objects.get()
    assert (session.agent, session.manager, session.held_on) == (agent2, manager, dt.date(2026, 11, 16))
    assert "Walked through the outage checklist." in page.split("Record a coaching session")[0]


def test_coaching_session_rules(db, manager, agent, agent2):
    with time_machine.travel(at(16, 12), tick=False):
        with pytest.raises(ValidationError) as excinfo:
            coaching_session_record(agent=agent, manager=manager, held_on=dt.date(2026, 11, 17), notes=" ")
        assert excinfo.value.message_dict == {
            "held_on": ["A coaching session cannot be recorded in the future."],
            "notes": ["Write down what was discussed."],
        }
        with pytest.raises(ValidationError) as excinfo:
            coaching_session_record(agent=manager, manager=manager, held_on=dt.date(2026, 11, 16), notes="x")
        assert excinfo.value.message_dict == {"agent": ["Coaching sessions are recorded for agents and specialists."]}
        with pytest.raises(PermissionDenied) as denied:
            coaching_session_record(agent=agent, manager=agent2, held_on=dt.date(2026, 11, 16), notes="x")
        assert str(denied.value) == "Only managers record coaching sessions."


def test_demo_seeder_adds_coaching_sessions_once(db):
    from django.core.management import call_command

    call_command("seed_demo", "--password", "pw-demo")
    count = CoachingSession.objects.count()
    call_command("seed_demo", "--password", "pw-demo")
    assert count == 3 == CoachingSession.objects.count()


def test_dashboard_query_count_does_not_grow_with_the_data(dataset, client, login, manager, agent, escalate):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from helpdesk import services

    login(manager)
    with time_machine.travel(at(16, 12), tick=False):
        with CaptureQueriesContext(connection) as before:
            client.get(reverse("reports_dashboard"))
        # given ten more tickets: escalated, emergencies, and past their SLA warning point (due within the hour)
        for index in range(10):
            ticket = services.ticket_create(
                customer=dataset.t1.customer, subject=f"More {index}", description="x", category=dataset.t1.category
            )
            services.ticket_reply(ticket=ticket, author=agent, body="On it.")
            escalate(ticket, when=at(16, 11), by=agent)
        Ticket.objects.filter(subject__startswith="More").update(
            is_emergency=True, sla_due_at=at(16, 12, 30), sla_warn_at=at(16, 11, 50)
        )
        with CaptureQueriesContext(connection) as after:
            page = client.get(reverse("reports_dashboard")).content.decode()
    # then the page shows them with exactly as many queries as before
    assert page.count("More ") == 2 * 8  # eight of the ten in each list (emergencies, due within the hour)
    assert '<span class="count">10</span>' in page
    assert len(after) == len(before)


def test_attention_counts_stop_at_the_cap(dataset, client, login, manager, monkeypatch):
    from reports import dashboard

    # given five open emergencies inside their SLA warning window, and a cap of three (100 in production)
    monkeypatch.setattr(dashboard, "ATTENTION_COUNT_CAP", 3)
    login(manager)
    with time_machine.travel(at(16, 12), tick=False):
        open_tickets = Ticket.objects.open().order_by("pk")
        chosen = list(open_tickets.values_list("pk", flat=True)[:5])
        assert len(chosen) == 5
        Ticket.objects.filter(pk__in=chosen).update(
            is_emergency=True, sla_due_at=at(16, 12, 30), sla_warn_at=at(16, 11, 50)
        )
        # when the panel counts them
        attention = dashboard.needs_attention(viewer=manager, now=at(16, 12))
        html = client.get(reverse("reports_attention"), headers={"HX-Request": "true"}).content.decode()
    # then each count says "3+" rather than reading every row
    assert (attention["emergency_count"], attention["emergency_more"]) == (3, True)
    assert (attention["breaching_count"], attention["breaching_more"]) == (3, True)
    assert html.count('<span class="count">3+</span>') == 2


def test_attention_panel_refreshes_alone(dataset, client, login, manager):
    # given T4 is an open emergency
    Ticket.objects.filter(pk=dataset.t4.pk).update(is_emergency=True)
    login(manager)
    # when the dashboard polls the panel
    response = client.get(reverse("reports_attention"), headers={"HX-Request": "true"})
    html = response.content.decode()
    # then only the panel comes back, ready to replace itself when a pushed frame (or the fallback poll) says so
    assert html.lstrip().startswith('<aside class="card attention"')
    assert 'hx-trigger="live-ticket from:body delay:5s, live-poll from:body"' in html
    assert dataset.t4.reference in html
    assert "<html" not in html


def test_every_metric_and_split_renders_with_every_filter(dataset, client, login, manager, plans, teams, agent2):
    from reports.metrics import DIMENSIONS, METRICS

    login(manager)
    filters = {
        "start": "2026-11-02",
        "end": "2026-11-15",
        "team": teams["frontline"].pk,
        "tier": 1,
        "category": dataset.t3.category_id,
        "plan": plans["basic"].pk,
        "channel": "web",
        "agent": agent2.pk,
    }
    for metric in METRICS:
        for group in ("", *DIMENSIONS):
            for params in ({"metric": metric, "group": group}, {"metric": metric, "group": group, **filters}):
                assert client.get(reverse("reports_explorer"), params).status_code == 200, (metric, group)
                assert client.get(reverse("reports_explorer_csv"), params).status_code == 200, (metric, group)
    # the fully filtered escalations of agent2 on the Basic plan, outage, web: E1, E2, E3
    response = client.get(reverse("reports_explorer_csv"), {"metric": "escalations", **filters})
    assert response.content.decode().splitlines()[1:] == [
        "2026-11-02,Escalations,1.0,count",
        "2026-11-09,Escalations,2.0,count",
    ]


def _add_analytics_rows(*, tickets, actor, approver, article, k: int, tag: str) -> None:
    """k rows of every kind the dashboard reads besides tickets and escalations, on the given tickets."""
    from decimal import Decimal

    from escalations.models import ClockState, ClockTarget, CompensationRequest, SLAClock, SLAEvent, SLAEventKind
    from feedback.models import CorrectiveAction, RootCauseAnalysis
    from knowledge_base.models import ArticleUse, Deflection

    for index, ticket in enumerate(tickets[:k]):
        clock = SLAClock.objects.create(
            ticket=ticket,
            target=ClockTarget.RESOLUTION,
            state=ClockState.MET,
            target_seconds=60,
            started_at=at(16, 1),
            breached_at=at(16, 2),
        )
        SLAEvent.objects.create(clock=clock, ticket=ticket, kind=SLAEventKind.BREACHED, at=at(16, 2))
        survey = getattr(ticket, "survey", None)
        if survey is None:
            from feedback.models import Survey

            Survey.objects.create(ticket=ticket, is_escalated=True, nonce="n", csat=1, answered_at=at(16, 3))
        for status in ("pending", "approved"):
            CompensationRequest.objects.create(
                ticket=ticket,
                amount=Decimal("10"),
                reason="Sorry.",
                status=status,
                requested_by=actor,
                requester_limit=Decimal("5"),
                decided_by=approver if status == "approved" else None,
                created_at=at(16, 4),
            )
        rca = RootCauseAnalysis.objects.create(
            ticket=ticket, cause_category=["product_defect", "process_gap"][index % 2], preventable=True, five_whys="?"
        )
        CorrectiveAction.objects.create(rca=rca, description="Fix.", owner=approver, due_date=at(1, 0).date())
        ArticleUse.objects.create(article=article, ticket=ticket, user=actor, created_at=at(16, 0))
        Deflection.objects.create(article=article, session_key=f"{tag}{index}", ticket=ticket, opened_at=at(15, 0))


def test_dashboard_queries_do_not_depend_on_the_number_of_rows(
    dataset, client, login, manager, agent, escalate, categories, django_assert_max_num_queries
):
    from helpdesk import services
    from knowledge_base.models import Article

    article = Article.objects.create(
        title="Outage checklist", body="x", category=categories["outage"], status="published"
    )
    login(manager)
    with time_machine.travel(at(16, 12), tick=False):
        # given 3 tickets carrying a row of every kind (clocks, breaches, surveys, compensation, RCAs, KB use)
        more = []
        for index in range(13):
            ticket = services.ticket_create(
                customer=dataset.t1.customer, subject=f"More {index}", description="x", category=dataset.t4.category
            )
            escalate(ticket, when=at(16, 11), by=agent)
            more.append(ticket)
        _add_analytics_rows(tickets=more, actor=agent, approver=manager, article=article, k=3, tag="a")
        with django_assert_max_num_queries(DASHBOARD_QUERIES):
            small = client.get(reverse("reports_dashboard")).content.decode()
        # when ten more tickets carry them too
        _add_analytics_rows(tickets=more[3:], actor=agent, approver=manager, article=article, k=10, tag="b")
        # then the dashboard still needs no more queries, and shows the new rows
        with django_assert_max_num_queries(DASHBOARD_QUERIES):
            large = client.get(reverse("reports_dashboard")).content.decode()
    assert '<span class="count">3</span>' in small
    assert '<span class="count">13</span>' in large  # SLA breaches today and pending approvals


def _weekly_rota(team, *members, zone=""):
    rotation = OnCallRotation.objects.create(
        team=team, handover="weekly", timezone=zone, starts_on=dt.date(2026, 11, 2)
    )
    for position, user in enumerate(members):
        OnCallMember.objects.create(rotation=rotation, user=user, position=position)
    return rotation


def test_dashboard_shows_who_of_the_managers_teams_is_on_call(
    dataset, client, login, manager, specialist, teams, django_assert_max_num_queries
):
    # given the Managers team takes turns weekly from Monday 2 Nov, Monday 09:00 in New York, Morgan first and then
    # Ben (so Ben this week, Morgan backing him up), and the Technical team, which Morgan is not in, has a rota too
    ben = User.objects.create_user(username="ben", password="pw-ben", role="manager", first_name="Ben")
    TeamMembership.objects.create(team=teams["managers"], user=ben)
    _weekly_rota(teams["managers"], manager, ben, zone="America/New_York")
    _weekly_rota(teams["technical"], specialist)
    login(manager)
    # when Morgan opens the dashboard on Monday 16 Nov at 12:00 UTC (07:00 in New York: still the week of 9 Nov)
    with time_machine.travel(at(16, 12), tick=False), django_assert_max_num_queries(DASHBOARD_QUERIES):
        page = client.get(reverse("reports_dashboard")).content.decode()
    with time_machine.travel(at(16, 12), tick=False):
        panel = client.get(reverse("reports_attention"), headers={"HX-Request": "true"}).content.decode()
    # then the attention panel names the person on call, the backup and the hand-over in the rota's own zone
    for html in (page, panel):
        assert "<h3>On call</h3>" in html
        assert "Managers</a>: on call now <strong>Ben</strong>, backup Morgan Blake" in html
        assert 'next hand-over Mon 16 Nov 09:00 <span class="nowrap">(America/New_York)</span>' in html
        # and not the rota of a team Morgan is not in (the inbox board's rule)
        assert "Technical</a>: on call now" not in html
        assert "Priya" not in html


def test_dashboard_says_when_none_of_the_viewers_teams_has_a_rota(dataset, client, login, manager):
    login(manager)
    with time_machine.travel(at(16, 12), tick=False):
        page = client.get(reverse("reports_dashboard")).content.decode()
    assert "None of your teams has an on-call rota." in page
