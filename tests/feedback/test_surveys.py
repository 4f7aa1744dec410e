"""Surveys: scheduling after resolution, sampling, the beat sweep with one reminder, the signed single-use link,
every abuse case, and the low-score follow-up."""

from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from feedback.models import FollowUpTask, Survey
from feedback.selectors import (
    SURVEY_TOKEN_SALT,
    SurveyAlreadyAnswered,
    SurveyExpired,
    SurveyLinkInvalid,
    survey_from_token,
    survey_token_make,
    survey_token_read,
)
from feedback.services import SurveyAnswers, survey_is_sampled, survey_submit, surveys_send_due
from helpdesk.models import Notification, NotificationChannel, Status, TicketEvent
from helpdesk.services import ticket_change_status, ticket_reply

GOOD = SurveyAnswers(csat=4, fixed=True, explain_count=1, nps=9, comment="Quick and friendly.")


@pytest.fixture
def sent_survey(escalated_ticket, resolve):
    """An escalated ticket resolved at T, and its survey sent by the sweep at T + 3 h. Returns (survey, T + 3 h)."""
    resolved_at = timezone.now()
    with time_machine.travel(resolved_at, tick=False):
        resolve(escalated_ticket)
    at = resolved_at + timedelta(hours=3)
    surveys_send_due(now=at)
    return Survey.objects.get(ticket=escalated_ticket), at


def survey_emails(ticket):
    return Notification.objects.filter(ticket=ticket, channel=NotificationChannel.EMAIL, kind__startswith="survey")


def unchanged(survey) -> tuple:
    fresh = Survey.objects.get(pk=survey.pk)
    return (fresh.answered_at, fresh.csat, fresh.fixed, fresh.explain_count, fresh.nps, fresh.comment)


# --- scheduling and sending --------------------------------------------------------------------------------------


def test_resolving_an_escalated_ticket_schedules_the_survey_after_the_delay(escalated_ticket, resolve, settings):
    settings.FEEDBACK_SURVEY_DELAY_MINUTES = 120
    resolved_at = timezone.now().replace(microsecond=0)
    with time_machine.travel(resolved_at, tick=False):
        resolve(escalated_ticket)
    survey = Survey.objects.get(ticket=escalated_ticket)
    assert survey.is_escalated and survey.escalation == escalated_ticket.escalations.get()
    assert survey.send_at == resolved_at + timedelta(minutes=120)
    # the sweep before the moment sends nothing
    assert surveys_send_due(now=resolved_at + timedelta(minutes=119)) == {"sent": 0, "reminded": 0, "held": 0}
    assert not survey_emails(escalated_ticket).exists()


def test_the_sweep_sends_once_with_a_signed_link_on_site_url(escalated_ticket, resolve, customer, settings):
    resolved_at = timezone.now()
    with time_machine.travel(resolved_at, tick=False):
        resolve(escalated_ticket)
    at = resolved_at + timedelta(hours=2, seconds=1)
    # when the sweep runs twice at the due moment
    assert surveys_send_due(now=at)["sent"] == 1
    assert surveys_send_due(now=at)["sent"] == 0
    # then one email went to the customer, with a link that opens this survey and expires in 14 days
    email = survey_emails(escalated_ticket).get()
    assert email.recipient == customer and email.subject == f"[{escalated_ticket.reference}] How did we do?"
    token = email.url.removeprefix("/survey/").rstrip("/")
    survey = Survey.objects.get(ticket=escalated_ticket)
    assert survey_from_token(token=token, now=at) == survey
    assert (survey.sent_at, survey.expires_at) == (at, at + timedelta(days=settings.FEEDBACK_SURVEY_EXPIRY_DAYS))
    assert TicketEvent.objects.filter(ticket=escalated_ticket, kind="survey", data__action="sent").count() == 1


