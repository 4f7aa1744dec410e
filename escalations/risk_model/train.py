"""Training the likely-to-escalate model on the organisation's own closed tickets, and measuring it.

- **Examples**: every closed ticket closed before ``now``. Its label: was it ever escalated. Its features are read
  as of the customer's last message before the outcome (the first escalation, or the resolution): the moment the
  live system scores a ticket (on each customer message), so training and scoring see the same kind of row and
  nothing after the outcome leaks in.
- **Split**: by time. The 80 % closed first train; the newest 20 % are held out and evaluated, as the model will be
  used: on tickets newer than anything it learnt from. The evaluated model is the one saved, so the stored figures
  describe exactly the model that scores.
- **Model**: a scikit-learn pipeline: TF-IDF over the customer's words (word 1-3-grams and character 3-5-grams,
  vocabulary bounded) next to the engineered features of ``features``, into a class-balanced logistic regression.
  A linear model because every score must be explained (``explain``), and because with a few thousand tickets it
  does as well as boosting; liblinear with a fixed ``random_state`` makes a training deterministic.
- **Versions**: each training writes a ``RiskModel`` row (evaluation, feature names, the joblib artefact). It is
  made active when it beats chance on the hold-out (AUC >= ``MIN_AUC``); otherwise the previous model (or the
  rules alone) stay in charge.

scikit-learn was chosen as the maintained reference library for this (BSD, wheels for Python 3.12, no network at
run time); vaderSentiment for sentiment because it ships its lexicon inside the package and handles negation.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from escalations.models import Escalation, RiskModel
from escalations.risk_model.features import features_for, pick_facts, pick_text
from helpdesk.errors import Invalid
from helpdesk.models import PRIORITY_RANK, EventKind, Status, Ticket, TicketEvent

TEST_SHARE = 0.2
MIN_EXAMPLES = 40
MIN_POSITIVES = 8
MIN_AUC = 0.55
THRESHOLD = 0.5  # the model flags a ticket at this likelihood (class-balanced, so 0.5 is the neutral point)
RULES_FLAG_SCORE = 30  # the rules' flag (``ESCALATION_RISK_FLAG_SCORE``'s default): medium risk and above


class RiskTrainingError(Invalid):
    """Not enough history to train, or a hold-out that cannot be evaluated."""


@dataclass
class Dataset:
    tickets: list[Ticket]
    rows: list[dict]
    labels: list[int]
    closed_at: list[datetime]


def build_pipeline(*, seed: int):
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import FunctionTransformer

    text = FunctionTransformer(pick_text)
    return Pipeline(
        [
            (
                "features",
                FeatureUnion(
                    [
                        (
                            "words",
                            Pipeline(
                                [
                                    ("pick", text),
                                    (
                                        "tfidf",
                                        TfidfVectorizer(
                                            ngram_range=(1, 3),
                                            min_df=2,
                                            max_df=0.5,
                                            max_features=3000,
                                            sublinear_tf=True,
                                            strip_accents="unicode",
                                        ),
                                    ),
                                ]
                            ),
                        ),
                        (
                            "chars",
                            Pipeline(
                                [
                                    ("pick", FunctionTransformer(pick_text)),
                                    (
                                        "tfidf",
                                        TfidfVectorizer(
                                            analyzer="char_wb",
                                            ngram_range=(3, 5),
                                            min_df=3,
                                            max_df=0.5,
                                            max_features=4000,
                                            sublinear_tf=True,
                                        ),
                                    ),
                                ]
                            ),
                        ),
                        ("facts", Pipeline([("pick", FunctionTransformer(pick_facts)), ("dict", DictVectorizer())])),
                    ]
                ),
            ),
            (
                "model",
                LogisticRegression(
                    C=1.0, class_weight="balanced", solver="liblinear", max_iter=1000, random_state=seed
                ),
            ),
        ]
    )


def feature_names(pipeline) -> list[str]:
    """``words__<n-gram>``, ``chars__<n-gram>`` and ``facts__<name>`` in the order of the model's coefficients."""
    union = pipeline.named_steps["features"]
    names: list[str] = []
    for group, step in union.transformer_list:
        last = step.steps[-1][1]
        names.extend(f"{group}__{name}" for name in last.get_feature_names_out())
    return names


