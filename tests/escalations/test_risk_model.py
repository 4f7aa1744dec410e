"""The likely-to-escalate model (``escalations.risk_model``): training is deterministic and time-split, scores are
explained in words, scoring runs after commit on customer messages and SLA breaches, the API shows the risk only to
those who see the ticket, and without a model the rules decide alone."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import joblib
import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from escalations.models import RiskAssessment, RiskModel
from escalations.risk_model.explain import explain
from escalations.risk_model.history import history_generate
from escalations.risk_model.scoring import combined_score, risk_score_tickets
from escalations.risk_model.train import RiskTrainingError, risk_model_train
from helpdesk.services import ticket_reply

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def history(teams, customer):
    """300 closed historic tickets; the test customer is one of the customers who escalate often."""
    return history_generate(n=300, seed=11, now=NOW, customers=30, known=[customer])


@pytest.fixture
def model(history):
    trained = risk_model_train(seed=0, now=NOW)
    assert trained.is_active, trained.evaluation
    return trained


def _coefficients(model: RiskModel):
    pipeline = joblib.load(io.BytesIO(bytes(model.artefact)))
    return pipeline.named_steps["model"].coef_


# --- training ---------------------------------------------------------------------------------------------------


def test_retraining_with_the_same_seed_gives_the_same_model(history):
    # when the model is trained twice on the same history with the same seed
    first = risk_model_train(seed=5, now=NOW)
    second = risk_model_train(seed=5, now=NOW)
    # then the two versions have the same features, coefficients and evaluation; the newer is the active one
    assert (first.version, second.version) == (1, 2)
    assert first.feature_names == second.feature_names
    assert np.array_equal(_coefficients(first), _coefficients(second))
    assert first.evaluation == second.evaluation
    assert list(RiskModel.objects.filter(is_active=True).values_list("version", flat=True)) == [2]


def test_training_holds_out_the_newest_fifth_and_measures_it_against_the_baselines(model):
    evaluation = model.evaluation
    split = evaluation["split"]
    # the older 80 % train, the newer 20 % are evaluated
    assert (split["train"], split["test"]) == (240, 60)
    assert split["train_closed_until"] <= split["test_closed_from"]
    for name in ("model", "combined", "rules", "priority"):
        assert set(evaluation[name]) >= {"precision", "recall", "f1", "recall_at_10", "recall_at_20", "auc"}
        assert evaluation[name]["tickets"] == 60
    # on this structured history the model ranks escalations better than priority alone
    assert evaluation["model"]["auc"] > evaluation["priority"]["auc"]


def test_risk_train_refuses_clearly_without_enough_history(db):
    with pytest.raises(RiskTrainingError, match=re.escape("Not enough closed history to train: 0 closed tickets")):
        risk_model_train(seed=0, now=NOW)
    with pytest.raises(CommandError, match=re.escape("Not enough closed history to train: 0 closed tickets, 0 esc")):
        call_command("risk_train", "--seed", "1")
    with pytest.raises(CommandError, match=re.escape("--now must be an ISO-8601 date and time, not 'friday'.")):
        call_command("risk_train", "--now", "friday")


def test_risk_train_command_stores_a_version_and_prints_its_evaluation(history):
    out = io.StringIO()
    call_command("risk_train", "--seed", "3", "--now", "2026-11-20T12:00:00", stdout=out)
    assert '"version": 1' in out.getvalue() and '"recall_at_20"' in out.getvalue()
    assert RiskModel.objects.get(version=1).seed == 3


def test_history_is_written_once(history):
    again = history_generate(n=300, seed=11, now=NOW)
    assert (history.created, again.created, again.tickets) == (True, False, 300)


# --- the score and its explanation ------------------------------------------------------------------------------


def test_combined_score_is_the_higher_of_rules_and_model():
    assert combined_score(35, 0.1) == 35  # a hard signal is never hidden by a calm history
    assert combined_score(10, 0.72) == 72  # the model raises what the words alone miss
    assert combined_score(20, None) == 20  # no model: the rules alone


def test_an_explanation_is_in_words_largest_reason_first():
    names = [
        "facts__messages_2h",
        "facts__customer_escalations_90d",
        "words__third time",
        "chars__ird",
        "chars__ime",
        "facts__channel=phone",
        "facts__priority=low",
    ]
    raw = {"messages_2h": 3, "customer_escalations_90d": 2}
    contributions = [(0, 0.9), (1, 1.4), (2, 0.6), (3, 0.04), (4, 0.05), (5, 0.01), (6, -0.8)]
    assert explain(names=names, contributions=contributions, raw=raw) == [
        {
            "text": "customer escalated 2 times in the last 90 days",
            "weight": 1.4,
            "fact": "customer_escalations_90d",
            "args": {"n": 2},
        },
        {"text": "3 customer messages in 2 hours", "weight": 0.9, "fact": "messages_2h", "args": {"n": 3}},
        {"text": "message: ‘third time’", "weight": 0.6, "fact": "words", "args": {"words": "third time"}},
        {
            "text": "wording like past escalations (spelling and phrasing)",
            "weight": 0.09,
            "fact": "chars",
            "args": {},
        },
    ]


def test_a_customer_message_is_scored_after_commit_and_explained(
    model, customer, agent, make_ticket, django_capture_on_commit_callbacks
):
    # given an open ticket of a customer who escalated often in the last 90 days
    ticket = make_ticket(customer, description="The export fails again.", category="billing")
    # when the customer writes again, before the transaction commits the model has not run
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ticket_reply(ticket=ticket, author=customer, body="This is the third time I ask. Still broken.")
    assessment = RiskAssessment.objects.get(ticket=ticket)
    assert assessment.likelihood is None and callbacks
    # and after commit it has: the likelihood, the version and the reasons in words, in the combined score
    for callback in callbacks:
        callback()
    assessment.refresh_from_db()
    assert assessment.model_version == model.version
    assert 0 < assessment.likelihood < 1
    texts = [reason["text"] for reason in assessment.explanations]
    assert texts and all(isinstance(text, str) and text for text in texts)
    assert any(text.startswith("customer escalated") for text in texts), texts
    now = timezone.now()
    assert assessment.as_of(now).score == max(round(100 * assessment.likelihood), _rules_score(assessment, now))


def _rules_score(assessment, now):
    from escalations import conf
    from escalations.risk import fade

    half_life = float(conf.get("ESCALATION_RISK_HALF_LIFE_DAYS"))
    return fade(assessment.signals, now=now, half_life_days=half_life, undated=assessment.updated_at)[1]


def test_an_sla_breach_rescores_the_ticket(
    model, resolution_policy, customer, make_ticket, django_capture_on_commit_callbacks
):
    from escalations.sla.sweep import sla_sweep

    # given a ticket whose resolution clock (8 hours) runs out unanswered
    ticket = make_ticket(customer, description="Nothing loads.", category="outage", priority="normal")
    RiskAssessment.objects.filter(ticket=ticket).update(likelihood=None, model_version=None, explanations=[])
    # when the sweep breaches it
    with django_capture_on_commit_callbacks(execute=True):
        result = sla_sweep(now=timezone.now() + timedelta(hours=9))
    # then the ticket was re-scored after the sweep's batch committed
    assert result.breached == 1
    assessment = RiskAssessment.objects.get(ticket=ticket)
    assert assessment.model_version == model.version
    assert assessment.likelihood is not None


def test_scoring_a_batch_takes_a_constant_number_of_queries(
    model, customer, customer2, make_ticket, django_assert_max_num_queries
):
    tickets = [make_ticket(customer if i % 2 else customer2, description=f"Problem {i}") for i in range(6)]
    risk_score_tickets(ticket_ids=[tickets[0].pk])  # loads the model once, as a worker would
    with django_assert_max_num_queries(12):
        assert risk_score_tickets(ticket_ids=[ticket.pk for ticket in tickets]) == 6


# --- without a model --------------------------------------------------------------------------------------------


def test_without_a_model_the_rules_alone_decide(customer, make_ticket, django_capture_on_commit_callbacks):
    # given no trained model
    ticket = make_ticket(customer, description="Printer on fire.")
    # when an angry customer message is committed
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=ticket, author=customer, body="I want to speak to a manager.")
    # then the score is the rules' score and nothing says a model was involved
    assessment = RiskAssessment.objects.get(ticket=ticket)
    assert (assessment.likelihood, assessment.model_version, assessment.explanations) == (None, None, [])
    assert assessment.score == _rules_score(assessment, assessment.updated_at) == 30
    assert risk_score_tickets(ticket_ids=[ticket.pk]) == 0


def test_a_model_no_better_than_chance_is_stored_but_not_activated(history, monkeypatch):
    from escalations.risk_model import train

    monkeypatch.setattr(train, "MIN_AUC", 1.01)
    trained = risk_model_train(seed=0, now=NOW)
    assert (trained.is_active, trained.evaluation["activated"]) == (False, False)
    assert not RiskModel.objects.filter(is_active=True).exists()


# --- where people see it ----------------------------------------------------------------------------------------


def test_the_ticket_api_exposes_the_risk(model, customer, agent, make_ticket, client, login):
    ticket = make_ticket(customer, description="The export fails again.")
    risk_score_tickets(ticket_ids=[ticket.pk])
    assessment = RiskAssessment.objects.get(ticket=ticket)
    login(agent)
    body = client.get(f"/api/tickets/{ticket.reference}/").json()
    assert body["risk_score"] == assessment.as_of(timezone.now()).score
    assert body["risk_level"] == assessment.as_of(timezone.now()).level
    assert body["risk_model_version"] == model.version
    # the API keeps its documented shape: the stored text (product's language) and the weight of each reason
    shown = [{"text": reason["text"], "weight": reason["weight"]} for reason in assessment.explanations]
    assert body["risk_explanations"] == shown and body["risk_explanations"]
    listed = client.get("/api/tickets/").json()["results"]
    assert [row["risk_model_version"] for row in listed if row["reference"] == ticket.reference] == [model.version]


def test_a_customer_does_not_see_risk_in_the_api(customer, make_ticket, client, login):
    ticket = make_ticket(customer, description="I want to speak to a manager.")
    login(customer)
    body = client.get(f"/api/tickets/{ticket.reference}/").json()
    assert body["reference"] == ticket.reference
    assert not {"risk_score", "risk_level", "risk_model_version", "risk_explanations"} & set(body)


def test_a_restricted_tickets_risk_is_seen_only_by_those_who_see_the_ticket(
    customer, agent, compliance_officer, make_ticket, client, login
):
    from helpdesk.models import Ticket

    # given a restricted compliance ticket with a high risk
    ticket = make_ticket(customer, description="My lawyer will sue you over this data leak.", category="data-privacy")
    Ticket.objects.filter(pk=ticket.pk).update(restricted=True, team=compliance_officer.memberships.get().team)
    # then an agent outside its team sees neither the ticket nor its risk, in the detail or the list
    login(agent)
    assert client.get(f"/api/tickets/{ticket.reference}/").status_code == 404
    assert ticket.reference not in [row["reference"] for row in client.get("/api/tickets/").json()["results"]]
    # and its handling team does
    login(compliance_officer)
    body = client.get(f"/api/tickets/{ticket.reference}/").json()
    assert body["risk_level"] in ("medium", "high") and body["risk_score"] >= 30


def test_the_workspace_risk_panel_lists_the_reasons(model, customer, agent, make_ticket, client, login):
    ticket = make_ticket(customer, description="The export fails again.")
    risk_score_tickets(ticket_ids=[ticket.pk])
    assessment = RiskAssessment.objects.get(ticket=ticket)
    login(agent)
    html = client.get(f"/tickets/{ticket.reference}/").content.decode()
    assert f"Likely to escalate: {round(assessment.likelihood * 100)}%" in html
    for reason in assessment.explanations:
        assert reason["text"].replace("‘", "&lsquo;").replace("’", "&rsquo;") in html or reason["text"] in html


def test_the_weekly_task_trains_a_version_or_leaves_the_rules_in_charge(db, settings):
    from escalations.tasks import risk_model_train_task

    # the beat schedule runs it weekly
    entry = settings.CELERY_BEAT_SCHEDULE["risk-model-train"]
    assert entry["task"] == "escalations.tasks.risk_model_train_task"
    # without history it trains nothing
    assert risk_model_train_task() is None
    assert not RiskModel.objects.exists()


def test_the_weekly_task_activates_a_new_version_and_rescores_open_tickets(history, customer, make_ticket):
    from escalations.tasks import risk_model_train_task

    ticket = make_ticket(customer, description="Still broken, third time I write.")
    assert risk_model_train_task() == 1
    assert RiskAssessment.objects.get(ticket=ticket).model_version == 1
