"""Scoring tickets with the active model, and the one rule that turns the rules and the model into the score
people sort, filter and act on.

``combined_score(rules_score, likelihood)`` is the larger of the rules' hard score (0-100, faded) and the model's
likelihood as a percentage. Why the maximum:

- a hard signal is always surfaced: a legal threat keeps its weight however calm the ticket's history looks, so the
  model can raise a ticket's risk but never hide what the customer plainly said;
- the model adds what words alone miss (a customer who escalates every quarter, a category that escalates often,
  three messages in two hours) on the same 0-100 scale, so the levels (``RiskAssessment.level``) and the flag score
  keep their meaning;
- with no model (none trained, or none good enough), the score is the rules' score, unchanged.

Scoring runs after the transaction that changed the ticket commits (``risk_rescore_on_commit``), on every customer
message and every SLA clock change, so it never lengthens a request's transaction or holds its locks; a failure is
logged and leaves the rules' reading in place. The active pipeline is loaded once per process and version.
"""

from __future__ import annotations

import io
import logging
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from escalations import conf
from escalations.models import RiskAssessment, RiskModel
from escalations.risk import fade
from escalations.risk_model.explain import MIN_CONTRIBUTION, explain
from escalations.risk_model.features import features_for
from helpdesk.models import Ticket

logger = logging.getLogger(__name__)


def combined_score(rules_score: int, likelihood: float | None) -> int:
    """The ticket's risk score, 0-100: the larger of the rules' score and the model's likelihood in percent."""
    if likelihood is None:
        return int(rules_score)
    return max(int(rules_score), min(100, round(100 * likelihood)))


@dataclass(frozen=True)
class LoadedModel:
    version: int
    pipeline: Any
    names: list[str]
    is_chars: Any  # numpy bool array: which features are character n-grams (summed into one reason)


_cache: dict[int, LoadedModel] = {}
_cache_lock = threading.Lock()


def active_model() -> LoadedModel | None:
    """The active model, or None. One small query per call (to notice a new version); the artefact is unpickled
    once per process and version. Only artefacts written by ``escalations.risk_model.train`` are ever loaded
    (see ``RiskModel``)."""
    version = RiskModel.objects.filter(is_active=True).values_list("version", flat=True).first()
    if version is None:
        return None
    with _cache_lock:
        if version not in _cache:
            import joblib
            import numpy

            artefact, names = RiskModel.objects.filter(version=version).values_list("artefact", "feature_names").get()
            _cache.clear()
            _cache[version] = LoadedModel(
                version=version,
                pipeline=joblib.load(io.BytesIO(bytes(artefact))),
                names=list(names),
                is_chars=numpy.array([name.startswith("chars__") for name in names], dtype=bool),
            )
        return _cache[version]


def transform(pipeline, rows: list[dict]):
    """The model's input matrix for these rows: the fitted vectorizers called directly (the same steps the
    pipeline runs, without its per-call overhead), so one transform serves both the likelihood and the reasons."""
    from scipy.sparse import hstack

    blocks = []
    for _, step in pipeline.named_steps["features"].transformer_list:
        data = rows
        for _, transformer in step.steps:
            data = transformer.transform(data) if not hasattr(transformer, "func") else transformer.func(data)
        blocks.append(data)
    return hstack(blocks, format="csr")


def score_rows(model: LoadedModel, rows: list[dict]) -> list[tuple[float, list[dict]]]:
    """The likelihood and the explanations of each row: log-odds = intercept + sum of coefficient x value, each
    term a feature's contribution (``explain``). Vectorised: only the terms that can become a reason reach Python."""
    import numpy

    if not rows:
        return []
    pipeline, names = model.pipeline, model.names
    matrix = transform(pipeline, rows)
    estimator = pipeline.named_steps["model"]
    coefficients, intercept = estimator.coef_[0], float(estimator.intercept_[0])
    is_chars = model.is_chars
    results = []
    for index, row in enumerate(rows):
        start, end = matrix.indptr[index], matrix.indptr[index + 1]
        columns = matrix.indices[start:end]
        terms = matrix.data[start:end] * coefficients[columns]
        chars = is_chars[columns]
        likelihood = 1 / (1 + math.exp(-(intercept + float(terms.sum()))))
        keep = numpy.logical_and(~chars, terms >= MIN_CONTRIBUTION)
        contributions = list(zip(columns[keep].tolist(), terms[keep].tolist(), strict=True))
        reasons = explain(names=names, contributions=contributions, raw=row["raw"], chars=float(terms[chars].sum()))
        results.append((likelihood, reasons))
    return results


