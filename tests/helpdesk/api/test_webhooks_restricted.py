"""Webhooks about restricted (compliance) tickets: an endpoint not cleared for restricted data never receives a
subject, text or customer data, whatever the event type or format; a cleared one does. The real HTTP POSTs are
captured by a receiver on loopback."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.models import Notification, NotificationChannel, Ticket, WebhookEndpoint, WebhookEventType
from helpdesk.notifications import notification_deliver
from tests.helpdesk.api.test_webhooks import SECRET
from tests.http_receiver import Receiver

SUBJECT = "SUBJ-7f3a Erase my manager's records"
BODY = "BODY-91c2 Please delete everything held about Jo Bloggs."
CUSTOMER_NAME = "NAME-5d8e"
CUSTOMER_EMAIL = "mail-0b4c@northwind.test"
ORGANIZATION = "ORG-c61f Northwind"
DOSSIER = "DOSSIER-2e77 The customer asks for erasure of HR records."
COMMENT = "COMMENT-a9d0 Handled discreetly, thank you."
MARKERS = (SUBJECT, BODY, CUSTOMER_NAME, CUSTOMER_EMAIL, ORGANIZATION, DOSSIER, COMMENT)
# The unique part of each marker: what must never appear in a body, even cut or escaped.
MARKER_TOKENS = [marker.split(" ")[0].split("@")[0] for marker in MARKERS]

ENDPOINTS = {
    # name: (cleared_for_restricted, slack_format)
    "uncleared-json": (False, False),
    "uncleared-slack": (False, True),
    "cleared-json": (True, False),
    "cleared-slack": (True, True),
}


@pytest.fixture
def allow_local(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.FEEDBACK_SURVEY_SAMPLE_RATE = 1.0
    return settings


@pytest.fixture
def marked_customer(customer):
    customer.first_name, customer.last_name, customer.email = CUSTOMER_NAME, "Reyes", CUSTOMER_EMAIL
    customer.save(update_fields=["first_name", "last_name", "email"])
    customer.organization.name = ORGANIZATION
    customer.organization.save(update_fields=["name"])
    return customer


def _endpoints(url: str) -> dict[str, WebhookEndpoint]:
    return {
        name: WebhookEndpoint.objects.create(
            name=name,
            url=f"{url}?endpoint={name}",
            secret=SECRET,
            event_types=list(WebhookEventType.values),
            cleared_for_restricted=cleared,
            slack_format=slack,
        )
        for name, (cleared, slack) in ENDPOINTS.items()
    }


def _deliver_all() -> None:
    for row in Notification.objects.filter(channel=NotificationChannel.WEBHOOK).order_by("pk"):
        assert notification_deliver(notification_id=row.pk) is True


def _received(receiver: Receiver) -> dict[str, list[tuple[str, bytes]]]:
    by_endpoint: dict[str, list[tuple[str, bytes]]] = {name: [] for name in ENDPOINTS}
    for request in receiver.requests:
        name = request["path"].split("endpoint=", 1)[1]
        by_endpoint[name].append((request["headers"]["X-Helpdesk-Event"], request["body"]))
    return by_endpoint


def _restricted_ticket_lifecycle(*, customer, agent, manager, teams, make_ticket) -> Ticket:
    """Drive one ticket through every webhook event type: created, escalated as a compliance matter (from then on
    restricted), SLA warning and breach, accepted, resolved, and its survey answered."""
    from escalations.defaults import escalation_config_ensure
    from escalations.models import Escalation
    from escalations.services import escalation_accept, escalation_create
    from escalations.sla.sweep import sla_sweep
    from feedback.models import Survey
    from feedback.selectors import survey_token_make
    from feedback.services import (
        SurveyAnswers,
        resolution_notify_escalating_team,
        resolution_record,
        resolution_send_to_customer,
        survey_submit,
        surveys_send_due,
    )
    from helpdesk.services import ticket_assign, ticket_change_status

    escalation_config_ensure()
    start = timezone.now()
    ticket = make_ticket(customer, subject=SUBJECT, description=BODY, category="data-privacy")
    ticket_assign(ticket=ticket, actor=agent, team=teams["frontline"], assignee=agent)
    escalation_create(
        ticket=ticket,
        actor=agent,
        escalation_type="compliance",
        mode="functional",
        reason=DOSSIER,
        dossier_problem=DOSSIER,
        dossier_tried=DOSSIER,
        dossier_desired_outcome=DOSSIER,
        dossier_mood="calm",
    )
    ticket.refresh_from_db()
    assert ticket.restricted
    sla_sweep(now=start + timedelta(minutes=55))
    sla_sweep(now=start + timedelta(minutes=61))
    escalation = Escalation.objects.filter(ticket=ticket).order_by("-pk").first()
    escalation_accept(escalation=escalation, actor=manager)
    resolution_record(ticket=ticket, actor=manager, summary=f"{DOSSIER} Done.")
    resolution_send_to_customer(ticket=ticket, actor=manager)
    resolution_notify_escalating_team(ticket=ticket, actor=manager)
    ticket_change_status(ticket=ticket, actor=manager, status="resolved")
    surveys_send_due(now=timezone.now() + timedelta(hours=3))
    survey = Survey.objects.get(ticket=ticket)
    survey_submit(
        token=survey_token_make(survey=survey),
        answers=SurveyAnswers(csat=5, fixed=True, explain_count=1, nps=10, comment=COMMENT),
    )
    return ticket


def test_every_event_of_a_restricted_ticket_reaches_uncleared_endpoints_without_its_content(
    allow_local, marked_customer, agent, manager, teams, make_ticket, sla_policy
):
    with Receiver() as receiver:
        # given four endpoints subscribed to every event: cleared or not for restricted data, JSON or Slack
        _endpoints(receiver.url)
        # when a compliance ticket goes through its whole life and every outbox row is delivered over HTTP
        ticket = _restricted_ticket_lifecycle(
            customer=marked_customer,
            agent=agent,
            manager=manager,
            teams=teams,
            make_ticket=make_ticket,
        )
        # (and the outbox itself holds none of the content for the uncleared endpoints: trimmed when restricted)
        uncleared = set(WebhookEndpoint.objects.filter(cleared_for_restricted=False).values_list("pk", flat=True))
        for row in Notification.objects.filter(channel=NotificationChannel.WEBHOOK):
            stored = json.dumps(row.data, ensure_ascii=False)
            if row.data["endpoint_id"] in uncleared:
                assert not [token for token in MARKER_TOKENS if token in stored], (row.kind, stored)
        _deliver_all()
    received = _received(receiver)
    for name, deliveries in received.items():
        # then every endpoint received every event type the code emits (a new event type must join this test)
        assert {event for event, _ in deliveries} == set(WebhookEventType.values), name
        for event, body in deliveries:
            text = body.decode()
            if ENDPOINTS[name][0]:
                # and a cleared endpoint gets the content
                assert SUBJECT in text, (name, event)
                continue
            # and an uncleared one none of the subject, text, customer, organisation, dossier or survey comment
            assert not [token for token in MARKER_TOKENS if token in text], (name, event, text)
            if ENDPOINTS[name][1]:
                # (Slack: the reference, the priority and status, and that it is restricted)
                assert ticket.reference in text and "(restricted)" in text, (name, event, text)
                continue
            # but still the delivery id, the event, the reference, status, priority and "restricted": true
            document = json.loads(body)
            assert document["restricted"] is True, (name, event)
            assert document["event"] == event and document["id"]
            assert document["ticket"]["reference"] == ticket.reference
            assert {"status", "priority"} <= set(document["ticket"]), (name, event)
    # and the cleared JSON endpoint gets the survey comment as well, marked restricted
    [survey] = [json.loads(body) for event, body in received["cleared-json"] if event == "survey.answered"]
    assert (survey["data"]["comment"], survey["restricted"]) == (COMMENT, True)


def test_a_row_queued_before_the_ticket_became_restricted_is_trimmed_when_delivered(
    allow_local, marked_customer, make_ticket, teams
):
    with Receiver() as receiver:
        # given a ticket.created row queued while the ticket was still ordinary
        endpoints = _endpoints(receiver.url)
        ticket = make_ticket(marked_customer, subject=SUBJECT, description=BODY, category="data-privacy")
        # when the ticket is restricted without any event (nothing trims the queued rows) and the rows are delivered
        Ticket.objects.filter(pk=ticket.pk).update(restricted=True, team=teams["compliance"])
        _deliver_all()
    received = _received(receiver)
    # then the uncleared endpoints get no subject, the cleared ones do, and every body says it is restricted
    for name in endpoints:
        [(event, body)] = received[name]
        assert event == "ticket.created"
        assert (SUBJECT in body.decode()) is ENDPOINTS[name][0], name
    document = json.loads(received["uncleared-json"][0][1])
    assert document.pop("id") and document.pop("created_at")
    assert document == {
        "event": "ticket.created",
        "restricted": True,
        "ticket": {
            "reference": ticket.reference,
            "status": "new",
            "priority": "normal",
            "tier": 1,
            "team": ticket.team.slug if ticket.team_id else None,
            "url": f"https://helpdesk.example.test/tickets/{ticket.reference}/",
        },
        "data": {"channel": "web", "category": "data-privacy"},
    }


def test_ordinary_tickets_are_unchanged_but_say_they_are_not_restricted(allow_local, marked_customer, make_ticket):
    with Receiver() as receiver:
        # given an uncleared endpoint
        _endpoints(receiver.url)
        # when an ordinary ticket is created and delivered
        make_ticket(marked_customer, subject=SUBJECT)
        _deliver_all()
    # then every endpoint gets its subject, and the JSON says "restricted": false
    received = _received(receiver)
    assert all(SUBJECT in body.decode() for deliveries in received.values() for _, body in deliveries)
    assert json.loads(received["uncleared-json"][0][1])["restricted"] is False


def test_the_admin_shows_and_saves_the_clearance(allow_local, admin_user, client):
    # given an admin
    client.force_login(admin_user)
    # when they add an endpoint cleared for restricted data
    response = client.post(
        "/admin/helpdesk/webhookendpoint/add/",
        {
            "name": "Compliance SIEM",
            "url": "http://127.0.0.1:9/siem",
            "secret": SECRET,
            "event_types": ["ticket.created"],
            "cleared_for_restricted": "on",
            "is_active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    # then it is saved cleared, and new endpoints are not
    assert response.status_code == 302, response.content[:2000]
    assert WebhookEndpoint.objects.get(name="Compliance SIEM").cleared_for_restricted is True
    assert WebhookEndpoint(name="x", url="http://x", secret="y").cleared_for_restricted is False
    assert b"Cleared for restricted" in client.get("/admin/helpdesk/webhookendpoint/").content
