"""Does a customer message read like an escalation? A text classifier trained on the labelled messages the product
ships (``tests/data/risk_messages.csv``), used by ``escalations.risk.risk_detect`` as one more signal beside the rules.

Why a classifier as well as rules: the rules are explainable hard signals, but word lists only know the phrasings
their authors thought of (measured on a batch written after them they caught 35 % of the escalations). A linear model
over word and character n-grams generalises to new phrasings, slips ("cancle", "manger") and the other languages in
the set, and it is still explainable: the words whose features weigh most towards "escalation" are its evidence.

How it is built, and why these choices:

- scikit-learn (maintained, pure-wheel, the standard for this): TF-IDF over word 1-2-grams of the negation-marked
  text (``escalations.risk.marked_words``: "do not want to cancel" reads "not_want not_to not_cancel", so a negated
  threat is a different feature from the threat) plus TF-IDF over character 2-5-grams within words (slips, inflections
  and other languages share pieces of words), then a logistic regression with balanced class weights.
- Trained on first use in each process from the shipped CSV (about a second on 400+ messages) and kept in memory; no
  download, no pickle on disk (a pickle is code, and retraining is cheap), and deterministic: the same file gives the
  same model (liblinear with a fixed ``random_state``).
- A second logistic regression over the same features, trained on the escalations only, suggests the escalation type
  ("Es la tercera vez..." -> support level) for messages the rules give no type.
- Scoring one message is well under a millisecond, its explanation (the weights of the words it contains) too.

``text_reading`` returns None when the classifier is switched off (``ESCALATION_RISK_TEXT_MODEL = False``) or its
training file is missing; the rules then stand alone.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
import threading
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from escalations.risk import marked_tokens, marked_words

SHIPPED_MESSAGES = Path(__file__).resolve().parent.parent / "tests" / "data" / "risk_messages.csv"
# A message is flagged when the model gives it at least this probability of needing an escalation or a manager:
# chosen on the cross-validation (precision and recall both clear of 0.85), then checked on the held-out batch.
THRESHOLD = 0.65
SEED = 0
# Below this many words there is too little text for the classifier ("Any news?", "ok"); the rules still read it.
MIN_WORDS = 4
# The batch written last, after the classifier and its threshold were fixed: never used to tune anything.
HELD_OUT = "held-out batch"
# A word for the word n-grams: ``marked_words`` has already cut the text, and "," and "." are its pauses.
_WORD = r"[^\s,.]+"
# Function words of the other languages in the set, never evidence on their own.
_OTHER_STOP_WORDS = frozenset(
    (
        "es",
        "la",
        "el",
        "los",
        "las",
        "de",
        "del",
        "que",
        "y",
        "en",
        "un",
        "una",
        "por",
        "con",
        "para",
        "lo",
        "se",
        "su",
        "al",
        "le",
        "les",
        "des",
        "du",
        "est",
        "et",
        "une",
        "pour",
        "pas",
        "je",
        "nous",
        "vous",
        "il",
        "c'est",
        "der",
        "die",
        "das",
        "ist",
        "und",
        "ich",
        "wir",
        "sie",
        "ein",
        "eine",
        "einem",
        "einer",
        "den",
        "dem",
        "mit",
        "nicht",
        "zu",
    )
)


@dataclass(frozen=True)
class Labelled:
    """One row of the labelled set: the message, whether it needs an escalation or a manager, the expected type."""

    message: str
    escalate: bool
    type: str
    batch: str
    note: str


def labelled_messages(path: Path) -> list[Labelled]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            Labelled(
                message=row["message"],
                escalate=row["escalate"].strip().lower() == "yes",
                type=row["type"].strip(),
                batch=row["batch"].strip(),
                note=row["note"].strip(),
            )
            for row in csv.DictReader(handle)
        ]


@dataclass(frozen=True)
class TextReading:
    probability: float
    flagged: bool
    evidence: str
    suggested_type: str


class TextModel:
    """The fitted features (word and word-piece TF-IDF) with two linear models over them, needs an escalation
    (yes/no) and which type, and how to read a message with them. A message is turned into features once; the
    models' arithmetic is done here on that one row (a dot product), which keeps a reading well under a
    millisecond."""

    def __init__(self, rows: list[Labelled], *, with_types: bool = True) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        self.features = _features()
        matrix = self.features.fit_transform([marked_words(r.message) for r in rows])
        self.flag = _regression().fit(matrix, [int(r.escalate) for r in rows])
        typed = [i for i, r in enumerate(rows) if r.escalate and r.type]
        self.types: LogisticRegression | OneVsRestClassifier | None = None
        if with_types and len({rows[i].type for i in typed}) > 1:
            # liblinear fits two classes at a time: the types are fitted each against the rest.
            self.types = OneVsRestClassifier(_regression()).fit(matrix[typed], [rows[i].type for i in typed])

    @cached_property
    def _lookups(self) -> list[tuple[Any, dict[str, int], Any, int]]:
        """Per vectoriser: its analyser, vocabulary, idf weights and where its columns start."""
        lookups, offset = [], 0
        for _, vectorizer in self.features.transformer_list:
            lookups.append((vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_, offset))
            offset += len(vectorizer.vocabulary_)
        return lookups

    def _row(self, marked: str) -> list[tuple[int, float]]:
        """The message's non-zero features (column, value), the same numbers as ``self.features.transform``
        (sublinear tf times idf, each vectoriser's part of unit length) without scikit-learn's per-call checks,
        which cost more than the arithmetic for a single message."""
        row: list[tuple[int, float]] = []
        for analyze, vocabulary, idf, offset in self._lookups:
            counts: dict[int, int] = {}
            for gram in analyze(marked):
                column = vocabulary.get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            values = {column: (1 + math.log(n)) * float(idf[column]) for column, n in counts.items()}
            norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
            row.extend((offset + column, value / norm) for column, value in values.items())
        return row

    @cached_property
    def _weights(self) -> tuple[list[float], float, list[tuple[str, list[float], float]]]:
        """The models' weights as Python lists: indexing a list is many times faster than a numpy array, one by one."""
        types = (
            [
                (str(name), one.coef_[0].tolist(), float(one.intercept_[0]))
                for name, one in zip(self.types.classes_, self.types.estimators_, strict=True)
            ]
            if self.types is not None
            else []
        )
        return self.flag.coef_[0].tolist(), float(self.flag.intercept_[0]), types

    def _probability(self, row: list[tuple[int, float]]) -> float:
        coef, intercept, _ = self._weights
        margin = intercept + sum(coef[column] * value for column, value in row)
        return 1 / (1 + math.exp(-margin))

    def probabilities(self, messages: list[str]) -> list[float]:
        """Batch-first: the probability that each message needs an escalation or a manager."""
        return [self._probability(self._row(marked_words(message))) for message in messages]

    def read(self, message: str, *, explain: bool = True) -> TextReading:
        tokens = marked_tokens(message)
        row = self._row(" ".join(token for token, _ in tokens))
        probability = self._probability(row)
        flagged = probability >= THRESHOLD and len(message.split()) >= MIN_WORDS
        evidence = self._evidence(message, tokens, row) if flagged and explain else ""
        suggested = ""
        if flagged and self._weights[2]:
            scores = {
                name: intercept + sum(coef[column] * value for column, value in row)
                for name, coef, intercept in self._weights[2]
            }
            suggested = max(scores, key=lambda name: scores[name])
        return TextReading(probability, flagged, evidence, suggested)

    def _evidence(self, message: str, tokens: list[tuple[str, tuple[int, int]]], row: list[tuple[int, float]]) -> str:
        """The words that weighed most towards "escalation", as the customer wrote them: the model is linear, so each
        feature's weight times its value is shared among the words it came from (a word pair between its two
        words, a piece of a word to that word); the heaviest word that means something, with the neighbours that
        weigh at least half as much (three words at most)."""
        weights = self._word_weights([token for token, _ in tokens], row)
        stop = _stop_words()
        meaning = [bool(re.fullmatch(_WORD, token)) and token.removeprefix("not_") not in stop for token, _ in tokens]
        candidates = [i for i in range(len(tokens)) if meaning[i] and weights[i] > 0]
        if not candidates:
            return ""
        best = max(candidates, key=lambda i: weights[i])

        def joins(i: int) -> bool:
            return 0 <= i < len(tokens) and meaning[i] and weights[i] >= weights[best] / 2

        first = last = best
        while last - first < 2 and (joins(first - 1) or joins(last + 1)):
            if joins(first - 1) and (not joins(last + 1) or weights[first - 1] > weights[last + 1]):
                first -= 1
            else:
                last += 1
        return message[tokens[first][1][0] : tokens[last][1][1]]

    def _word_weights(self, tokens: list[str], row: list[tuple[int, float]]) -> list[float]:
        coef = self._weights[0]
        weights = [0.0] * len(tokens)
        at = [i for i, token in enumerate(tokens) if re.fullmatch(_WORD, token)]
        sequence = [tokens[i] for i in at]
        word_names, piece_names = self._names
        for column, value in row:
            share = coef[column] * value
            if column < len(word_names):
                gram = word_names[column].split(" ")
                places = [
                    at[k + n]
                    for k in range(len(sequence) - len(gram) + 1)
                    if sequence[k : k + len(gram)] == gram
                    for n in range(len(gram))
                ]
            else:
                piece = piece_names[column - len(word_names)]
                places = [i for i, token in enumerate(tokens) if piece in f" {token} "]
            for i in places:
                weights[i] += share / len(places)
        return weights

    @cached_property
    def _names(self) -> tuple[list[str], list[str]]:
        words, pieces = self.features.transformer_list[0][1], self.features.transformer_list[1][1]
        return list(words.get_feature_names_out()), list(pieces.get_feature_names_out())


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    contractions = "i'll we'll you'll i'm we're you're i've we've i'd we'd it's that's don't can't won't isn't"
    return frozenset(ENGLISH_STOP_WORDS) | _OTHER_STOP_WORDS | frozenset(contractions.split())


def _features() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_union

    words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=_WORD)
    pieces = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    return make_union(words, pieces)


