"""API test helpers: a JSON client per role (session or token), and a clean throttle cache for every test."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.test import Client


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


class Api:
    """A thin JSON client: ``api.get(path)``, ``api.post(path, data)``, ``api.patch(path, data, version=3)``."""

    def __init__(self, client: Client, token: str | None = None):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _call(self, method, path, data=None, *, headers=None, content_type="application/json", **kwargs):
        body = json.dumps(data) if (data is not None and content_type == "application/json") else data
        fn = getattr(self.client, method)
        kwargs.setdefault("headers", {**self.headers, **(headers or {})})
        if method == "get":
            return fn(path, data, **kwargs)
        return fn(path, body if body is not None else "", content_type=content_type, **kwargs)

    def get(self, path, params=None, **kwargs):
        return self._call("get", path, params, **kwargs)

    def post(self, path, data=None, **kwargs):
        return self._call("post", path, data, **kwargs)

    def patch(self, path, data=None, *, version=None, **kwargs):
        headers = kwargs.pop("headers", {}) or {}
        if version is not None:
            headers["If-Match"] = f'"{version}"'
        return self._call("patch", path, data, headers=headers, **kwargs)

    def delete(self, path, **kwargs):
        return self._call("delete", path, None, **kwargs)


@pytest.fixture
def api_as(db):
    """``api_as(user)`` → an Api client signed in with a fresh personal token (no session, no CSRF);
    ``api_as(None)`` → anonymous."""
    from helpdesk.api.services import api_token_create

    def make(user, *, session: bool = False) -> Api:
        client = Client()
        if user is None:
            return Api(client)
        if session:
            client.force_login(user)
            return Api(client)
        _token, raw = api_token_create(user=user, name="tests")
        return Api(client, raw)

    return make


@pytest.fixture
def people(customer, customer2, agent, specialist, compliance_officer, manager, admin_user):
    return {
        "customer": customer,
        "customer2": customer2,
        "agent": agent,
        "specialist": specialist,
        "manager": manager,
        "admin": admin_user,
        "anonymous": None,
        "compliance": compliance_officer,
    }


@pytest.fixture
def sla_policy(plans):
    """An around-the-clock policy for Enterprise tickets of normal priority, so tickets get SLA clocks."""
    from escalations.models import BusinessCalendar, SLAPolicy

    calendar = BusinessCalendar.objects.create(name="Always", timezone="UTC", is_24x7=True)
    return SLAPolicy.objects.create(
        name="Enterprise normal",
        plan=plans["enterprise"],
        priority="normal",
        calendar=calendar,
        first_response_minutes=60,
        next_response_minutes=120,
        resolution_minutes=480,
    )


@pytest.fixture
def tickets(people, make_ticket, teams, sla_policy):
    """Tickets across two organisations, one restricted to the compliance team."""
    from helpdesk.models import Ticket

    mine = make_ticket(people["customer"], subject="Invoice charged twice")
    other_org = make_ticket(people["customer2"], subject="Bluebird cannot log in", category="outage")
    restricted = make_ticket(people["customer"], subject="Data request", category="data-privacy")
    # No service sets the compliance flag yet (the compliance workflow owns it): set it directly for the fixture.
    Ticket.objects.filter(pk=restricted.pk).update(restricted=True, team=teams["compliance"], tier=2)
    restricted.refresh_from_db()
    return {"mine": mine, "other_org": other_org, "restricted": restricted}


@pytest.fixture
def world(people, tickets, teams, make_ticket, sla_policy, settings):
    """Everything the other apps' endpoints serve, built through their services: an escalation of Bluebird's outage
    to Technical with a £400 compensation request (above the agent's limit, so pending), a manager's escalation of
    the restricted ticket to Compliance, articles (public, internal, a manager's draft) and a sent survey."""
    from datetime import timedelta

    from django.utils import timezone

    from escalations.compensation import compensation_request_create
    from escalations.defaults import escalation_config_ensure
    from escalations.services import escalation_create
    from feedback.models import Survey
    from feedback.selectors import survey_token_make
    from feedback.services import surveys_send_due
    from helpdesk.services import ticket_change_status
    from knowledge_base.services import article_create, article_set_status

    escalation_config_ensure()
    dossier = {
        "reason": "Needs the platform team",
        "dossier_problem": "Login page times out",
        "dossier_tried": "Cleared cookies, second browser",
        "dossier_desired_outcome": "Working login",
        "dossier_mood": "frustrated",
    }
    escalation = escalation_create(
        ticket=tickets["other_org"],
        actor=people["agent"],
        escalation_type="technical",
        mode="functional",
        **dossier,
    )
    compensation = compensation_request_create(
        ticket=tickets["other_org"],
        actor=people["agent"],
        amount="400.00",
        currency="GBP",
        reason="Two days without access",
        escalation=escalation,
    )
    restricted = escalation_create(
        ticket=tickets["restricted"],
        actor=people["manager"],
        escalation_type="compliance",
        mode="functional",
        **dossier,
    )
    manager = people["manager"]
    public = article_create(
        actor=manager, title="Reset your password", body="Use the link on the sign-in page.", visibility="public"
    )
    article_set_status(article=public, actor=manager, status="published")
    internal = article_create(actor=manager, title="Refund ledger", body="Internal refund steps.")
    article_set_status(article=internal, actor=manager, status="published")
    draft = article_create(actor=manager, title="Draft: outage runbook", body="Work in progress.")
    settings.FEEDBACK_SURVEY_SAMPLE_RATE = 1.0
    surveyed = make_ticket(people["customer"], subject="Receipt missing")
    ticket_change_status(ticket=surveyed, actor=people["agent"], status="resolved")
    surveys_send_due(now=timezone.now() + timedelta(minutes=settings.FEEDBACK_SURVEY_DELAY_MINUTES + 1))
    survey = Survey.objects.get(ticket=surveyed)
    return {
        "escalation": escalation,
        "restricted_escalation": restricted,
        "compensation": compensation,
        "public_article": public,
        "internal_article": internal,
        "draft_article": draft,
        "survey": survey,
        "survey_token": survey_token_make(survey=survey),
        "sla_policy": sla_policy,
    }


def text_file(name: str = "notes.txt", content: bytes = b"Screenshot notes: the invoice total is wrong.\n"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="text/plain")


def _restrict(ticket, team):
    """No service sets the compliance flag yet (the compliance workflow owns it): set it directly, as ``tickets``."""
    from helpdesk.models import Ticket

    Ticket.objects.filter(pk=ticket.pk).update(restricted=True, team=team, tier=2)
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def product(people, tickets, teams, world, make_ticket, settings):
    """The rest of the product for the API, built through the services, one visible and one restricted row of each:
    calls, callbacks, attachments (public and internal), vendor cases, RCAs with corrective actions, answered
    surveys (low scores, so each has a follow-up), and a resolved ticket still without an RCA."""
    from datetime import date, timedelta

    from django.utils import timezone

    from escalations.calls.services import call_log, callback_create
    from escalations.services import escalation_create
    from feedback.models import Survey
    from feedback.rca import CorrectiveActionInput, rca_create
    from feedback.selectors import survey_token_make
    from feedback.services import SurveyAnswers, survey_submit, surveys_send_due
    from helpdesk.models import Attachment
    from helpdesk.services import ticket_add_internal_note, ticket_change_status, ticket_reply

    agent, manager, customer = people["agent"], people["manager"], people["customer"]
    mine, restricted = tickets["mine"], tickets["restricted"]
    now = timezone.now()
    call = {
        "direction": "inbound",
        "number": "+44 20 7946 0000",
        "summary": "Walked through the invoice.",
        "outcome": "resolved",
    }
    calls = {
        "visible": call_log(actor=agent, ticket=mine, **call),
        "restricted": call_log(actor=manager, ticket=restricted, **call),
    }
    window = {
        "window_start": now + timedelta(hours=1),
        "window_end": now + timedelta(hours=3),
        "reason": "Confirm refund",
    }
    callbacks = {
        "visible": callback_create(ticket=mine, actor=agent, **window),
        "restricted": callback_create(ticket=restricted, actor=manager, **window),
    }
    ticket_reply(ticket=mine, author=customer, body="Here is the invoice.", files=[text_file("invoice.txt")])
    ticket_add_internal_note(ticket=mine, author=agent, body="Ledger export.", files=[text_file("ledger.txt")])
    ticket_reply(ticket=restricted, author=manager, body="Your data export.", files=[text_file("export.txt")])
    attachments = {
        "public": Attachment.objects.get(original_name="invoice.txt"),
        "internal": Attachment.objects.get(original_name="ledger.txt"),
        "restricted": Attachment.objects.get(original_name="export.txt"),
    }
    vendor = {
        "escalation_type": "third_party",
        "mode": "functional",
        "reason": "The payment provider must refund",
        "dossier_problem": "Double charge",
        "dossier_tried": "Checked the ledger",
        "dossier_desired_outcome": "Refund",
        "dossier_mood": "calm",
        "vendor_name": "PayCo",
        "vendor_reference": "PC-1",
        "vendor_contact": "ops@payco.test",
        "vendor_follow_up_at": now + timedelta(days=2),
    }
    vendor_tickets = {
        "visible": make_ticket(customer, subject="Card charged twice"),
        "restricted": make_ticket(customer, subject="Card data request"),
    }
    for ticket in vendor_tickets.values():
        escalation_create(ticket=ticket, actor=manager, **vendor)
    _restrict(vendor_tickets["restricted"], teams["compliance"])
    vendor_cases = {name: ticket.vendor_cases.get() for name, ticket in vendor_tickets.items()}

    # Resolved tickets: the world's surveyed one (visible), a restricted one, and one without an RCA yet.
    surveyed = world["survey"].ticket
    restricted_resolved = make_ticket(customer, subject="Erase my old address", category="data-privacy")
    ticket_change_status(ticket=restricted_resolved, actor=manager, status="resolved")
    _restrict(restricted_resolved, teams["compliance"])
    no_rca = make_ticket(customer, subject="Receipt in the wrong currency")
    ticket_change_status(ticket=no_rca, actor=agent, status="resolved")
    why = {"cause_category": "process_gap", "preventable": True, "five_whys": "No refund step.\nNobody owned it."}
    action = [CorrectiveActionInput(description="Write the refund step", owner=agent, due_date=date(2030, 1, 1))]
    rcas = {
        "visible": rca_create(ticket=surveyed, actor=agent, actions=action, **why),
        "restricted": rca_create(ticket=restricted_resolved, actor=manager, actions=action, **why),
    }
    surveys_send_due(now=now + timedelta(minutes=settings.FEEDBACK_SURVEY_DELAY_MINUTES + 1))
    low = SurveyAnswers(csat=1, fixed=False, explain_count=3)
    for ticket in (surveyed, restricted_resolved):
        survey_submit(token=survey_token_make(survey=Survey.objects.get(ticket=ticket)), answers=low)
    surveys = {
        "visible": Survey.objects.get(ticket=surveyed),
        "restricted": Survey.objects.get(ticket=restricted_resolved),
    }
    from django.http import QueryDict

    from helpdesk.saved_views import saved_view_create

    saved_views = {
        "personal": saved_view_create(owner=agent, name="My open", query=QueryDict("scope=mine")),
        "team": saved_view_create(
            owner=agent, name="Frontline all", query=QueryDict("scope=all"), team=teams["frontline"]
        ),
        "manager": saved_view_create(owner=manager, name="Everything", query=QueryDict("scope=all")),
    }
    return {
        "saved_views": saved_views,
        "calls": calls,
        "callbacks": callbacks,
        "attachments": attachments,
        "vendor_cases": vendor_cases,
        "rcas": rcas,
        "actions": {name: rca.actions.get() for name, rca in rcas.items()},
        "follow_ups": {name: survey.follow_ups.get() for name, survey in surveys.items()},
        "surveys": surveys,
        "no_rca": no_rca,
        "customer_notification": customer.notifications.filter(channel="in_app").order_by("pk").first(),
    }
