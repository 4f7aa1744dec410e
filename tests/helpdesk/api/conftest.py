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