def _regression() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=10.0, class_weight="balanced", solver="liblinear", random_state=SEED)


# --- The shared model: trained once per process and training file ----------------------------------------------

_lock = threading.Lock()
_models: dict[str, TextModel] = {}


def model_for(path: Path) -> TextModel | None:
    """The model trained on ``path`` (None if the file is missing), trained on first use and kept per content."""
    try:
        content = path.read_bytes()
    except OSError:
        return None
    key = hashlib.sha256(content).hexdigest()
    with _lock:
        if key not in _models:
            _models[key] = TextModel(labelled_messages(path))
        return _models[key]


def text_reading(message: str) -> TextReading | None:
    """The classifier's reading of one message, or None when it is switched off or has no training file."""
    from escalations import conf

    if not conf.get("ESCALATION_RISK_TEXT_MODEL") or not (message or "").strip():
        return None
    model = model_for(Path(conf.get("ESCALATION_RISK_TEXT_MESSAGES") or SHIPPED_MESSAGES))
    return model.read(message) if model is not None else None


# --- Measuring it ------------------------------------------------------------------------------------------------


def _figures(pairs: list[tuple[bool, bool]]) -> dict[str, float | int]:
    tp = sum(1 for expected, found in pairs if expected and found)
    fp = sum(1 for expected, found in pairs if found and not expected)
    fn = sum(1 for expected, found in pairs if expected and not found)
    return {
        "messages": len(pairs),
        "precision": round(tp / (tp + fp), 3) if tp + fp else 0.0,
        "recall": round(tp / (tp + fn), 3) if tp + fn else 0.0,
        "false_alarms": fp,
        "missed": fn,
    }


