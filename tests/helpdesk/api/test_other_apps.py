"""The other apps' endpoints: strict input (mass assignment, 400 naming the fields, 415), allowlisted query strings,
per-role output, the customer's manager request and the public survey with their throttles, approvals, search,
metrics, and the webhooks for escalated, accepted, SLA warning, SLA breached and survey answered."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from escalations.models import CompensationStatus, Escalation, SLAPolicy
from feedback.models import Survey
from helpdesk.models import Notification, NotificationChannel, WebhookEndpoint, WebhookEventType

UNKNOWN = ["Unknown field."]
DOSSIER = {
    "escalation_type": "technical",
    "mode": "functional",
    "reason": "Needs the platform team",
    "dossier_problem": "Invoice page errors",
    "dossier_tried": "Reloaded, second browser",
    "dossier_desired_outcome": "A working invoice page",
    "dossier_mood": "calm",
}


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


# --- strict input ------------------------------------------------------------------------------------------------

MASS_ASSIGNMENT = [
    (
        "agent",
        lambda t, w: f"/api/tickets/{t['mine'].reference}/escalate/",
        {**DOSSIER, "status": "accepted", "to_team": "managers", "accepted_by": 1},
        {"accepted_by": UNKNOWN, "status": UNKNOWN, "to_team": UNKNOWN},
    ),
    (
        "specialist",
        lambda t, w: f"/api/escalations/{w['escalation'].pk}/return/",
        {"guidance": "See KB-12.", "status": "resolved"},
        {"status": UNKNOWN},
    ),
    (
        "specialist",
        lambda t, w: f"/api/escalations/{w['escalation'].pk}/escalate-further/",
        {"reason": "Needs authority", "to_tier": 3, "level": 9},
        {"level": UNKNOWN, "to_tier": UNKNOWN},
    ),
    (
        "manager",
        lambda t, w: f"/api/approvals/{w['compensation'].pk}/approve/",
        {"status": "approved", "amount": "1.00"},
        {"amount": UNKNOWN, "status": UNKNOWN},
    ),
    (
        "customer",
        lambda t, w: f"/api/tickets/{t['mine'].reference}/request-manager/",
        {"reason": "Slow", "to_team": "managers", "role": "manager"},
        {"role": ["Nobody can change their own role or permissions."], "to_team": UNKNOWN},
    ),
    (
        "admin",
        lambda t, w: "/api/sla-policies/",
        {"name": "x", "plan": "basic", "priority": "low", "calendar": "Always", "id": 7, "colour": "red"},
        {"colour": UNKNOWN, "id": ["This field is read-only."]},
    ),
    (
        "anonymous",
        lambda t, w: f"/api/surveys/{w['survey_token']}/",
        {"csat": 5, "fixed": True, "explain_count": 1, "answered_at": "2020-01-01T00:00:00Z", "ticket": "HD-1"},
        {"answered_at": UNKNOWN, "ticket": UNKNOWN},
    ),
]


@pytest.mark.parametrize(("role", "path", "body", "errors"), MASS_ASSIGNMENT)
def test_write_endpoints_refuse_unknown_and_forbidden_fields_by_name(
    role, path, body, errors, people, tickets, world, api_as
):
    # given a role allowed to call the endpoint
    api = api_as(people[role])
    escalations_before = Escalation.objects.count()
    # when it sends fields it may not set
    response = api.post(path(tickets, world), body)
    # then a 400 names each of them, and nothing changed
    assert response.status_code == 400, response.content
    assert response.json() == errors
    assert Escalation.objects.count() == escalations_before
    assert Survey.objects.get(pk=world["survey"].pk).answered_at is None
    assert world["compensation"].__class__.objects.get(pk=world["compensation"].pk).status == "pending"


WRITE_PATHS = [
    ("agent", lambda t, w: f"/api/tickets/{t['mine'].reference}/escalate/"),
    ("specialist", lambda t, w: f"/api/escalations/{w['escalation'].pk}/return/"),
    ("specialist", lambda t, w: f"/api/escalations/{w['escalation'].pk}/resolve/"),
    ("specialist", lambda t, w: f"/api/escalations/{w['escalation'].pk}/escalate-further/"),
    ("manager", lambda t, w: f"/api/approvals/{w['compensation'].pk}/approve/"),
    ("manager", lambda t, w: f"/api/approvals/{w['compensation'].pk}/reject/"),
    ("customer", lambda t, w: f"/api/tickets/{t['mine'].reference}/request-manager/"),
    ("admin", lambda t, w: "/api/sla-policies/"),
    ("anonymous", lambda t, w: f"/api/surveys/{w['survey_token']}/"),
]


@pytest.mark.parametrize(("role", "path"), WRITE_PATHS)
def test_write_endpoints_answer_415_to_a_form_body(role, path, people, tickets, world, api_as):
    response = api_as(people[role]).post(
        path(tickets, world), "reason=x&summary=y", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json() == {"detail": 'Unsupported media type "application/x-www-form-urlencoded" in request.'}


def test_sla_policy_patch_is_strict_and_checks_the_models_rules(people, world, plans, api_as):
    api = api_as(people["admin"])
    policy = world["sla_policy"]
    # an unknown field is named
    response = api.patch(f"/api/sla-policies/{policy.pk}/", {"warn_percent": 70, "colour": "red"})
    assert (response.status_code, response.json()) == (400, {"colour": UNKNOWN})
    # a second active policy for the same plan and priority is refused by the model's constraint
    duplicate = api.post(
        "/api/sla-policies/", {"name": "Again", "plan": "enterprise", "priority": "normal", "calendar": "Always"}
    )
    assert (duplicate.status_code, duplicate.json()) == (
        400,
        {
            "non_field_errors": [
                "“Enterprise normal” is already the active policy for Enterprise, normal priority, all categories. "
                "Deactivate it first."
            ]
        },
    )
    assert SLAPolicy.objects.filter(plan=plans["enterprise"], priority="normal").count() == 1


# --- query strings -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "path", "params", "error"),
    [
        (
            "agent",
            "/api/escalations/",
            {"status": "bogus"},
            {"status": ["Select a valid choice. bogus is not one of the available choices."]},
        ),
        (
            "agent",
            "/api/escalations/",
            {"ordering": "reason"},
            {
                "ordering": [
                    "Cannot order by 'reason'. Allowed: created_at, ack_due_at, level, status "
                    "(prefix with '-' for descending)."
                ]
            },
        ),
        (
            "agent",
            "/api/escalations/",
            {"colour": "red"},
            {
                "detail": "Unknown query parameter(s): colour. Allowed: level, mode, ordering, page, page_size, "
                "status, ticket, to_team, type."
            },
        ),
        ("manager", "/api/approvals/", {"page_size": "500"}, {"page_size": ["Must be a whole number from 1 to 100."]}),
        (
            "customer",
            "/api/kb/articles/",
            {"search": "password", "ordering": "title"},
            {"ordering": ["Search results are ranked best first; drop `ordering` or `search`."]},
        ),
        (
            "manager",
            "/api/metrics/",
            {"metrics": "tickets,happiness"},
            {
                "metrics": [
                    "Unknown metric(s): happiness. Allowed: tickets, escalation_rate, first_contact_resolution, "
                    "bounce_rate, escalations, avoidable_rate, time_to_escalate, sla_compliance, sla_first_response, "
                    "sla_next_response, sla_resolution, sla_breaches, csat, repeat_yourself, compensations_granted."
                ]
            },
        ),
        (
            "manager",
            "/api/metrics/",
            {"start": "2026-02-01", "end": "2026-01-01"},
            {"start": ["Must be on or before end."]},
        ),
        ("manager", "/api/metrics/", {"tier": "9"}, {"tier": ['"9" is not a valid choice.']}),
        (
            "manager",
            "/api/metrics/",
            {"start": "2020-01-01", "end": "2026-01-01"},
            {"start": ["The period may be at most 366 days."]},
        ),
        ("agent", "/api/tickets/HD-X/sla/", {"page": "2"}, {"detail": "Unknown query parameter(s): page. Allowed: ."}),
    ],
)
def test_bad_query_strings_are_a_400_naming_the_parameter(role, path, params, error, people, world, api_as):
    response = api_as(people[role]).get(path, params)
    assert response.status_code == 400
    assert response.json() == error


def test_escalation_filters_and_ordering(people, tickets, world, api_as):
    api = api_as(people["manager"])
    open_ones = api.get("/api/escalations/", {"status": "open", "to_team": "technical"}).json()["results"]
    assert [row["id"] for row in open_ones] == [world["escalation"].pk]
    by_ticket = api.get("/api/escalations/", {"ticket": tickets["restricted"].reference}).json()["results"]
    assert [row["id"] for row in by_ticket] == [world["restricted_escalation"].pk]
    ordered = api.get("/api/escalations/", {"ordering": "created_at"}).json()["results"]
    assert [row["id"] for row in ordered] == [world["escalation"].pk, world["restricted_escalation"].pk]


# --- per-role output ---------------------------------------------------------------------------------------------


def test_sla_clocks_per_role(people, tickets, world, api_as):
    reference = tickets["mine"].reference
    customer = api_as(people["customer"]).get(f"/api/tickets/{reference}/sla/").json()
    staff = api_as(people["agent"]).get(f"/api/tickets/{reference}/sla/").json()
    assert customer["ticket"] == reference and customer["due_at"] == staff["due_at"] is not None
    assert {clock["target"] for clock in customer["clocks"]} == {"first_response", "resolution"}
    assert all(set(clock) == {"target", "state", "due_at", "met_at"} for clock in customer["clocks"])
    assert all(clock["policy"] == "Enterprise normal" and "breached_at" in clock for clock in staff["clocks"])


def test_kb_search_ranks_within_what_the_role_may_read(people, world, api_as):
    customer = api_as(people["customer"])
    agent = api_as(people["agent"])
    assert [row["title"] for row in customer.get("/api/kb/articles/", {"search": "password"}).json()["results"]] == [
        "Reset your password"
    ]
    assert customer.get("/api/kb/articles/", {"search": "refund ledger"}).json()["results"] == []
    hits = agent.get("/api/kb/articles/", {"search": "refund ledger"}).json()["results"]
    assert [row["title"] for row in hits] == ["Refund ledger"]
    assert hits[0]["visibility"] == "internal"
    assert "status" not in customer.get(f"/api/kb/articles/{world['public_article'].pk}/").json()


def test_approvals_say_who_may_decide_and_nobody_decides_their_own(people, world, api_as):
    compensation = world["compensation"]
    rows = {
        role: api_as(people[role]).get(f"/api/approvals/{compensation.pk}/").json()["can_decide"]
        for role in ("agent", "specialist", "manager")
    }
    assert rows == {"agent": False, "specialist": False, "manager": True}
    own = api_as(people["agent"]).post(f"/api/approvals/{compensation.pk}/reject/", {"note": "Changed my mind"})
    assert own.status_code == 403
    assert own.json() == {
        "detail": "You cannot approve or reject your own compensation request; another manager must decide."
    }
    no_note = api_as(people["manager"]).post(f"/api/approvals/{compensation.pk}/reject/", {"note": " "})
    assert (no_note.status_code, no_note.json()) == (
        400,
        {"note": ["Say why you are rejecting it; the requester will read this."]},
    )
    approved = api_as(people["manager"]).post(f"/api/approvals/{compensation.pk}/approve/", {})
    assert approved.json()["status"] == CompensationStatus.APPROVED and approved.json()["decided_by"] == "Morgan Blake"
    late = api_as(people["admin"]).post(f"/api/approvals/{compensation.pk}/approve/", {})
    assert (late.status_code, late.json()) == (
        409,
        {"detail": "Morgan Blake already decided this request (approved).", "code": "conflict"},
    )


def test_metrics_are_the_dashboard_numbers(people, world, api_as):
    response = api_as(people["manager"]).get("/api/metrics/", {"metrics": "tickets,escalations"})
    assert response.status_code == 200
    body = response.json()
    numbers = {row["key"]: row["value"] for row in body["metrics"]}
    # four tickets (one restricted, visible to a manager) and two escalations in the last 28 days
    assert numbers == {"tickets": 4.0, "escalations": 2.0}
    today = timezone.now().date()
    assert body["end"] == today.isoformat()
    assert body["start"] == (today - timedelta(days=27)).isoformat()
    refused = api_as(people["agent"]).get("/api/metrics/")
    assert refused.json() == {"detail": "Only managers and administrators can read the analytics."}


# --- the customer's manager request ------------------------------------------------------------------------------


def test_customer_asks_for_a_manager_once_the_sla_allows_and_is_throttled(people, tickets, world, api_as, settings):
    # given a customer whose ticket has waited past the share of its SLA, and a throttle of two requests an hour
    _rates(settings, escalation_request="2/hour")
    api = api_as(people["customer"])
    path = f"/api/tickets/{tickets['mine'].reference}/request-manager/"
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
        # when they ask (without a reason, then with one, then again)
        no_reason = api.post(path, {"reason": ""})
        asked = api.post(path, {"reason": "Nobody has answered for a day."})
        again = api.post(path, {"reason": "Still nothing."})
    # then the reason is required, the request goes through in plain words, and the third call is throttled
    assert (no_reason.status_code, no_reason.json()) == (
        400,
        {"reason": ["Please tell us why you would like a manager to look at this."]},
    )
    assert asked.status_code == 201
    assert asked.json()["message"] == "A manager will look at your request and contact you."
    assert set(asked.json()) == {"ticket", "requested_at", "message"}
    assert again.status_code == 429
    escalation = Escalation.objects.get(ticket=tickets["mine"])
    assert (escalation.requested_by_kind, escalation.mode) == ("customer", "hierarchical")


# --- the public survey -------------------------------------------------------------------------------------------


def test_survey_questions_answers_once_and_refuses_tampering(people, world, api_as, settings):
    _rates(settings, survey_submit="3/hour")
    api = api_as(None)
    path = f"/api/surveys/{world['survey_token']}/"
    questions = api.get(path).json()
    assert questions["ticket"] == world["survey"].ticket.reference
    assert [(q["name"], q["type"], q["required"]) for q in questions["questions"]] == [
        ("csat", "integer", True),
        ("fixed", "boolean", True),
        ("explain_count", "integer", True),
        ("nps", "integer", False),
        ("comment", "text", False),
    ]
    bad = api.post(path, {"csat": 9, "fixed": True, "explain_count": 0})
    assert (bad.status_code, bad.json()) == (
        400,
        {
            "csat": ["Choose a score from 1 (very unhappy) to 5 (very happy)."],
            "explain_count": ["Enter how many times you explained the problem, from 1 to 20."],
        },
    )
    answered = api.post(path, {"csat": 2, "fixed": False, "explain_count": 3, "comment": "Slow."})
    assert answered.status_code == 201
    survey = Survey.objects.get(pk=world["survey"].pk)
    assert (survey.csat, survey.fixed, survey.explain_count, survey.comment) == (2, False, 3, "Slow.")
    again = api.post(path, {"csat": 5, "fixed": True, "explain_count": 1})
    assert (again.status_code, again.json()["code"]) == (409, "answered")
    assert api.post(path, {"csat": 5, "fixed": True, "explain_count": 1}).status_code == 429  # fourth in the hour
    tampered = api.get(f"/api/surveys/{world['survey_token'][:-2]}xx/")
    assert (tampered.status_code, tampered.json()["code"]) == (400, "invalid")


# --- webhooks ----------------------------------------------------------------------------------------------------


def _hook(*types) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name="CRM", url="https://crm.example.com/hooks", secret="s", event_types=types
    )


def _emitted(event_type: str) -> list[dict]:
    rows = Notification.objects.filter(channel=NotificationChannel.WEBHOOK, kind=f"webhook:{event_type}")
    return [row.data["payload"] for row in rows.order_by("pk")]


def test_escalated_and_accepted_webhooks(people, tickets, world, api_as):
    # given an endpoint subscribed to escalations
    _hook(WebhookEventType.TICKET_ESCALATED, WebhookEventType.ESCALATION_ACCEPTED)
    # when an agent escalates through the API and a specialist accepts
    created = api_as(people["agent"]).post(f"/api/tickets/{tickets['mine'].reference}/escalate/", DOSSIER)
    accepted = api_as(people["specialist"]).post(f"/api/escalations/{created.json()['id']}/accept/")
    assert accepted.status_code == 200
    # then one delivery each is queued, with the hop's facts
    [escalated] = _emitted(WebhookEventType.TICKET_ESCALATED)
    assert escalated["ticket"]["reference"] == tickets["mine"].reference
    assert escalated["data"] | {} == {
        "escalation_id": created.json()["id"],
        "type": "technical",
        "mode": "functional",
        "level": 1,
        "from_tier": 1,
        "to_tier": 2,
        "to_team": "Technical",
        "requested_by_kind": "agent",
        "automatic": False,
    }
    [acceptance] = _emitted(WebhookEventType.ESCALATION_ACCEPTED)
    assert acceptance["data"] == {"escalation_id": created.json()["id"], "level": 1, "accepted_by": "Priya Shah"}


def test_sla_warning_breach_and_automatic_escalation_webhooks(people, tickets, world):
    from escalations.sla.sweep import sla_sweep

    # given an endpoint subscribed to the SLA events and to escalations
    _hook(WebhookEventType.SLA_WARNING, WebhookEventType.SLA_BREACHED, WebhookEventType.TICKET_ESCALATED)
    start = timezone.now()
    # when the sweep runs at 50 minutes (80% of the 60-minute first response) and then after the deadline
    sla_sweep(now=start + timedelta(minutes=50))
    warnings = _emitted(WebhookEventType.SLA_WARNING)
    sla_sweep(now=start + timedelta(minutes=61))
    # then the warning and the breach are delivered for the Enterprise ticket's first-response clock
    enterprise = {tickets["mine"].reference, tickets["restricted"].reference}
    assert sorted((w["ticket"]["reference"], w["data"]["target"]) for w in warnings) == sorted(
        (reference, "first_response") for reference in enterprise
    )
    breaches = _emitted(WebhookEventType.SLA_BREACHED)
    assert sorted((b["ticket"]["reference"], b["data"]["target"]) for b in breaches) == sorted(
        (reference, "first_response") for reference in enterprise
    )
    assert breaches[0]["data"]["breached_at"] == breaches[0]["data"]["due_at"]
    # and the sweep's automatic hops are announced like any other: Bluebird's escalation, unaccepted after its
    # 30 minutes, pages the next level
    automatic = [e for e in _emitted(WebhookEventType.TICKET_ESCALATED) if e["data"]["automatic"]]
    assert tickets["other_org"].reference in {e["ticket"]["reference"] for e in automatic}
    assert {e["ticket"]["reference"] for e in automatic} <= enterprise | {tickets["other_org"].reference}


def test_survey_answered_webhook(people, world, api_as):
    _hook(WebhookEventType.SURVEY_ANSWERED)
    api_as(None).post(
        f"/api/surveys/{world['survey_token']}/", {"csat": 4, "fixed": True, "explain_count": 1, "nps": 9}
    )
    [answered] = _emitted(WebhookEventType.SURVEY_ANSWERED)
    assert answered["ticket"]["reference"] == world["survey"].ticket.reference
    assert {k: answered["data"][k] for k in ("csat", "fixed", "explain_count", "nps", "comment")} == {
        "csat": 4,
        "fixed": True,
        "explain_count": 1,
        "nps": 9,
        "comment": "",
    }
