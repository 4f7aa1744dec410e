"""The text part of the risk detector (rules + text classifier) measured on the labelled messages
(tests/data/risk_messages.csv): precision and recall of "needs an escalation or a manager". Run with ``-rP`` to see
the figures quoted in README.md (``python bench/risk_text_eval.py`` prints the same as JSON)."""

import collections

import pytest

from escalations.models import EscalationType
from escalations.risk import READS_LIKE, REPEATED_CONTACT, SHOUTING, SIGNALS
from escalations.risk_text import HELD_OUT, SHIPPED_MESSAGES, evaluate, labelled_messages

CODES = set(SIGNALS) | {SHOUTING[0], REPEATED_CONTACT[0], READS_LIKE[0]}


@pytest.fixture(scope="module")
def figures():
    return evaluate(labelled_messages(SHIPPED_MESSAGES))


def test_the_set_is_large_varied_and_labelled_with_known_signals_and_types():
    rows = labelled_messages(SHIPPED_MESSAGES)
    assert len(rows) >= 400
    notes = collections.Counter(row.note.split(",")[0] for row in rows)
    assert min(notes["Spanish"], notes["French"], notes["German"]) >= 5
    assert notes["negation"] >= 15 and notes["trigger word in a neutral sense"] >= 25 and notes["sarcasm"] >= 5
    assert {row.type for row in rows if row.type} <= set(EscalationType.values)
    assert not [row.message for row in rows if row.type and not row.escalate]
    assert sum(1 for row in rows if row.batch == HELD_OUT) >= 40


def test_rules_and_classifier_reach_085_precision_and_recall_in_cross_validation(figures):
    # given the labelled set less the held-out batch, scored by 5-fold cross-validation (the classifier never
    # scores a message it was trained on)
    cv = figures["cross_validation"]
    print(f"cross-validation: {cv}")
    # then the rules and the classifier together flag "needs an escalation or a manager" well enough both ways
    assert cv["combined"]["precision"] >= 0.85 and cv["combined"]["recall"] >= 0.85, cv["combined"]
    # and the classifier adds recall that the rules alone do not have
    assert cv["combined"]["recall"] > cv["rules"]["recall"]


def test_on_the_held_out_batch_the_flags_stay_precise(figures):
    held = figures["held_out"]
    print(f"held-out batch: {held}")
    assert held["combined"]["messages"] >= 40
    # Recall there is reported in README.md, not asserted: the batch was written last and nothing was tuned on it.
    assert held["combined"]["precision"] >= 0.85, held["combined"]
    assert held["combined"]["recall"] > held["rules"]["recall"]