def risk_score_tickets(*, ticket_ids: Iterable[int], now: datetime | None = None) -> int:
    """Score these tickets with the active model: each one's assessment gets the likelihood, the model version, the
    explanations and the combined score. Batch-first (one call for a sweep's batch, the same call for one message);
    a constant number of queries. Without an active model it does nothing and the rules' reading stands. Atomic
    per call; idempotent. Returns how many tickets were scored."""
    ids = sorted(set(ticket_ids))
    if not ids:
        return 0
    model = active_model()
    if model is None:
        return 0
    now = now or timezone.now()
    tickets = list(Ticket.objects.filter(pk__in=ids).select_related("organization__plan", "category").order_by("pk"))
    rows = features_for(tickets, as_of={ticket.pk: now for ticket in tickets})
    scored = dict(zip((row["ticket_id"] for row in rows), score_rows(model, rows), strict=True))
    half_life = float(conf.get("ESCALATION_RISK_HALF_LIFE_DAYS"))
    with transaction.atomic():
        assessments = list(RiskAssessment.objects.select_for_update().filter(ticket_id__in=list(scored)))
        missing = set(scored) - {assessment.ticket_id for assessment in assessments}
        if missing:
            # A ticket the rules have not read yet (an SLA change before any message): its assessment starts here.
            RiskAssessment.objects.bulk_create(
                [RiskAssessment(ticket_id=pk, updated_at=now) for pk in sorted(missing)], ignore_conflicts=True
            )
            assessments = list(RiskAssessment.objects.select_for_update().filter(ticket_id__in=list(scored)))
        for assessment in assessments:
            likelihood, reasons = scored[assessment.ticket_id]
            _, rules_score = fade(assessment.signals, now=now, half_life_days=half_life, undated=assessment.updated_at)
            assessment.likelihood = round(likelihood, 4)
            assessment.model_version = model.version
            assessment.explanations = reasons
            assessment.scored_at = now
            assessment.score = combined_score(rules_score, likelihood)
            # A ticket the model alone raised to "medium" is flagged too: the outcome loop measures the live score.
            assessment.note_flag(now)
        RiskAssessment.objects.bulk_update(
            assessments, ["likelihood", "model_version", "explanations", "scored_at", "score", "flagged_at"]
        )
        from escalations.services.risk import risk_orders_store

        risk_orders_store(ticket_ids=[assessment.ticket_id for assessment in assessments])
    return len(assessments)


_pending = threading.local()


def risk_rescore_on_commit(ticket_ids: Iterable[int]) -> None:
    """Score these tickets once the current transaction commits (at once outside one). Tickets asked for several
    times in one transaction (a message that also moves an SLA clock) are scored once."""
    new = set(ticket_ids)
    if not new:
        return
    ids: set[int] = getattr(_pending, "ids", None) or set()
    ids.update(new)
    _pending.ids = ids
    transaction.on_commit(_flush, robust=True)


def _flush() -> None:
    ids, _pending.ids = getattr(_pending, "ids", None) or set(), set()
    if not ids:
        return
    try:
        risk_score_tickets(ticket_ids=ids)
    except Exception:
        # The change the customer or agent made is committed; a scoring failure must not turn it into an error.
        logger.exception("Escalation-risk scoring failed for tickets %s", sorted(ids))


def risk_score_open_tickets(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Score every open ticket with the active model, in batches (after a new version is activated). Idempotent."""
    ids = list(Ticket.objects.open().order_by("pk").values_list("pk", flat=True))
    return sum(
        risk_score_tickets(ticket_ids=ids[start : start + batch_size], now=now)
        for start in range(0, len(ids), batch_size)
    )
