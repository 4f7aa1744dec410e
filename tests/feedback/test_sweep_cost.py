"""The beat sweeps cost what is due, not what exists: an idle sweep runs a fixed number of queries however many
surveys and resolved tickets there are, and a busy one a fixed number per survey sent."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feedback.models import Survey
from feedback.services import checkins_create_due, surveys_send_due
from helpdesk.models import Status
from helpdesk.services import ticket_change_status


def resolved_tickets(make_ticket, customer, agent, count):
    tickets = [make_ticket(customer, subject=f"Question {n}") for n in range(count)]
    for ticket in tickets:
        ticket_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
    return tickets


def queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_idle_sweeps_cost_the_same_for_few_and_many_rows(customer, agent, make_ticket, settings):
    settings.FEEDBACK_SURVEY_SAMPLE_RATE = 1
    now = timezone.now()
    resolved_tickets(make_ticket, customer, agent, 3)
    few = (queries(lambda: surveys_send_due(now=now)), queries(lambda: checkins_create_due(now=now)))
    resolved_tickets(make_ticket, customer, agent, 30)
    many = (queries(lambda: surveys_send_due(now=now)), queries(lambda: checkins_create_due(now=now)))
    assert Survey.objects.count() == 33
    assert few == many
    assert many[0] <= 6  # savepoints/transactions + the two claiming SELECTs


def test_a_busy_sweep_costs_a_fixed_number_of_queries_per_survey(customer, agent, make_ticket, settings):
    settings.FEEDBACK_SURVEY_SAMPLE_RATE = 1
    resolved_tickets(make_ticket, customer, agent, 3)
    at = timezone.now() + timedelta(hours=3)
    three = queries(lambda: surveys_send_due(now=at))
    resolved_tickets(make_ticket, customer, agent, 6)
    six = queries(lambda: surveys_send_due(now=at + timedelta(hours=3)))
    assert Survey.objects.filter(sent_at__isnull=False).count() == 9
    per_survey = (six - three) / 3
    assert per_survey == int(per_survey)
    assert (six - 6 * per_survey) == (three - 3 * per_survey)  # same fixed overhead
    print(f"surveys_send_due: {three} queries for 3 surveys, {six} for 6 ({per_survey:.0f} per survey sent)")