def test_a_reopened_ticket_holds_its_survey_until_resolved_again(escalated_ticket, resolve, specialist, customer):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        resolve(escalated_ticket)
    # when the customer replies within the delay (which reopens the ticket)
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        ticket_reply(ticket=escalated_ticket, author=customer, body="It broke again.")
    # then nothing is sent at the original moment
    assert surveys_send_due(now=start + timedelta(hours=3))["sent"] == 0
    assert Survey.objects.get(ticket=escalated_ticket).send_at is None
    # when it is resolved again, the survey is due two hours after that
    again = start + timedelta(hours=4)
    with time_machine.travel(again, tick=False):
        escalated_ticket.refresh_from_db()
        ticket_reply(ticket=escalated_ticket, author=specialist, body="Fixed for good now.")
        ticket_change_status(ticket=escalated_ticket, actor=specialist, status=Status.RESOLVED)
    assert Survey.objects.filter(ticket=escalated_ticket).count() == 1
    assert surveys_send_due(now=again + timedelta(hours=2, seconds=1))["sent"] == 1


# --- sampling --------------------------------------------------------------------------------------------------


def test_sampling_is_a_stable_hash_of_the_ticket(settings):
    ids = range(1, 20001)
    chosen = [i for i in ids if survey_is_sampled(ticket_id=i, rate=0.25)]
    # deterministic, and close to the rate
    assert chosen == [i for i in ids if survey_is_sampled(ticket_id=i, rate=0.25)]
    assert 0.24 < len(chosen) / len(ids) < 0.26
    # a higher rate keeps every ticket the lower rate chose (the sample only grows)
    assert set(chosen) <= {i for i in ids if survey_is_sampled(ticket_id=i, rate=0.5)}
    assert not any(survey_is_sampled(ticket_id=i, rate=0) for i in range(1, 500))
    assert all(survey_is_sampled(ticket_id=i, rate=1) for i in range(1, 500))


def test_non_escalated_tickets_are_surveyed_exactly_when_sampled(customer, agent, make_ticket, settings):
    settings.FEEDBACK_SURVEY_SAMPLE_RATE = 0.5
    tickets = [make_ticket(customer, subject=f"Question {n}") for n in range(12)]
    for ticket in tickets:
        ticket_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
    expected = {t.pk for t in tickets if survey_is_sampled(ticket_id=t.pk, rate=0.5)}
    surveyed = set(Survey.objects.values_list("ticket_id", flat=True))
    assert surveyed == expected
    assert 0 < len(expected) < 12  # the sample is neither nothing nor everything for these ids
    assert not Survey.objects.filter(is_escalated=True).exists()


def test_sample_rate_zero_surveys_no_plain_ticket_but_every_escalated_one(
    customer, agent, make_ticket, escalated_ticket, resolve, settings
):
    settings.FEEDBACK_SURVEY_SAMPLE_RATE = 0
    plain = make_ticket(customer, subject="Plain")
    ticket_change_status(ticket=plain, actor=agent, status=Status.RESOLVED)
    resolve(escalated_ticket)
    assert list(Survey.objects.values_list("ticket_id", flat=True)) == [escalated_ticket.pk]


# --- reminders -------------------------------------------------------------------------------------------------


def test_one_reminder_after_the_reminder_delay_if_unanswered(sent_survey, settings):
    survey, sent_at = sent_survey
    settings.FEEDBACK_SURVEY_REMINDER_HOURS = 48
    assert surveys_send_due(now=sent_at + timedelta(hours=47))["reminded"] == 0
    assert surveys_send_due(now=sent_at + timedelta(hours=48))["reminded"] == 1
    assert surveys_send_due(now=sent_at + timedelta(hours=49))["reminded"] == 0
    assert surveys_send_due(now=sent_at + timedelta(days=5))["reminded"] == 0
    reminder = survey_emails(survey.ticket).filter(kind="survey_reminder").get()
    assert reminder.subject.endswith("Reminder: How did we do?")
    # the reminder's link opens the same survey
    token = reminder.url.removeprefix("/survey/").rstrip("/")
    assert survey_from_token(token=token, now=sent_at + timedelta(hours=48)) == survey