def likelihoods(pipeline, rows: list[dict]) -> list[float]:
    if not rows:
        return []
    return [float(p) for p in pipeline.predict_proba(rows)[:, 1]]


def dataset(*, now: datetime) -> Dataset:
    """The closed tickets closed before ``now``, oldest closure first, with their labels and feature rows read as
    of the customer's last message before the outcome. A constant number of queries."""
    tickets = list(
        Ticket.objects.filter(status=Status.CLOSED, closed_at__lt=now)
        .select_related("organization__plan", "category")
        .order_by("closed_at", "pk")
    )
    ids = [ticket.pk for ticket in tickets]
    first_hop = dict(
        Escalation.objects.filter(ticket__status=Status.CLOSED, ticket__closed_at__lt=now)
        .values("ticket_id")
        .annotate(first=Min("created_at"))
        .values_list("ticket_id", "first")
    )
    outcome: dict[int, datetime] = {
        ticket.pk: first_hop.get(ticket.pk) or ticket.resolved_at or ticket.closed_at  # type: ignore[misc]
        for ticket in tickets
    }
    # The customer's last message before the outcome: the moment the live system would have scored the ticket.
    last_message = dict(
        TicketEvent.objects.filter(
            ticket__status=Status.CLOSED,
            ticket__closed_at__lt=now,
            kind__in=(EventKind.CREATED, EventKind.CUSTOMER_MESSAGE),
        )
        .values("ticket_id")
        .annotate(last=Max("created_at"))
        .values_list("ticket_id", "last")
    )
    as_of: dict[int, datetime] = {}
    for ticket in tickets:
        limit = outcome[ticket.pk]
        last = last_message.get(ticket.pk)
        if last is None or last >= limit:
            # A later message than the outcome cannot be used: fall back to the last moment before it.
            last = _last_before(ticket.pk, limit) or ticket.created_at
        as_of[ticket.pk] = min(last + timedelta(seconds=1), limit - timedelta(microseconds=1))
    rows = features_for(tickets, as_of=as_of) if ids else []
    return Dataset(
        tickets=tickets,
        rows=rows,
        labels=[int(ticket.pk in first_hop) for ticket in tickets],
        closed_at=[ticket.closed_at for ticket in tickets],  # type: ignore[misc]
    )


