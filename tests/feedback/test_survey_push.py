"""A survey request reaches the customer's ticket page: one public line when the survey is first emailed (in their
language), pushed to their open screens like every event of their timeline; the answers never are."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from feedback.models import Survey
from feedback.selectors import survey_token_make
from feedback.services import SurveyAnswers, survey_submit, surveys_send_due
from helpdesk.live import LiveMessage, broker
from helpdesk.live import publish as live_publish_module
from helpdesk.selectors import ticket_events_visible_to


@pytest.fixture
def resolved(escalated_ticket, resolve):
    resolved_at = timezone.now()
    with time_machine.travel(resolved_at, tick=False):
        resolve(escalated_ticket)
    return escalated_ticket, resolved_at + timedelta(hours=3)


def test_a_sent_survey_is_one_public_line_pushed_to_the_customer_and_its_answers_are_not(
    resolved, customer, specialist, monkeypatch, django_capture_on_commit_callbacks
):
    ticket, at = resolved
    customer.language = "fr"
    customer.save(update_fields=["language"])
    messages: list[LiveMessage] = []
    monkeypatch.setattr(live_publish_module.live_publisher, "submit", messages.extend)
    monkeypatch.setattr(broker, "online_user_ids", lambda **kwargs: [customer.pk, specialist.pk])

    # when the sweep sends the survey, then a reminder, and the customer answers
    with django_capture_on_commit_callbacks(execute=True):
        surveys_send_due(now=at)
        surveys_send_due(now=at + timedelta(days=2))
        survey = Survey.objects.get(ticket=ticket)
        answers = SurveyAnswers(csat=1, fixed=False, explain_count=3)
        survey_submit(token=survey_token_make(survey=survey), answers=answers, now=at + timedelta(days=3))

    # then her timeline has one survey line, in her language, and nothing of the reminder or the answers
    surveys = [event for event in ticket_events_visible_to(user=customer, ticket=ticket) if event.kind == "survey"]
    assert [(event.data["action"], event.body[:32]) for event in surveys] == [
        ("requested", "Nous vous avons envoyé par e-mai")
    ]
    # and her stream got a bare frame for it, and for nothing else of the survey
    deliveries = live_publish_module.live_deliveries(messages)
    mine = [json.loads(data) for user_id, data in deliveries if user_id == customer.pk]
    assert [(frame["event"], frame["event_id"]) for frame in mine if frame["event"] == "survey"] == [
        ("survey", surveys[0].pk)
    ]
    assert "CSAT" not in str(mine)
    # while the specialist's stream got every survey event (sent, requested, reminder, answered)
    staff = [json.loads(data) for user_id, data in deliveries if user_id == specialist.pk]
    assert len([frame for frame in staff if frame["event"] == "survey"]) == 4
