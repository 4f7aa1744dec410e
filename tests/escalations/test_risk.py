"""The escalation-risk detector: explainable rules and a lexicon, plus its wiring to incoming customer messages."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from escalations.models import RiskAssessment
from escalations.risk import risk_detect
from helpdesk.services import ticket_reply


@pytest.mark.parametrize(
    ("text", "code", "evidence"),
    [
        ("I want to speak to a manager now.", "manager_request", "speak to a manager"),
        ("We will cancel our contract if this goes on.", "cancel", "cancel our contract"),
        ("Our lawyer will be in touch.", "legal", "lawyer"),
        ("I'll post about this on Twitter.", "social_media", "post about"),
        ("This is unacceptable.", "negative_tone", "unacceptable"),
        ("This is the third time I write.", "repeat_words", "third time"),
        ("WHY IS THIS STILL BROKEN", "shouting", "WHY THIS STILL BROKEN"),
    ],
)
def test_each_signal_is_found_with_its_evidence(text, code, evidence):
    reading = risk_detect(text)
    found = {signal.code: signal.evidence for signal in reading.signals}
    assert found[code].lower() == evidence.lower()


def test_a_calm_message_has_no_signals():
    reading = risk_detect("Thanks, could you send the invoice again please?")
    assert reading.signals == [] and reading.score == 0 and reading.suggested_type == ""


def test_words_inside_other_words_do_not_match():
    # "sue" in "issue", "court" in "courteous", "review" in "reviewed" by whole-word matching only where it matters
    reading = risk_detect("Thanks for the courteous reply about the issue.")
    assert reading.signals == []


def test_repeated_contacts_are_a_signal():
    reading = risk_detect("Any update?", recent_customer_messages=3)
    assert [(s.code, s.evidence) for s in reading.signals] == [("repeated_contact", "3 messages in 7 days")]
    assert reading.suggested_type == "support_level"


@pytest.mark.parametrize(
    ("text", "suggested"),
    [
        ("Our solicitor says this breaches GDPR.", "compliance"),
        ("You charged us twice, this is ridiculous, refund it.", "financial"),
        ("I want your supervisor.", "managerial"),
        ("Everything is down for the whole team, this is a joke, get me a manager.", "emergency"),
    ],
)
def test_the_suggested_type(text, suggested):
    assert risk_detect(text).suggested_type == suggested


def test_the_score_adds_weights_and_caps_at_100():
    reading = risk_detect(
        "Unacceptable!!! Third time. I want a manager, my lawyer is ready, I will cancel my account and tell everyone."
    )
    assert reading.score == 100


def test_every_incoming_customer_message_is_assessed(config, customer, agent, make_ticket):
    # given a ticket with a calm opening
    ticket = make_ticket(customer, description="The export fails.", category="outage")
    assessment = RiskAssessment.objects.get(ticket=ticket)
    assert assessment.score == 0 and assessment.messages_assessed == 1
    # when the customer writes angrily, and an agent replies with the same words
    ticket_reply(ticket=ticket, author=customer, body="This is unacceptable. I want to speak to a manager.")
    ticket_reply(ticket=ticket, author=agent, body="I understand; a manager is unacceptable to wait for.")
    # then only the customer's message was assessed, its signals stored, and a risk event written for staff
    assessment.refresh_from_db()
    assert assessment.messages_assessed == 2
    assert {s["code"] for s in assessment.signals} == {"negative_tone", "manager_request"}
    assert assessment.score == 45 and assessment.level == "medium" and assessment.suggested_type == "managerial"
    risk_event = ticket.events.get(kind="risk")
    assert not risk_event.is_public
    assert risk_event.body == "Escalation risk medium (45): Asks for a manager, Strongly negative tone."


# --- One test per defect: trigger words out of context, negation, missed phrasings, slips, decay ----------------------


def _codes(text: str) -> set[str]:
    return {signal.code for signal in risk_detect(text).signals}


def test_reviewing_an_invoice_is_not_a_public_review_threat():
    assert _codes("Could you review my invoice from March? The VAT looks off.") == set()
    assert _codes("Expect a one star review on Trustpilot.") == {"social_media"}


def test_saying_you_are_a_manager_is_not_asking_for_one():
    assert _codes("I am a manager at Acme and I need an export of our users.") == set()
    assert _codes("Can you give the manager role to Priya?") == set()
    assert _codes("I am a manager at Acme and I want to speak to your manager.") == {"manager_request"}


def test_a_tennis_or_food_court_is_not_legal():
    for text in ("The tennis court booking page shows the wrong times.", "Our food court kiosk can't print receipts."):
        reading = risk_detect(text)
        assert reading.signals == [] and reading.suggested_type == ""
    assert _codes("See you in court.") == {"legal"}


def test_terminating_an_old_user_account_is_not_a_cancellation():
    assert _codes("Please terminate the old user account for j.smith, he left the company.") == set()
    assert _codes("Terminate our contract effective immediately.") == {"cancel"}


@pytest.mark.parametrize(
    "text",
    [
        "I do not want to cancel, I just need the invoice fixed.",
        "No need for a manager, the agent was great.",
        "We're not going to sue, we just want it fixed.",
        "I'm not angry, just confused about the new layout.",
    ],
)
def test_a_negated_threat_is_not_a_signal(text):
    assert _codes(text) == set()


def test_a_negation_in_another_clause_does_not_cancel_the_threat():
    assert _codes("If you don't fix this by Friday I'll cancel.") == {"cancel"}
    assert _codes("Why can't I speak to a manager?") == {"manager_request"}


@pytest.mark.parametrize(
    "text", ["This is the 3rd time I ask.", "Third time asking.", "For the fourth time: the export is broken."]
)
def test_saying_it_is_the_nth_time_is_a_repeat(text):
    assert "repeat_words" in _codes(text)


@pytest.mark.parametrize(
    ("text", "evidence"),
    [
        ("We are moving to your competitor next quarter.", "moving to your competitor"),
        ("We're switching to Freshdesk, they actually answer.", "switching to Freshdesk"),
    ],
)
def test_moving_to_a_competitor_is_a_cancellation_threat(text, evidence):
    assert [(s.code, s.evidence) for s in risk_detect(text).signals] == [("cancel", evidence)]


def test_switching_to_a_browser_or_a_plan_is_not_leaving():
    assert _codes("After switching to Chrome the upload works.") == set()
    assert _codes("We are switching to the new billing plan next month.") == set()


@pytest.mark.parametrize(
    ("text", "evidence"),
    [("I'll dispute the charge with my bank.", "dispute the charge"), ("I've raised a chargeback.", "chargeback")],
)
def test_a_payment_dispute_is_a_signal_that_suggests_a_financial_escalation(text, evidence):
    reading = risk_detect(text)
    assert [(s.code, s.evidence) for s in reading.signals] == [("payment_dispute", evidence)]
    assert reading.suggested_type == "financial"


def test_reporting_to_the_ombudsman_is_legal():
    reading = risk_detect("I will report you to the ombudsman.")
    assert [s.code for s in reading.signals] == ["legal"] and reading.suggested_type == "compliance"


@pytest.mark.parametrize(
    ("text", "code", "evidence"),
    [
        ("I want to speak to a manger.", "manager_request", "speak to a manger"),
        ("Please cancle my subscription.", "cancel", "cancle my subscription"),
        ("My lawer will be in touch.", "legal", "lawer"),
    ],
)
def test_a_one_letter_slip_still_counts_and_the_evidence_shows_it(text, code, evidence):
    assert [(s.code, s.evidence) for s in risk_detect(text).signals] == [(code, evidence)]


def test_real_words_one_letter_from_a_trigger_are_not_slips():
    assert _codes("I managed to log in, but the network layer drops packets; I am curious why.") == set()


def test_a_thankful_triple_exclamation_is_not_shouting():
    assert _codes("Thank you so much!!!") == set()
    assert _codes("Fix it now!!!") == {"shouting"}


def test_risk_fades_over_a_calm_week(config, customer, make_ticket):
    # given an angry message on a calm ticket
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ticket = make_ticket(customer, description="The export fails.", category="outage")
        ticket_reply(ticket=ticket, author=customer, body="This is unacceptable. I want to speak to a manager.")
    assessment = RiskAssessment.objects.get(ticket=ticket)
    assert assessment.score == 45 and assessment.level == "medium"
    # when the customer writes calmly a week later (three-day half-life: 45 x 0.5^(169/72) = 8.8)
    with time_machine.travel(start + timedelta(days=7, hours=1), tick=False):
        ticket_reply(ticket=ticket, author=customer, body="Thanks, any news on the export?")
    # then the same signals are listed, weighing less
    assessment.refresh_from_db()
    assert {s["code"] for s in assessment.signals} == {"manager_request", "negative_tone"}
    assert assessment.score == 9 and assessment.level == "low" and assessment.suggested_type == "managerial"
    # and after three calm weeks they have faded out altogether
    with time_machine.travel(start + timedelta(days=21), tick=False):
        ticket_reply(ticket=ticket, author=customer, body="All good now, thank you.")
    assessment.refresh_from_db()
    assert assessment.signals == [] and assessment.score == 0 and assessment.suggested_type == ""


def test_a_new_occurrence_of_a_signal_counts_in_full_again(config, customer, make_ticket):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ticket = make_ticket(customer, description="This is unacceptable.", category="outage")
    with time_machine.travel(start + timedelta(days=8), tick=False):
        ticket_reply(ticket=ticket, author=customer, body="Still unacceptable.")
    assessment = RiskAssessment.objects.get(ticket=ticket)
    assert [(s["code"], s["evidence"]) for s in assessment.signals] == [("negative_tone", "unacceptable")]
    assert assessment.score == 15


def test_the_half_life_is_a_setting_and_zero_turns_the_decay_off(settings, config, customer, make_ticket):
    settings.ESCALATION_RISK_HALF_LIFE_DAYS = 0
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ticket = make_ticket(customer, description="Our lawyer will be in touch.", category="outage")
    with time_machine.travel(start + timedelta(days=30), tick=False):
        ticket_reply(ticket=ticket, author=customer, body="Any news?")
    assessment = RiskAssessment.objects.get(ticket=ticket)
    assert [s["code"] for s in assessment.signals] == ["legal"] and assessment.score == 35


def test_a_quiet_ticket_fades_on_screen_too(client, login, config, customer, agent, make_ticket):
    # given an angry message, and then silence from the customer
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ticket = make_ticket(customer, description="The export fails.", category="outage")
        ticket_reply(ticket=ticket, author=customer, body="This is unacceptable. I want to speak to a manager.")
    stored = RiskAssessment.objects.get(ticket=ticket)
    url = f"/tickets/{ticket.reference}/"

    def page() -> str:
        login(agent)  # a staff session ends after hours, so sign in at each moment
        response = client.get(url)
        assert response.status_code == 200
        return response.content.decode()

    # when the agent opens the ticket the same day, a week later and three weeks later
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        same_day = page()
    with time_machine.travel(start + timedelta(days=7, hours=1), tick=False):
        week = stored.as_of(timezone.now())
        week_page = page()
    with time_machine.travel(start + timedelta(days=21), tick=False):
        gone = stored.as_of(timezone.now())
        later = page()
    # then the panel reads the same decay as the next message would (45 -> 9 -> nothing), with nothing saved
    assert "Medium · 45" in same_day
    assert (week.score, week.level) == (9, "low") and "Low · 9" in week_page
    assert gone.signals == [] and gone.score == 0 and 'id="risk-h"' not in later
    stored.refresh_from_db()
    assert stored.score == 45


def test_an_automatic_dossier_reads_the_mood_as_of_now(config, customer, make_ticket):
    from escalations.hops.automatic import moods_from_risk

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ticket = make_ticket(customer, description="Our lawyer will be in touch.", category="outage")
    assert moods_from_risk([ticket.pk], now=start) == {ticket.pk: "angry"}
    assert moods_from_risk([ticket.pk], now=start + timedelta(days=30)) == {}
