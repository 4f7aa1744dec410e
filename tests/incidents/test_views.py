"""The incident pages, the workspace panel and the dashboard panel: thin views over the services and selectors."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from helpdesk.models import EventKind, Ticket, TicketEvent
from incidents.models import Incident, IncidentLink, IncidentUpdate
from incidents.selectors import incident_suggestions
from incidents.services import incident_link_tickets

pytestmark = pytest.mark.django_db


def test_an_agent_cannot_open_or_post_the_declare_form(client, login, agent):
    # given
    login(agent)
    # when
    page = client.get(reverse("incident_new"))
    post = client.post(reverse("incident_new"), {"title": "Down", "status": "investigating", "customer_message": "x"})
    # then
    assert (page.status_code, post.status_code) == (403, 403)
    assert not Incident.objects.exists()


def test_a_manager_declares_an_incident_and_bad_input_is_a_form_error(client, login, manager, categories):
    # given
    login(manager)
    # when
    bad = client.post(reverse("incident_new"), {"title": "", "status": "investigating", "customer_message": "x"})
    good = client.post(
        reverse("incident_new"),
        {
            "title": "Dashboard down",
            "status": "investigating",
            "customer_message": "Our dashboard is not loading.",
            "category": categories["outage"].pk,
            "affected_since": "01/01/2020 09:00",
        },
    )
    # then
    assert bad.status_code == 400
    assert "This field is required." in bad.content.decode()
    incident = Incident.objects.get()
    assert good.status_code == 302 and good["Location"] == reverse("incident_detail", args=[incident.pk])
    assert (incident.declared_by, incident.category) == (manager, categories["outage"])


def test_restricted_tickets_are_suggested_only_to_those_who_may_see_them(
    client, login, declare, agent, manager, customer, make_ticket, teams
):
    # given
    incident = declare()
    public = make_ticket(customer, subject="Dashboard blank", category="outage")
    restricted = make_ticket(customer, subject="Dashboard shows someone else's data", category="data-privacy")
    Ticket.objects.filter(pk=restricted.pk).update(restricted=True, team=teams["compliance"])
    unrelated = make_ticket(customer, subject="Invoice missing", category="billing")

    # when
    for_agent = list(incident_suggestions(incident=incident, user=agent))
    for_manager = list(incident_suggestions(incident=incident, user=manager))
    login(agent)
    page = client.get(reverse("incident_detail", args=[incident.pk])).content.decode()

    # then
    assert for_agent == [public]
    assert for_manager == [public, restricted]
    assert public.reference in page and restricted.reference not in page and unrelated.reference not in page


def test_suggested_tickets_are_linked_from_the_incident_page(client, login, declare, agent, customer, make_ticket):
    # given
    incident = declare()
    tickets = [make_ticket(customer, subject=f"Dashboard blank {i}", category="outage") for i in range(2)]
    login(agent)
    # when
    response = client.post(reverse("incident_link", args=[incident.pk]), {"tickets": [t.pk for t in tickets]})
    # then
    assert response.status_code == 302
    assert set(IncidentLink.objects.values_list("ticket_id", flat=True)) == {t.pk for t in tickets}


def test_a_double_submitted_update_reaches_the_customer_once_and_shows_on_the_portal(
    client, login, declare, manager, customer, make_ticket
):
    # given
    incident = declare()
    ticket = make_ticket(customer, subject="Dashboard blank", category="outage")
    incident_link_tickets(incident=incident, tickets=[ticket], actor=manager)
    login(manager)
    form = {"status": "identified", "message": "We are rolling back.", "idempotency_key": str(uuid.uuid4())}

    # when
    first = client.post(reverse("incident_update", args=[incident.pk]), form)
    second = client.post(reverse("incident_update", args=[incident.pk]), form)

    # then
    assert (first.status_code, second.status_code) == (302, 302)
    assert IncidentUpdate.objects.count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.AGENT_REPLY).count() == 1
    client.logout()
    login(customer)
    portal = client.get(reverse("ticket_detail", args=[ticket.reference])).content.decode()
    assert "We are rolling back." in portal
    assert "INTERNAL" not in portal and "Linked to major incident" not in portal


def test_the_workspace_shows_the_incident_and_links_a_ticket_to_one(
    client, login, declare, agent, customer, make_ticket
):
    # given
    incident = declare()
    ticket = make_ticket(customer, subject="Dashboard blank", category="outage")
    login(agent)
    # when
    before = client.get(reverse("ticket_detail", args=[ticket.reference])).content.decode()
    client.post(reverse("ticket_incident_link", args=[ticket.reference]), {"incident": incident.pk})
    after = client.get(reverse("ticket_detail", args=[ticket.reference])).content.decode()
    # then
    assert "Link to incident" in before
    assert f"INC-{incident.pk}</a> Dashboard down" in after and "Link to incident" not in after


def test_customers_cannot_read_incidents(client, login, declare, customer):
    # given
    incident = declare()
    login(customer)
    # when / then
    assert client.get(reverse("incident_detail", args=[incident.pk])).status_code == 403
    assert client.get(reverse("incident_list")).status_code == 403


def test_the_dashboard_lists_open_incidents_with_their_linked_ticket_counts(
    client, login, declare, manager, customer, make_ticket
):
    # given
    incident = declare()
    old = declare(title="Old outage")
    Incident.objects.filter(pk=old.pk).update(status="resolved")
    ticket = make_ticket(customer, subject="Dashboard blank", category="outage")
    incident_link_tickets(incident=incident, tickets=[ticket], actor=manager)
    login(manager)
    # when
    page = client.get(reverse("reports_dashboard")).content.decode()
    # then
    assert "Open major incidents" in page
    assert f"INC-{incident.pk}</a> Dashboard down" in page and "1 linked ticket ·" in page
    assert "Old outage" not in page


def test_linking_a_ticket_that_is_no_longer_suggested_is_a_form_error(
    client, login, declare, agent, customer, make_ticket
):
    # given: a ticket linked elsewhere meanwhile, no longer among the suggestions
    incident = declare()
    other = declare(title="Other dashboard outage")
    ticket = make_ticket(customer, subject="Dashboard blank", category="outage")
    incident_link_tickets(incident=other, tickets=[ticket], actor=agent)
    login(agent)
    # when
    response = client.post(reverse("incident_link", args=[incident.pk]), {"tickets": [ticket.pk]})
    # then
    assert response.status_code == 400
    assert f"Select a valid choice. {ticket.pk} is not one of the available choices." in response.content.decode()
    assert not IncidentLink.objects.filter(incident=incident).exists()
