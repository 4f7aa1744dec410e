"""Django admin changes tickets only through the services: the same events, guards, version check and messages as
the agent workspace. Driven through the real admin with the test client as an admin user."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from helpdesk import services
from helpdesk.models import EventKind, Priority, Status, Team, Ticket, TicketEvent

NO_SUMMARY = "No resolution summary yet: record what was done to fix the problem."
ILLEGAL = "A ticket cannot go from “New” to “Closed”."


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _properties_post(ticket: Ticket, **changes) -> dict:
    data = {
        "version": ticket.version,
        "status": ticket.status,
        "priority": ticket.priority,
        "category": ticket.category_id or "",
        "team": ticket.team_id or "",
        "assignee": ticket.assignee_id or "",
    }
    data.update(changes)
    return data


@pytest.fixture
def escalated(customer, agent, teams, make_ticket):
    """An open outage ticket escalated to Technical through the real service (the escalation is still open)."""
    from escalations.defaults import escalation_config_ensure
    from escalations.services import escalation_create

    escalation_config_ensure()
    ticket = make_ticket(customer, subject="Dashboard not loading", category="outage")
    services.ticket_assign(ticket=ticket, actor=agent, team=teams["frontline"], assignee=agent)
    escalation_create(
        ticket=ticket,
        actor=agent,
        escalation_type="technical",
        mode="functional",
        reason="Needs the platform team.",
        dossier_problem="Dashboard spins forever for the whole office.",
        dossier_tried="Cleared cache, other browsers.",
        dossier_desired_outcome="Working dashboard today.",
        dossier_mood="frustrated",
    )
    ticket.refresh_from_db()
    return ticket


def test_admin_status_change_goes_through_the_service_and_writes_its_event(
    client, login, admin_user, customer, make_ticket
):
    # given
    ticket = make_ticket(customer)
    login(admin_user)
    url = reverse("admin:helpdesk_ticket_properties", args=[ticket.pk])
    assert client.get(url).status_code == 200

    # when
    response = client.post(url, _properties_post(ticket, status=Status.OPEN, priority=Priority.HIGH))

    # then
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == (Status.OPEN, Priority.HIGH)
    status_event = TicketEvent.objects.get(ticket=ticket, kind=EventKind.STATUS_CHANGED)
    assert status_event.actor == admin_user
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.PRIORITY_CHANGED, actor=admin_user).exists()


def test_admin_resolve_with_open_escalation_is_refused_with_the_workspace_message(
    client, login, admin_user, agent, escalated
):
    # given
    before = (escalated.status, escalated.version, escalated.events.count())
    login(admin_user)

    # when
    admin_response = client.post(
        reverse("admin:helpdesk_ticket_properties", args=[escalated.pk]),
        _properties_post(escalated, status=Status.RESOLVED),
    )
    login(agent)
    workspace_response = client.post(
        reverse("ticket_update", args=[escalated.reference]), _properties_post(escalated, status=Status.RESOLVED)
    )

    # then
    assert admin_response.status_code == 400
    assert workspace_response.status_code == 400
    assert NO_SUMMARY in _text(admin_response)
    assert NO_SUMMARY in _text(workspace_response)
    escalated.refresh_from_db()
    assert (escalated.status, escalated.version, escalated.events.count()) == before


def test_admin_illegal_transition_is_refused_with_the_workspace_message(
    client, login, admin_user, agent, customer, make_ticket
):
    # given
    ticket = make_ticket(customer)
    login(admin_user)

    # when
    admin_response = client.post(
        reverse("admin:helpdesk_ticket_properties", args=[ticket.pk]), _properties_post(ticket, status=Status.CLOSED)
    )
    login(agent)
    workspace_response = client.post(
        reverse("ticket_update", args=[ticket.reference]), _properties_post(ticket, status=Status.CLOSED)
    )

    # then
    assert ILLEGAL in _text(admin_response)
    assert ILLEGAL in _text(workspace_response)
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert not ticket.events.filter(kind=EventKind.STATUS_CHANGED).exists()


def test_stale_admin_edit_is_refused_with_the_workspace_conflict_message(
    client, login, admin_user, agent, customer, make_ticket
):
    # given: the admin loaded the form, then an agent changed the priority
    ticket = make_ticket(customer)
    seen = _properties_post(ticket, status=Status.OPEN)
    services.ticket_change_priority(ticket=ticket, actor=agent, priority=Priority.URGENT)
    login(admin_user)

    # when
    response = client.post(reverse("admin:helpdesk_ticket_properties", args=[ticket.pk]), seen)

    # then
    assert response.status_code == 409
    expected = (
        "This ticket was changed by Alex Morgan while you were editing it. "
        "Nothing of yours was saved: review the current state and try again."
    )
    assert expected in _text(response)
    login(agent)
    workspace = client.post(reverse("ticket_update", args=[ticket.reference]), seen)
    assert workspace.status_code == 409
    assert expected in _text(workspace)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == (Status.NEW, Priority.URGENT)


def test_change_form_does_not_accept_state_fields(client, login, admin_user, agent, teams, customer, make_ticket):
    # given
    ticket = make_ticket(customer)
    before = (ticket.status, ticket.priority, ticket.team_id, ticket.assignee_id, ticket.version)
    events_before = ticket.events.count()
    login(admin_user)
    url = reverse("admin:helpdesk_ticket_change", args=[ticket.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode()

    # when
    response = client.post(
        url,
        {
            "status": Status.RESOLVED,
            "priority": Priority.URGENT,
            "team": teams["technical"].pk,
            "assignee": agent.pk,
            "restricted": "on",
            "is_emergency": "on",
            "version": 99,
            "subject": "Changed behind the services' back",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )

    # then
    assert response.status_code in (200, 302)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.team_id, ticket.assignee_id, ticket.version) == before
    assert (ticket.restricted, ticket.is_emergency, ticket.subject) == (False, False, "Printer on fire")
    assert ticket.events.count() == events_before


def test_admin_cannot_add_tickets_around_ticket_create(client, login, admin_user):
    login(admin_user)
    assert client.get(reverse("admin:helpdesk_ticket_add")).status_code == 403


def test_bulk_status_action_reports_done_and_refused_tickets(
    client, login, admin_user, customer, make_ticket, escalated
):
    # given
    plain = make_ticket(customer, subject="Password reset")
    login(admin_user)

    # when: the action's input step, then the apply step
    changelist = reverse("admin:helpdesk_ticket_changelist")
    step = client.post(changelist, {"action": "change_status", "_selected_action": [plain.pk, escalated.pk]})
    assert step.status_code == 200
    assert "New status" in step.content.decode()
    response = client.post(
        changelist,
        {
            "action": "change_status",
            "_selected_action": [plain.pk, escalated.pk],
            "status": Status.RESOLVED,
            "apply": "Change status",
        },
        follow=True,
    )

    # then
    shown = [str(message) for message in response.context["messages"]]
    assert f"Done (1): {plain.reference}: New → Resolved" in shown
    refused = [line for line in shown if line.startswith(f"Refused — {escalated.reference}: ")]
    assert len(refused) == 1
    assert NO_SUMMARY in refused[0]
    plain.refresh_from_db()
    escalated.refresh_from_db()
    assert plain.status == Status.RESOLVED
    assert plain.events.filter(kind=EventKind.STATUS_CHANGED, actor=admin_user).count() == 1
    assert escalated.status != Status.RESOLVED


def test_bulk_assign_and_priority_actions_go_through_the_services(
    client, login, admin_user, teams, customer, make_ticket
):
    # given
    ticket = make_ticket(customer)
    login(admin_user)
    changelist = reverse("admin:helpdesk_ticket_changelist")

    # when
    client.post(
        changelist,
        {"action": "assign_to_team", "_selected_action": [ticket.pk], "team": teams["technical"].pk, "apply": "x"},
    )
    client.post(
        changelist,
        {"action": "change_priority", "_selected_action": [ticket.pk], "priority": Priority.URGENT, "apply": "x"},
    )

    # then
    ticket.refresh_from_db()
    assert (ticket.team, ticket.tier, ticket.priority) == (teams["technical"], 2, Priority.URGENT)
    assert ticket.events.filter(kind=EventKind.ASSIGNED, actor=admin_user).exists()
    assert ticket.events.filter(kind=EventKind.PRIORITY_CHANGED, actor=admin_user).exists()


def test_configuration_models_stay_editable(client, login, admin_user, teams):
    # given
    team = teams["technical"]
    login(admin_user)

    # when
    response = client.post(
        reverse("admin:helpdesk_team_change", args=[team.pk]),
        {
            "name": "Platform",
            "slug": "technical",
            "tier": 2,
            "assignment_rule": team.assignment_rule,
            "categories": [c.pk for c in team.categories.all()],
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Team.objects.get(pk=team.pk).name == "Platform"


def test_no_stateful_record_can_be_deleted_from_the_admin_even_by_a_superuser(client, login, admin_user, escalated):
    # given an escalated ticket with its timeline and hop, and a superuser in the admin
    from django.contrib import admin as django_admin

    from escalations.models import Escalation, SLAClock, SLAEvent
    from helpdesk.admin_services import ServiceOnlyAdmin

    ticket = escalated
    escalation = Escalation.objects.get(ticket=ticket)
    event = TicketEvent.objects.filter(ticket=ticket).first()
    login(admin_user)
    # when the superuser opens each record's delete page or posts the bulk delete action
    for obj in (ticket, escalation, event):
        opts = obj._meta
        delete_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk])
        assert client.get(delete_url).status_code == 403
        assert client.post(delete_url, {"post": "yes"}).status_code == 403
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        client.post(changelist, {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"})
        # then the row is still there
        assert type(obj).objects.filter(pk=obj.pk).exists()
    assert TicketEvent.objects.filter(ticket=ticket).count() >= 2
    # and every stateful admin in the product refuses deletes (one rule, in ServiceOnlyAdmin)
    stateful = [ma for ma in django_admin.site._registry.values() if isinstance(ma, ServiceOnlyAdmin)]
    assert all(not ma.has_delete_permission(None) for ma in stateful)
    assert {ma.model for ma in stateful} >= {Ticket, TicketEvent, Escalation, SLAClock, SLAEvent}


def test_event_log_is_view_only_in_the_admin(client, login, admin_user, customer, make_ticket):
    ticket = make_ticket(customer)
    event = TicketEvent.objects.filter(ticket=ticket).first()
    login(admin_user)
    url = reverse("admin:helpdesk_ticketevent_change", args=[event.pk])
    assert client.get(url).status_code == 200
    body = event.body
    client.post(url, {"body": "rewritten history", "kind": event.kind})
    event.refresh_from_db()
    assert event.body == body