def test_no_reminder_once_answered_or_expired(sent_survey, settings):
    survey, sent_at = sent_survey
    survey_submit(token=survey_token_make(survey=survey), answers=GOOD, now=sent_at + timedelta(hours=1))
    assert surveys_send_due(now=sent_at + timedelta(hours=50))["reminded"] == 0
    settings.FEEDBACK_SURVEY_REMINDER_HOURS = 24 * 30  # after expiry
    Survey.objects.filter(pk=survey.pk).update(answered_at=None)
    assert surveys_send_due(now=sent_at + timedelta(days=31))["reminded"] == 0


# --- answering and every abuse case ------------------------------------------------------------------------------


def test_valid_answers_are_recorded_with_a_staff_only_event(sent_survey, agent, customer, client, login):
    survey, at = sent_survey
    survey_submit(token=survey_token_make(survey=survey), answers=GOOD, now=at + timedelta(minutes=5))
    survey.refresh_from_db()
    assert (survey.csat, survey.fixed, survey.explain_count, survey.nps, survey.comment) == (
        4,
        True,
        1,
        9,
        "Quick and friendly.",
    )
    event = TicketEvent.objects.get(ticket=survey.ticket, kind="survey", data__action="answered")
    assert not event.is_public
    assert event.body == "Survey answered: CSAT 4/5 · fixed: yes · explained 1 time · NPS 9/10\n“Quick and friendly.”"
    assert not FollowUpTask.objects.exists()  # a good score opens nothing
    # staff see the scores on the ticket; the customer does not
    login(agent)
    html = client.get(f"/tickets/{survey.ticket.reference}/").content.decode()
    assert "Customer feedback" in html and "4/5" in html and "Survey answered: CSAT 4/5" in html
    client.logout()
    login(customer)
    assert "CSAT" not in client.get(f"/tickets/{survey.ticket.reference}/").content.decode()


def test_submitting_twice_records_the_first_answer_only(sent_survey):
    survey, at = sent_survey
    token = survey_token_make(survey=survey)
    survey_submit(token=token, answers=GOOD, now=at)
    before = unchanged(survey)
    with pytest.raises(SurveyAlreadyAnswered):
        survey_submit(token=token, answers=SurveyAnswers(csat=1, fixed=False, explain_count=5), now=at)
    assert unchanged(survey) == before
    assert TicketEvent.objects.filter(ticket=survey.ticket, data__action="answered").count() == 1


def test_after_expiry_nothing_is_recorded(sent_survey, settings):
    survey, at = sent_survey
    expired = at + timedelta(days=settings.FEEDBACK_SURVEY_EXPIRY_DAYS)
    before = unchanged(survey)
    with pytest.raises(SurveyExpired):
        survey_submit(token=survey_token_make(survey=survey), answers=GOOD, now=expired)
    assert unchanged(survey) == before
    # one second earlier it still works
    survey_submit(token=survey_token_make(survey=survey), answers=GOOD, now=expired - timedelta(seconds=1))


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"), id="altered-signature"),
        pytest.param(lambda token: "x" + token, id="altered-payload"),
        pytest.param(lambda token: "", id="empty"),
        pytest.param(lambda token: signing.dumps({"s": 1, "n": "guess"}, salt="other.salt"), id="other-salt"),
    ],
)
def test_a_tampered_token_is_refused(sent_survey, mangle):
    survey, at = sent_survey
    before = unchanged(survey)
    with pytest.raises(SurveyLinkInvalid):
        survey_submit(token=mangle(survey_token_make(survey=survey)), answers=GOOD, now=at)
    assert unchanged(survey) == before


def test_a_correctly_signed_token_with_the_wrong_nonce_is_refused(sent_survey):
    survey, at = sent_survey
    forged = signing.dumps({"s": survey.pk, "n": "not-the-nonce"}, salt=SURVEY_TOKEN_SALT)
    with pytest.raises(SurveyLinkInvalid):
        survey_submit(token=forged, answers=GOOD, now=at)
    assert unchanged(survey)[0] is None


