"""The text classifier beside the risk rules (escalations.risk_text) and how risk_detect uses it."""

import pytest

from escalations.risk import READS_LIKE, marked_words, risk_detect
from escalations.risk_text import SHIPPED_MESSAGES, TextModel, labelled_messages, model_for, text_reading


@pytest.mark.parametrize(
    ("text", "suggested"),
    [
        ("Hi, this is the 3rd time I'm writing about the sync.", "support_level"),
        ("We are moving to your competitor next month.", "managerial"),
        ("I'll dispute the charge with my bank.", "financial"),
    ],
)
def test_the_misses_named_in_the_issue_are_caught_with_a_type(text, suggested):
    reading = risk_detect(text)
    assert reading.signals and reading.suggested_type == suggested


@pytest.mark.parametrize(
    "text",
    [
        "Could you review my invoice from March?",
        "I am a manager at Acme Logistics and need two more logins.",
        "The tennis court booking page shows the wrong times.",
        "Please terminate the old user account, the contractor has left.",
        "We booked the tennis court for the team offsite, can you add it to the invoice?",
        "Our accounts manager will be on leave next week.",
        "Please cancel the duplicate ticket I opened by mistake.",
        "Can we switch to monthly billing?",
        "My card was charged two times for one order.",
        "I'd like to post a question on the community forum.",
        "I do not want to cancel, I just want the export to work.",
    ],
)
def test_ordinary_messages_with_trigger_words_are_not_flagged_by_rules_or_classifier(text):
    reading = risk_detect(text)
    assert reading.signals == [] and reading.score == 0 and reading.suggested_type == ""


def test_a_message_the_rules_miss_reads_like_an_escalation_with_its_words_and_a_type():
    # given a message in Spanish, which no rule reads ("it is the third time I write about the same problem")
    text = "Es la tercera vez que escribo por el mismo problema."
    assert risk_detect(text, text_model=False).signals == []
    # when the classifier reads it too
    reading = risk_detect(text)
    # then it is one more signal, explained by the words that weighed most, with the type the set suggests
    [signal] = reading.signals
    assert (signal.code, signal.label, signal.weight) == READS_LIKE
    assert signal.evidence and signal.evidence in text
    assert reading.suggested_type == "support_level"


def test_the_classifier_is_not_asked_when_a_rule_already_found_a_threat():
    codes = [signal.code for signal in risk_detect("I want to speak to a manager, this is the third time.").signals]
    assert codes == ["manager_request", "repeat_words"]


def test_too_short_a_message_is_left_to_the_rules():
    assert text_reading("Any news?").flagged is False  # type: ignore[union-attr]


def test_training_is_deterministic():
    rows = labelled_messages(SHIPPED_MESSAGES)
    probe = ["We will take our business elsewhere.", "Please send the invoice.", "Quiero hablar con un responsable."]
    assert TextModel(rows).probabilities(probe) == TextModel(rows).probabilities(probe)


def test_the_model_is_trained_once_per_training_file():
    assert model_for(SHIPPED_MESSAGES) is model_for(SHIPPED_MESSAGES)


def test_switched_off_or_without_its_file_the_rules_stand_alone(settings, tmp_path):
    text = "Es la tercera vez que escribo por el mismo problema."
    settings.ESCALATION_RISK_TEXT_MODEL = False
    assert text_reading(text) is None and risk_detect(text).signals == []
    settings.ESCALATION_RISK_TEXT_MODEL = True
    settings.ESCALATION_RISK_TEXT_MESSAGES = str(tmp_path / "missing.csv")
    assert text_reading(text) is None and risk_detect(text).signals == []


def test_the_fast_reading_gives_scikit_learns_own_numbers():
    # The model reads one message with plain arithmetic over its fitted weights; it must agree with scikit-learn.
    model = model_for(SHIPPED_MESSAGES)
    assert model is not None
    messages = ["Es la tercera vez que escribo.", "Could you review my invoice?", "We're done. Cancelling today!!"]
    marked = [marked_words(message) for message in messages]
    expected = model.flag.predict_proba(model.features.transform(marked))[:, 1]
    assert model.probabilities(messages) == pytest.approx(list(expected), abs=1e-9)
