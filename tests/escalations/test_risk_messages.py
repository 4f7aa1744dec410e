"""The risk rules measured on labelled messages (tests/data/risk_messages.csv): precision and recall of "any
escalation signal". Run with ``-rP`` to see the figures quoted in README.md."""

import csv
from pathlib import Path

from escalations.risk import REPEATED_CONTACT, SHOUTING, SIGNALS, risk_detect

MESSAGES = Path(__file__).resolve().parent.parent / "data" / "risk_messages.csv"
CODES = set(SIGNALS) | {SHOUTING[0], REPEATED_CONTACT[0]}


def _labelled() -> list[tuple[str, set[str]]]:
    with MESSAGES.open(encoding="utf-8", newline="") as handle:
        return [(row["message"], set(row["expected"].split())) for row in csv.DictReader(handle)]


def test_the_labels_name_known_signals_only():
    unknown = {code for _, expected in _labelled() for code in expected} - CODES
    assert unknown == set()


def test_any_escalation_signal_has_precision_and_recall_of_at_least_085():
    # given at least 150 labelled messages
    labelled = _labelled()
    assert len(labelled) >= 150
    # when each is read on its own
    outcomes = [(bool(expected), bool(risk_detect(message).signals)) for message, expected in labelled]
    # then flagging "any signal" is right often enough both ways
    true_pos = sum(1 for expected, found in outcomes if expected and found)
    false_pos = sum(1 for expected, found in outcomes if found and not expected)
    false_neg = sum(1 for expected, found in outcomes if expected and not found)
    precision = true_pos / (true_pos + false_pos)
    recall = true_pos / (true_pos + false_neg)
    print(
        f"{len(labelled)} messages: precision {precision:.3f}, recall {recall:.3f} "
        f"({true_pos} right, {false_pos} false alarms, {false_neg} missed)"
    )
    assert precision >= 0.85 and recall >= 0.85, (precision, recall)