def test_a_token_round_trips_and_carries_no_secret_but_the_nonce(sent_survey):
    survey, _ = sent_survey
    token = survey_token_make(survey=survey)
    assert survey_token_read(token) == (survey.pk, survey.nonce)
    assert ":" in token  # payload:timestamp:signature


def test_an_unsent_survey_cannot_be_answered(escalated_ticket, resolve):
    resolve(escalated_ticket)
    survey = Survey.objects.get(ticket=escalated_ticket)
    with pytest.raises(SurveyLinkInvalid):
        survey_submit(token=survey_token_make(survey=survey), answers=GOOD)


@pytest.mark.parametrize(
    ("answers", "errors"),
    [
        (
            SurveyAnswers(csat=6, fixed=True, explain_count=1),
            {"csat": ["Choose a score from 1 (very unhappy) to 5 (very happy)."]},
        ),
        (
            SurveyAnswers(csat=0, fixed=True, explain_count=1),
            {"csat": ["Choose a score from 1 (very unhappy) to 5 (very happy)."]},
        ),
        (
            SurveyAnswers(csat=3, fixed=True, explain_count=0),
            {"explain_count": ["Enter how many times you explained the problem, from 1 to 20."]},
        ),
        (
            SurveyAnswers(csat=3, fixed=True, explain_count=1, nps=11),
            {"nps": ["Choose a score from 0 to 10, or leave it blank."]},
        ),
        (
            SurveyAnswers(csat=3, fixed="maybe", explain_count=1),
            {"fixed": ["Tell us whether the problem was fixed: yes or no."]},
        ),
    ],
)
def test_out_of_range_values_change_nothing(sent_survey, answers, errors):
    survey, at = sent_survey
    with pytest.raises(ValidationError) as caught:
        survey_submit(token=survey_token_make(survey=survey), answers=answers, now=at)
    assert caught.value.message_dict == errors
    assert unchanged(survey) == (None, None, None, None, None, "")


# --- the page --------------------------------------------------------------------------------------------------


def test_the_page_needs_no_login_and_submits_once(sent_survey):
    survey, _ = sent_survey
    url = f"/survey/{survey_token_make(survey=survey)}/"
    browser = Client(enforce_csrf_checks=True)
    # GET shows the form (no login)
    page = browser.get(url)
    assert page.status_code == 200 and "How did we do?" in page.content.decode()
    csrf = page.cookies["csrftoken"].value
    form = {"csrfmiddlewaretoken": csrf, "csat": "2", "fixed": "no", "explain_count": "3", "nps": "", "comment": ""}
    # POST records it and thanks the customer
    done = browser.post(url, form)
    assert done.status_code == 200 and "Thank you for your answers" in done.content.decode()
    # a second POST and a later GET both say it was already answered
    again = browser.post(url, {**form, "csat": "5"})
    assert again.status_code == 409 and "You have already answered" in again.content.decode()
    assert browser.get(url).status_code == 409
    survey.refresh_from_db()
    assert (survey.csat, survey.fixed, survey.explain_count, survey.nps) == (2, False, 3, None)


def test_the_page_refuses_a_post_without_csrf(sent_survey):
    survey, _ = sent_survey
    response = Client(enforce_csrf_checks=True).post(
        f"/survey/{survey_token_make(survey=survey)}/", {"csat": "5", "fixed": "yes", "explain_count": "1"}
    )
    assert response.status_code == 403
    assert unchanged(survey)[0] is None


