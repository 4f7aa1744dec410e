"""The escalation screens through the Django test client: permissions, forms, messages, panels."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from escalations.compensation import compensation_request_create
from escalations.models import Escalation
from escalations.services import escalation_accept


def form_data(**overrides):
    data = {
        "escalation_type": "technical",
        "mode": "functional",
        "reason": "Needs logs",
        "dossier_problem": "Export fails",
        "dossier_tried": "Retried twice",
        "dossier_desired_outcome": "A working export",
        "dossier_mood": "frustrated",
        "compensation_currency": "GBP",
    }
    data.update(overrides)
    return data


def test_the_escalate_form_shows_eight_types_path_preview_and_playbooks(config, customer, agent, make_ticket, login):
    ticket = make_ticket(customer, category="outage")
    client = login(agent)
    response = client.get(reverse("escalation_new", args=[ticket.reference]))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('name="escalation_type"') == 8
    assert "Pages every manager now." in html or "pages every manager now." in html
    assert "Goes to Technical (tier 2). If nobody accepts within 30 minutes, Managers (tier 3) is paged." in html
    assert "Technical problem beyond tier 1" in html  # the playbook title
    assert "Reproduce the problem and note the exact error" in html  # a checklist item


def test_escalating_through_the_form_and_a_double_click(config, customer, agent, specialist, make_ticket, login):
    ticket = make_ticket(customer, category="outage")
    client = login(agent)
    url = reverse("escalation_new", args=[ticket.reference])
    # when the form is posted twice (a double click)
    first = client.post(url, form_data())
    second = client.post(url, form_data(), follow=True)
    # then one escalation exists; the second post says so in words
    assert first.status_code == 302 and first["Location"] == reverse("ticket_detail", args=[ticket.reference])
    assert Escalation.objects.filter(ticket=ticket).count() == 1
    assert "This ticket is already escalated to Technical" in second.content.decode()
    again = client.get(url).content.decode()
    assert "This ticket is already escalated to Technical (open)." in again


def test_form_errors_sit_next_to_their_fields(config, customer, agent, make_ticket, login):
    ticket = make_ticket(customer, category="outage")
    client = login(agent)
    response = client.post(
        reverse("escalation_new", args=[ticket.reference]), form_data(escalation_type="financial", dossier_tried="")
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "This field is required." in html
    assert not Escalation.objects.exists()
    response = client.post(reverse("escalation_new", args=[ticket.reference]), form_data(escalation_type="financial"))
    assert "A financial escalation needs the compensation amount." in response.content.decode()


def test_customers_cannot_open_the_escalate_form(config, customer, make_ticket, login):
    ticket = make_ticket(customer, category="outage")
    assert login(customer).get(reverse("escalation_new", args=[ticket.reference])).status_code == 403


def test_inbox_accept_and_the_loser_of_a_race(
    config, customer, agent, specialist, manager, make_ticket, escalate, login
):
    ticket = make_ticket(customer, category="outage")
    escalation = escalate(ticket, agent)
    client = login(specialist)
    inbox = client.get(reverse("escalation_inbox")).content.decode()
    assert "Export" not in inbox and "The customer was charged twice for invoice INV-1." in inbox
    assert "You become the owner and" in inbox
    response = client.post(reverse("escalation_accept", args=[escalation.pk]), follow=True)
    assert "It is yours now." in response.content.decode()
    other = login(manager, Client())
    late = other.post(reverse("escalation_accept", args=[escalation.pk]), follow=True).content.decode()
    assert "Priya Shah accepted this escalation at" in late


def test_inbox_title_is_plain_text_and_loads_the_calls_script_once(config, specialist, login):
    # given
    client = login(specialist)
    # when
    html = client.get(reverse("escalation_inbox")).content.decode()
    # then
    title = html.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title == "Escalation inbox · Escalation Helpdesk"
    assert html.count("js/calls.js") == 1


def test_return_and_further_and_resolve_screens(
    config, customer, agent, specialist, manager, make_ticket, escalate, login
):
    ticket = make_ticket(customer, category="outage")
    escalation = escalate(ticket, agent)
    escalation_accept(escalation=escalation, actor=specialist)
    client = login(specialist)
    # an empty guidance re-renders with the error
    response = client.post(reverse("escalation_return", args=[escalation.pk]), {"guidance": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    # escalate further with a compensation above the limit
    response = client.post(
        reverse("escalation_further", args=[escalation.pk]),
        {"reason": "Refund decision", "compensation_amount": "400", "compensation_currency": "GBP"},
        follow=True,
    )
    assert "Escalated further to Managers." in response.content.decode()
    top = Escalation.objects.get(level=2)
    assert top.compensation_requests.get().status == "pending"


def test_review_queue_is_for_managers_and_filters(
    config, customer, agent, specialist, manager, make_ticket, escalate, login
):
    ticket = make_ticket(customer, subject="Printer down", category="outage")
    escalate(ticket, agent)
    assert login(specialist).get(reverse("escalation_review")).status_code == 403
    client = login(manager, Client())
    assert "Printer down" in client.get(reverse("escalation_review")).content.decode()
    assert "Printer down" not in client.get(reverse("escalation_review") + "?type=financial").content.decode()
    assert "Printer down" in client.get(reverse("escalation_review") + "?tier=2&q=printer").content.decode()
    assert "Printer down" not in client.get(reverse("escalation_review") + "?age=24h").content.decode()


def test_approvals_page_and_decision(config, customer, specialist, manager, make_ticket, login):
    ticket = make_ticket(customer, category="billing")
    request = compensation_request_create(
        ticket=ticket, actor=specialist, amount="400", currency="GBP", reason="Lost day"
    )
    # the requester does not see their own request to approve
    assert "Lost day" not in login(specialist).get(reverse("compensation_approvals")).content.decode()
    client = login(manager, Client())
    assert "Lost day" in client.get(reverse("compensation_approvals")).content.decode()
    response = client.post(
        reverse("compensation_decide", args=[request.pk]), {"decision": "approve", "note": ""}, follow=True
    )
    assert f"You approved £400.00 for {ticket.reference}." in response.content.decode()


def test_workspace_shows_chain_and_risk_panels(config, customer, agent, make_ticket, escalate, login):
    ticket = make_ticket(customer, description="This is unacceptable, I want a manager.", category="outage")
    escalate(ticket, agent)
    html = login(agent).get(reverse("ticket_detail", args=[ticket.reference])).content.decode()
    assert "Level 1: Technical" in html
    assert "Escalation risk" in html and "Asks for a manager" in html


def test_customer_panel_and_manager_request(config, customer, manager, make_ticket, login):
    ticket = make_ticket(customer, category="outage")
    client = login(customer)
    html = client.get(reverse("ticket_detail", args=[ticket.reference])).content.decode()
    assert "Ask for a manager" in html and "You can ask for a manager from " in html
    # too early: a clear message, no escalation
    response = client.post(reverse("manager_request", args=[ticket.reference]), {"reason": "Please"}, follow=True)
    assert "You can ask for a manager from " in response.content.decode()
    assert not Escalation.objects.exists()
    # a day later (backdate the ticket), with an empty reason then a reason
    from helpdesk.models import Ticket

    Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(hours=30))
    response = client.post(reverse("manager_request", args=[ticket.reference]), {"reason": ""}, follow=True)
    assert "Please tell us why you would like a manager to look at this." in response.content.decode()
    response = client.post(reverse("manager_request", args=[ticket.reference]), {"reason": "No answer"}, follow=True)
    html = response.content.decode()
    assert "A manager will review your request and contact you here." in html
    assert "You asked to speak to a manager." in html or "You asked for a manager" in html


@pytest.mark.parametrize("name", ["escalation_detail", "escalation_accept"])
def test_restricted_escalations_are_404_for_outsiders(
    config, customer, agent, agent2, compliance_officer, make_ticket, escalate, login, name
):
    ticket = make_ticket(customer, category="data-privacy")
    escalation = escalate(ticket, agent, "compliance", "functional")
    client = login(agent2)
    response = (
        client.post(reverse(name, args=[escalation.pk]))
        if name.endswith("accept")
        else client.get(reverse(name, args=[escalation.pk]))
    )
    assert response.status_code == 404
    assert (
        login(compliance_officer, Client()).get(reverse("escalation_detail", args=[escalation.pk])).status_code == 200
    )
    inbox = login(agent2, Client()).get(reverse("escalation_inbox")).content.decode()
    assert ticket.reference not in inbox


def test_before_you_escalate_shows_what_a_registered_provider_offers(config, customer, agent, make_ticket, login):
    from escalations import hooks

    ticket = make_ticket(customer, category="outage")
    url = reverse("escalation_new", args=[ticket.reference])
    assert "Before you escalate" not in login(agent).get(url).content.decode()

    def provider(*, ticket, user):
        return [{"title": "Reset the SSO session", "url": "/kb/articles/1/", "snippet": "Fixes login loops."}]

    hooks.before_escalate_register(provider)
    try:
        html = login(agent).get(url).content.decode()
    finally:
        hooks._BEFORE_ESCALATE.remove(provider)
    assert "5. Before you escalate: try these articles" in html
    assert '<a href="/kb/articles/1/">Reset the SSO session</a>' in html


def _refs(html: str) -> list[str]:
    """The ticket references of an escalation list, in the order shown."""
    return re.findall(r'<th scope="row" class="esc-ref"><a class="ref" href="[^"]+">([^<]+)</a>', html)


@pytest.mark.parametrize("sort", ["", "bogus", "-", "ticket__customer__password", "-created_at", "waiting;drop"])
def test_an_unknown_sort_keeps_the_default_order(
    config, customer, agent, specialist, make_ticket, escalate, login, sort
):
    # given two escalations, the older first by default
    now = timezone.now()
    older = escalate(make_ticket(customer, subject="Older", category="outage"), agent, now=now - timedelta(minutes=30))
    newer = escalate(make_ticket(customer, subject="Newer", category="outage"), agent, now=now - timedelta(minutes=5))
    # when the inbox is asked for a sort that is not a column
    response = login(specialist).get(reverse("escalation_inbox"), {"sort": sort})
    # then it answers with the default order and no column marked as sorted
    html = response.content.decode()
    assert response.status_code == 200
    assert _refs(html) == [older.ticket.reference, newer.ticket.reference]
    assert "aria-sort" not in html


def test_the_inbox_sorts_by_a_column_both_ways_and_keeps_callers_on_top(
    config, customer, agent, specialist, make_ticket, escalate, login
):
    # given three escalations, the middle one with the caller on the line
    now = timezone.now()
    first = escalate(make_ticket(customer, subject="A", category="outage"), agent, now=now - timedelta(minutes=30))
    caller = escalate(
        make_ticket(customer, subject="B", category="outage"),
        agent,
        caller_waiting=True,
        now=now - timedelta(minutes=20),
    )
    last = escalate(make_ticket(customer, subject="C", category="outage"), agent, now=now - timedelta(minutes=10))
    client = login(specialist)
    # when sorted by waiting time, shortest first, then longest first
    shortest = client.get(reverse("escalation_inbox"), {"sort": "waiting"}).content.decode()
    longest = client.get(reverse("escalation_inbox"), {"sort": "-waiting"}).content.decode()
    # then the caller stays on top and the rest follow the column
    refs = [e.ticket.reference for e in (caller, last, first)]
    assert _refs(shortest) == refs
    assert _refs(longest) == [caller.ticket.reference, first.ticket.reference, last.ticket.reference]
    assert 'aria-sort="ascending"><a href="?sort=-waiting">Waiting</a>' in shortest
    assert 'aria-sort="descending"><a href="?sort=waiting">Waiting</a>' in longest


def test_review_sort_links_keep_the_filters(config, customer, agent, manager, make_ticket, escalate, login):
    # given one escalation in the review queue, filtered by tier
    escalate(make_ticket(customer, subject="Printer down", category="outage"), agent)
    # when the manager sorts the filtered list by SLA
    html = login(manager).get(reverse("escalation_review"), {"tier": "2", "sort": "sla"}).content.decode()
    # then the headings link back with the filter, the form carries the sort, and the row is there
    assert '<a href="?tier=2&amp;sort=-sla">SLA</a>' in html
    assert '<a href="?tier=2&amp;sort=customer">Customer</a>' in html
    assert '<input type="hidden" name="sort" value="sla">' in html
    assert "Printer down" in html
