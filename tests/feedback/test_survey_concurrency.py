"""Single use under two truly concurrent submits: real threads, real row locks (PostgreSQL only)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from feedback.models import Survey
from feedback.selectors import SurveyAlreadyAnswered, survey_token_make
from feedback.services import SurveyAnswers, survey_submit, surveys_send_due
from helpdesk.models import TicketEvent


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_submits_record_exactly_one(escalated_ticket, resolve):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite serialises writers on one file lock, so two threads never race on a row "
            "(run with DATABASE_URL=postgres://…)"
        )
    # given a sent survey
    resolve(escalated_ticket)
    at = timezone.now() + timedelta(hours=3)
    surveys_send_due(now=at)
    survey = Survey.objects.get(ticket=escalated_ticket)
    token = survey_token_make(survey=survey)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(csat: int) -> None:
        try:
            barrier.wait(timeout=10)
            survey_submit(token=token, answers=SurveyAnswers(csat=csat, fixed=True, explain_count=1), now=at)
            outcomes.append(f"recorded {csat}")
        except SurveyAlreadyAnswered:
            outcomes.append("already answered")
        finally:
            connections.close_all()

    # when two submits race (each thread has its own connection and transaction)
    threads = [threading.Thread(target=submit, args=(csat,)) for csat in (1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then exactly one is recorded, the other is told it was already answered
    assert sorted(o.split()[0] for o in outcomes) == ["already", "recorded"], outcomes
    survey.refresh_from_db()
    winner = int(next(o for o in outcomes if o.startswith("recorded")).split()[1])
    assert survey.csat == winner
    assert TicketEvent.objects.filter(ticket=escalated_ticket, kind="survey", data__action="answered").count() == 1