def _last_before(ticket_id: int, limit: datetime) -> datetime | None:
    # Rare (a customer wrote again after the outcome), so one query per such ticket is acceptable.
    return (
        TicketEvent.objects.filter(
            ticket_id=ticket_id, kind__in=(EventKind.CREATED, EventKind.CUSTOMER_MESSAGE), created_at__lt=limit
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def metrics(labels: list[int], scores: list[float], flagged: list[bool]) -> dict:
    """Precision, recall and F1 of the flagged tickets; recall when the top 10 % / 20 % by score are flagged (the
    "capacity" view: how many escalations a team finds by reviewing that share); ROC AUC; counts."""
    from sklearn.metrics import roc_auc_score

    n = len(labels)
    positives = sum(labels)
    true_pos = sum(1 for label, flag in zip(labels, flagged, strict=True) if label and flag)
    flagged_count = sum(flagged)
    precision = true_pos / flagged_count if flagged_count else 0.0
    recall = true_pos / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    order = sorted(range(n), key=lambda i: (-scores[i], i))

    def recall_at(share: float) -> float:
        top = order[: max(1, math.ceil(share * n))]
        return sum(labels[i] for i in top) / positives if positives else 0.0

    auc = roc_auc_score(labels, scores) if 0 < positives < n else None
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "recall_at_10": round(recall_at(0.1), 3),
        "recall_at_20": round(recall_at(0.2), 3),
        "auc": round(float(auc), 3) if auc is not None else None,
        "flagged": flagged_count,
        "tickets": n,
        "escalated": positives,
    }


def evaluate(pipeline, rows: list[dict], labels: list[int]) -> dict:
    """The model, the combined score people see, the rules alone and a priority-only baseline on the same rows."""
    from escalations.risk_model.scoring import combined_score

    probabilities = likelihoods(pipeline, rows)
    rules = [float(row["raw"]["rules_score"]) for row in rows]
    combined = [
        float(combined_score(int(rule), probability)) for rule, probability in zip(rules, probabilities, strict=True)
    ]
    priority = [float(PRIORITY_RANK.get(row["raw"]["priority"], 1)) for row in rows]
    return {
        "model": metrics(labels, probabilities, [p >= THRESHOLD for p in probabilities]),
        "combined": metrics(labels, combined, [score >= RULES_FLAG_SCORE for score in combined]),
        "rules": metrics(labels, rules, [score >= RULES_FLAG_SCORE for score in rules]),
        "priority": metrics(labels, priority, [rank >= PRIORITY_RANK["high"] for rank in priority]),
    }


def split(data: Dataset) -> int:
    """The index of the first held-out example: the newest ``TEST_SHARE`` of closures."""
    return len(data.rows) - max(1, round(len(data.rows) * TEST_SHARE))


def fit_and_evaluate(data: Dataset, *, seed: int):
    """Train on the older 80 %, evaluate on the newer 20 %. Raises ``RiskTrainingError`` when either side is too
    small or one-sided to learn from or to measure."""
    total, positives = len(data.rows), sum(data.labels)
    if total < MIN_EXAMPLES or positives < MIN_POSITIVES:
        raise RiskTrainingError(
            f"Not enough closed history to train: {total} closed tickets, {positives} escalated "
            f"(need at least {MIN_EXAMPLES} and {MIN_POSITIVES})."
        )
    cut = split(data)
    train_labels, test_labels = data.labels[:cut], data.labels[cut:]
    if len(set(train_labels)) < 2 or len(set(test_labels)) < 2:
        raise RiskTrainingError(
            "The time split leaves one side with only escalated or only calm tickets; more history is needed."
        )
    pipeline = build_pipeline(seed=seed)
    pipeline.fit(data.rows[:cut], train_labels)
    evaluation = evaluate(pipeline, data.rows[cut:], test_labels)
    evaluation["split"] = {
        "train": cut,
        "test": total - cut,
        "train_escalated": sum(train_labels),
        "test_escalated": sum(test_labels),
        "train_closed_until": data.closed_at[cut - 1].isoformat(),
        "test_closed_from": data.closed_at[cut].isoformat(),
    }
    evaluation["threshold"] = THRESHOLD
    return pipeline, evaluation


def _library_versions() -> dict:
    import numpy
    import scipy
    import sklearn

    return {"scikit-learn": sklearn.__version__, "numpy": numpy.__version__, "scipy": scipy.__version__}


def risk_model_train(*, seed: int = 0, now: datetime) -> RiskModel:
    """Train, evaluate and store a new model version on the closed tickets closed before ``now``; activate it when
    it beats chance on the hold-out. Deterministic for a fixed seed and history. The slow part runs outside any
    transaction; the new row and the switch of the active version are atomic."""
    import joblib

    data = dataset(now=now)
    pipeline, evaluation = fit_and_evaluate(data, seed=seed)
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer, compress=3)
    auc = evaluation["model"]["auc"]
    activate = auc is not None and auc >= MIN_AUC
    evaluation["activated"] = activate
    with transaction.atomic():
        last = RiskModel.objects.select_for_update().order_by("-version").values_list("version", flat=True).first()
        if activate:
            RiskModel.objects.filter(is_active=True).update(is_active=False)
        return RiskModel.objects.create(
            version=(last or 0) + 1,
            trained_at=timezone.now(),
            seed=seed,
            data_until=now,
            feature_names=feature_names(pipeline),
            evaluation=evaluation,
            artefact=buffer.getvalue(),
            library_versions=_library_versions(),
            is_active=activate,
        )
