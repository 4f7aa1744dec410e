"""Acting on escalation risk: the workspace panel's suggestion (type, path, where the articles to try are), the "likely to escalate"
panel of team leads and managers, and the outcome loop that measures the flag on what became of the tickets."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from escalations.models import RiskAssessment, RiskOutcome
from escalations.panels import likely_to_escalate_for
from escalations.selectors import risk_outcome_figures
from helpdesk import services
from helpdesk.models import Status, Ticket

CALM = "Could you send me the invoice for October?"
MEDIUM = "I want to speak to a manager about this."
HIGH = "Our lawyer will be in touch. This is unacceptable and I want to speak to a manager."
DASHBOARD = reverse("reports_dashboard")


@pytest.fixture
def frontline_tickets(config, customer, agent, teams, make_ticket):
    tickets = {
        name: make_ticket(customer, subject=f"{name} ticket", description=text)
        for name, text in (("calm", CALM), ("medium", MEDIUM), ("high", HIGH), ("escalated", HIGH))
    }
    for ticket in tickets.values():
        services.ticket_assign(ticket=ticket, actor=agent, team=teams["frontline"], assignee=None)
    return tickets


def test_the_workspace_risk_panel_suggests_type_and_path_and_points_to_the_articles(
    client, login, config, customer, agent, make_ticket
):
    # given a customer who threatens to dispute a double charge
    ticket = make_ticket(customer, subject="Charged twice", description="I'll dispute the charge with my bank.")
    # when an agent opens the ticket
    login(agent)
    content = client.get(reverse("ticket_detail", args=[ticket.reference])).content.decode()
    # then the risk panel says which escalation, where it would go, and points to the articles to try first (the
    # knowledge base's panel on the same page, which loads after it)
    panel = content[content.index('id="risk-h"') :]
    panel = panel[: panel.index("</section>")]
    assert "Suggested: <strong>Financial</strong>" in panel
    assert '<p class="path-preview"><strong>Path:</strong> Goes to' in panel
    assert '<a href="#kb-panel">the suggested articles</a>' in panel and 'id="kb-panel"' in content


def test_an_escalated_ticket_gets_no_path_suggestion(client, login, config, customer, agent, escalate, make_ticket):
    ticket = make_ticket(customer, subject="Charged twice", description="I'll dispute the charge with my bank.")
    escalate(ticket, agent)
    login(agent)
    content = client.get(reverse("ticket_detail", args=[ticket.reference])).content.decode()
    assert 'id="risk-h"' in content and "Path:</strong> Goes to" not in content


def test_a_team_lead_sees_their_teams_likely_escalations_on_the_queue(
    client, login, agent, escalate, frontline_tickets
):
    # given the frontline's tickets, one of them escalated already
    t = frontline_tickets
    escalate(t["escalated"], agent)
    # when the frontline's lead opens their queue
    login(agent)
    response = client.get(reverse("ticket_list"))
    content = response.content.decode()
    # then the panel lists the flagged tickets not yet escalated, riskiest first
    panel = content[content.index('id="likely-h"') :]
    panel = panel[: panel.index("</section>")]
    assert "The 10 tickets most worth a look today in your teams" in panel
    assert panel.index(t["high"].reference) < panel.index(t["medium"].reference)
    assert t["calm"].reference not in panel and t["escalated"].reference not in panel
    assert ">High 80</span>" in panel and "suggests managerial" in panel


def test_someone_who_leads_no_team_has_no_panel_on_the_queue(client, login, agent2, frontline_tickets):
    login(agent2)
    assert 'id="likely-h"' not in client.get(reverse("ticket_list")).content.decode()


def test_the_manager_dashboard_shows_the_panel_sized_by_the_setting(
    client, login, manager, settings, frontline_tickets
):
    settings.ESCALATION_RISK_WATCHLIST_SIZE = 1
    login(manager)
    content = client.get(DASHBOARD).content.decode()
    panel = content[content.index('id="likely-h"') :]
    panel = panel[: panel.index("</section>")]
    assert "The 1 ticket most worth a look today" in panel
    assert frontline_tickets["high"].reference in panel and frontline_tickets["medium"].reference not in panel


def test_the_panel_can_be_sized_by_available_agents(settings, agent, agent2, manager, teams, frontline_tickets):
    # given one look per available agent: the frontline has two agents, one of them away
    settings.ESCALATION_RISK_LOOKS_PER_AGENT = 1
    agent2.is_available = False
    agent2.save()
    # then the lead of the frontline gets one ticket, the riskiest
    panel = likely_to_escalate_for(user=agent, team_ids=[teams["frontline"].pk])
    assert panel["size"] == 1 and panel["tickets"] == [frontline_tickets["high"]]


def test_a_restricted_ticket_is_neither_listed_nor_counted_for_someone_who_cannot_see_it(
    agent, manager, teams, frontline_tickets
):
    Ticket.objects.filter(pk=frontline_tickets["high"].pk).update(restricted=True, team=teams["compliance"])
    assert frontline_tickets["high"] not in likely_to_escalate_for(user=agent)["tickets"]
    assert frontline_tickets["high"] in likely_to_escalate_for(user=manager)["tickets"]


def _outcomes(escalate, agent, tickets):
    escalate(tickets["high"], agent)  # flagged, escalated: right
    services.ticket_change_status(ticket=tickets["medium"], actor=agent, status=Status.RESOLVED)  # flagged: false alarm
    escalate(tickets["calm"], agent)  # not flagged, escalated: missed


def test_the_outcome_loop_records_what_became_of_flagged_and_unflagged_tickets(
    client, login, agent, manager, escalate, frontline_tickets
):
    # given three tickets, flagged or not, that escalated or were resolved
    t = frontline_tickets
    _outcomes(escalate, agent, t)
    # then each ticket's outcome is recorded once, and the flag was raised before it
    outcome = {name: RiskAssessment.objects.get(ticket=ticket).outcome for name, ticket in t.items()}
    assert outcome == {
        "high": RiskOutcome.ESCALATED,
        "medium": RiskOutcome.NOT_ESCALATED,
        "calm": RiskOutcome.ESCALATED,
        "escalated": "",  # still open: no outcome yet
    }
    assert RiskAssessment.objects.get(ticket=t["calm"]).flagged_at is None
    # when the manager opens the dashboard
    login(manager)
    content = client.get(DASHBOARD).content.decode()
    figures = content[content.index('id="risk-outcomes-h"') :]
    figures = figures[: figures.index("</section>")]
    # then the flag's live figures: 1 of 2 flagged tickets escalated, 1 of 2 escalations flagged first
    assert "<dt>Precision</dt><dd>50&nbsp;%</dd>" in figures and "<dt>Recall</dt><dd>50&nbsp;%</dd>" in figures
    assert "<dt>Escalated unflagged</dt><dd>1</dd>" in figures


def test_a_resolved_ticket_that_escalates_later_counts_as_escalated(agent, escalate, frontline_tickets):
    ticket = frontline_tickets["medium"]
    services.ticket_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
    services.ticket_change_status(ticket=ticket, actor=agent, status=Status.OPEN)
    escalate(ticket, agent)
    assert RiskAssessment.objects.get(ticket=ticket).outcome == RiskOutcome.ESCALATED


def test_the_live_figures_cover_90_days_and_only_tickets_the_viewer_may_see(
    agent, manager, teams, escalate, frontline_tickets
):
    t = frontline_tickets
    with time_machine.travel(timezone.now() - timedelta(days=91)):
        escalate(t["calm"], agent)  # an old miss, out of the window
    escalate(t["high"], agent)
    services.ticket_change_status(ticket=t["medium"], actor=agent, status=Status.RESOLVED)
    everything = risk_outcome_figures(viewer=manager, now=timezone.now())
    assert (everything.flagged_escalated, everything.flagged_not_escalated, everything.escalated) == (1, 1, 1)
    assert everything.precision == 0.5 and everything.recall == 1.0
    # a restricted ticket's outcome does not count for someone who cannot see it
    Ticket.objects.filter(pk=t["high"].pk).update(restricted=True, team=teams["compliance"])
    outsider = risk_outcome_figures(viewer=agent, now=timezone.now())
    assert (outsider.flagged_escalated, outsider.escalated, outsider.recall) == (0, 0, None)