def test_the_page_explains_tampered_and_expired_links(sent_survey, settings):
    survey, _ = sent_survey
    client = Client()
    tampered = client.get(f"/survey/{survey_token_make(survey=survey)}x/")
    assert tampered.status_code == 400 and "This link does not work" in tampered.content.decode()
    Survey.objects.filter(pk=survey.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = client.post(
        f"/survey/{survey_token_make(survey=survey)}/", {"csat": "5", "fixed": "yes", "explain_count": "1"}
    )
    assert expired.status_code == 410 and "This survey has closed" in expired.content.decode()
    assert unchanged(survey)[0] is None


def test_the_page_shows_out_of_range_errors_next_to_the_questions(sent_survey):
    survey, _ = sent_survey
    response = Client().post(
        f"/survey/{survey_token_make(survey=survey)}/", {"csat": "9", "fixed": "yes", "explain_count": "0", "nps": "12"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Choose a score from 1 (very unhappy) to 5 (very happy)." in html
    assert "Enter how many times you explained the problem, from 1 to 20." in html
    assert "Choose a score from 0 to 10, or leave it blank." in html
    assert unchanged(survey)[0] is None


# --- low score ---------------------------------------------------------------------------------------------------


def test_a_low_score_opens_a_follow_up_for_the_team_lead(sent_survey, agent, settings):
    survey, at = sent_survey
    settings.FEEDBACK_LOW_CSAT_FOLLOW_UP_HOURS = 24
    # when the customer gives 2/5
    survey_submit(
        token=survey_token_make(survey=survey),
        answers=SurveyAnswers(csat=2, fixed=False, explain_count=4, comment="Had to repeat myself."),
        now=at,
    )
    # then the lead of the ticket's team (Frontline: agent is lead) has a call-back task, due in a day
    task = FollowUpTask.objects.get()
    assert (task.kind, task.owner, task.survey, task.due_at) == ("low_csat", agent, survey, at + timedelta(hours=24))
    assert Notification.objects.filter(recipient=agent, kind="follow_up_low_csat").exists()
    event = TicketEvent.objects.filter(ticket=survey.ticket, kind="follow_up", data__action="task_created").get()
    assert event.body.startswith("Low satisfaction call-back task for Alex Morgan, due")


def test_a_score_of_three_opens_no_follow_up(sent_survey):
    survey, at = sent_survey
    survey_submit(token=survey_token_make(survey=survey), answers=SurveyAnswers(3, True, 1), now=at)
    assert not FollowUpTask.objects.exists()


def test_escalated_and_sampled_surveys_can_be_compared(sent_survey, customer, agent, manager, make_ticket, settings):
    from feedback.selectors import survey_comparison

    survey, at = sent_survey
    survey_submit(token=survey_token_make(survey=survey), answers=SurveyAnswers(2, False, 4, nps=3), now=at)
    settings.FEEDBACK_SURVEY_SAMPLE_RATE = 1
    plain = make_ticket(customer, subject="Plain question")
    ticket_change_status(ticket=plain, actor=agent, status=Status.RESOLVED)
    surveys_send_due(now=at + timedelta(hours=3))
    plain_survey = Survey.objects.get(ticket=plain)
    survey_submit(token=survey_token_make(survey=plain_survey), answers=SurveyAnswers(5, True, 1, nps=10), now=at)
    rows = {row.label: row for row in survey_comparison(user=manager)}
    escalated, sampled = rows["Escalated"], rows["Not escalated (sample)"]
    assert (escalated.answered, escalated.avg_csat, escalated.fixed_rate, escalated.avg_explain_count) == (1, 2, 0, 4)
    assert (sampled.answered, sampled.avg_csat, sampled.fixed_rate, sampled.avg_nps) == (1, 5, 1, 10)


def test_feedback_beat_entries_name_registered_tasks(db):
    from django.conf import settings as django_settings

    from helpdesk.celery import app

    entries = {k: v for k, v in django_settings.CELERY_BEAT_SCHEDULE.items() if k.startswith("feedback-")}
    assert {v["task"] for v in entries.values()} == {
        "feedback.tasks.send_due_surveys_task",
        "feedback.tasks.create_due_checkins_task",
    }
    app.loader.import_default_modules()
    assert all(v["task"] in app.tasks for v in entries.values())
