"""The escalation-risk detector: explainable rules and a lexicon, plus its wiring to incoming customer messages."""

import pytest

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