def evaluate(rows: list[Labelled], *, held_out: str = HELD_OUT, folds: int = 5) -> dict[str, Any]:
    """Precision and recall of "needs an escalation or a manager" for the rules alone, the classifier alone and the
    two together (a message is flagged when the rules find a signal or the classifier flags it), measured honestly:
    with stratified ``folds``-fold cross-validation over every batch but ``held_out`` (the classifier never scores a
    message it was trained on), and on the ``held_out`` batch with a model trained on all the others. The rules
    were written with the earlier batches in view, so their figures on those are in-sample."""
    from sklearn.model_selection import StratifiedKFold

    from escalations.risk import risk_detect

    def rules_flag(message: str) -> bool:
        return bool(risk_detect(message, text_model=False).signals)

    train = [r for r in rows if r.batch != held_out]
    test = [r for r in rows if r.batch == held_out]
    model_says: list[bool] = [False] * len(train)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    for fit_at, score_at in splitter.split([r.message for r in train], [int(r.escalate) for r in train]):
        fold = TextModel([train[i] for i in fit_at], with_types=False)
        probabilities = fold.probabilities([train[i].message for i in score_at])
        for i, p in zip(score_at, probabilities, strict=True):
            model_says[i] = p >= THRESHOLD and len(train[i].message.split()) >= MIN_WORDS
    rules_say = [rules_flag(r.message) for r in train]

    def report(subset: list[Labelled], rules: list[bool], model: list[bool]) -> dict[str, Any]:
        truth = [r.escalate for r in subset]
        return {
            "rules": _figures(list(zip(truth, rules, strict=True))),
            "classifier": _figures(list(zip(truth, model, strict=True))),
            "combined": _figures([(t, a or b) for t, a, b in zip(truth, rules, model, strict=True)]),
        }

    result: dict[str, Any] = {"cross_validation": report(train, rules_say, model_says)}
    if test:
        whole = TextModel(train, with_types=False)
        held = [
            p >= THRESHOLD and len(r.message.split()) >= MIN_WORDS
            for p, r in zip(whole.probabilities([r.message for r in test]), test, strict=True)
        ]
        result["held_out"] = report(test, [rules_flag(r.message) for r in test], held)
    return result
