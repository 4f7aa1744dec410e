"""Evaluation of escalation-risk prediction: ``python bench/risk_eval.py [--n 2000] [--seed 7]``.

Builds a fresh database in a temporary directory (SQLite unless BENCH_DATABASE_URL is set), generates a history of
N closed tickets (``escalations.risk_model.history``, deterministic for the seed; synthetic: these are not
production figures), trains the model on the older 80 % by closure time and prints, on the newer 20 %:

- for the model, the combined score people see (max of rules and model), the rules alone, and a priority-only
  baseline: precision, recall, F1, recall at 10 % and 20 % of tickets flagged, AUC;
- ``score_ms`` (the model on one ticket's features: likelihood and explanations), ``score_live_ms`` (the whole live
  path for one ticket: its queries, the model and the write, run after commit) and ``score_batch_ms`` (that path per
  ticket when 200 are scored together), medians over 200 tickets;
- ``train_seconds`` and ``rss_mb`` (peak resident memory of the process).

The last line printed is one JSON object with the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(var_dir: str) -> None:
    os.environ["HELPDESK_VAR_DIR"] = var_dir
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{var_dir}/bench.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "helpdesk.settings.test"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def score_latency(*, samples: int, now) -> dict:
    """Milliseconds to score one ticket (median over ``samples`` recent tickets, opened for the purpose):

    - ``score_ms``: the model itself on a ticket's feature row: transform, likelihood and explanations;
    - ``score_live_ms``: the live path for one ticket (``risk_score_tickets``: its feature queries, the model, the
      write), which runs after the request's transaction commits;
    - ``score_batch_ms``: the same path per ticket when a batch of them is scored at once (an SLA sweep batch)."""
    from escalations.risk_model.features import features_for
    from escalations.risk_model.scoring import active_model, risk_score_tickets, score_rows
    from helpdesk.models import Status, Ticket

    model = active_model()
    tickets = list(Ticket.objects.select_related("organization__plan", "category").order_by("-created_at")[:samples])
    ids = [ticket.pk for ticket in tickets]
    Ticket.objects.filter(pk__in=ids).update(status=Status.OPEN)
    rows = features_for(tickets, as_of={ticket.pk: now for ticket in tickets})
    model_ms, live_ms = [], []
    for row in rows:
        started = time.perf_counter()
        score_rows(model, [row])
        model_ms.append((time.perf_counter() - started) * 1000)
    for pk in ids:
        started = time.perf_counter()
        risk_score_tickets(ticket_ids=[pk], now=now)
        live_ms.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    risk_score_tickets(ticket_ids=ids, now=now)
    batch_ms = (time.perf_counter() - started) * 1000 / len(ids)
    Ticket.objects.filter(pk__in=ids).update(status=Status.CLOSED)
    return {
        "score_ms": round(statistics.median(model_ms), 2),
        "score_live_ms": round(statistics.median(live_ms), 2),
        "score_batch_ms": round(batch_ms, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="closed historic tickets to generate (default 2000)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the history and the model (default 7)")
    parser.add_argument("--samples", type=int, default=200, help="tickets timed for score_ms (default 200)")
    args = parser.parse_args()
    if args.n < 100:
        parser.error("--n must be at least 100 (the hold-out is 20 % of it)")

    with tempfile.TemporaryDirectory(prefix="risk-bench-") as var_dir:
        setup_django(var_dir)
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone

        call_command("migrate", verbosity=0)
        from escalations.models import RiskModel
        from escalations.risk_model.history import history_generate
        from escalations.risk_model.scoring import active_model
        from escalations.risk_model.train import risk_model_train

        now = timezone.now()
        started = time.perf_counter()
        history = history_generate(n=args.n, seed=args.seed, now=now)
        generate_seconds = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        model = risk_model_train(seed=args.seed, now=now)
        train_seconds = round(time.perf_counter() - started, 1)
        RiskModel.objects.filter(pk=model.pk).update(is_active=True)  # time the live path even if AUC is weak
        active_model()  # load once, as a worker would
        report = {
            "n": args.n,
            "seed": args.seed,
            "database": connection.vendor,
            "escalated": history.escalated,
            "synthetic": True,
            "split": model.evaluation["split"],
            "model": model.evaluation["model"],
            "combined": model.evaluation["combined"],
            "rules_only": model.evaluation["rules"],
            "priority_only": model.evaluation["priority"],
            "features": len(model.feature_names),
            "generate_seconds": generate_seconds,
            "train_seconds": train_seconds,
            **score_latency(samples=args.samples, now=now),
            "load_average": round(os.getloadavg()[0], 2),
            "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        for name in ("model", "combined", "rules_only", "priority_only"):
            figures = report[name]
            print(
                f"{name:14} precision {figures['precision']:.3f}  recall {figures['recall']:.3f}  "
                f"F1 {figures['f1']:.3f}  recall@10% {figures['recall_at_10']:.3f}  "
                f"recall@20% {figures['recall_at_20']:.3f}  AUC {figures['auc']}"
            )
        print(json.dumps(report))
        connection.close()


if __name__ == "__main__":
    main()
