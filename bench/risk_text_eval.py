#!/usr/bin/env python
"""Measure the text part of the risk detector on the labelled messages (tests/data/risk_messages.csv): precision and
recall of "needs an escalation or a manager" for the rules alone, the text classifier alone and both together, by
stratified 5-fold cross-validation over every batch but the held-out one, and on the held-out batch (written last,
nothing tuned on it) with a model trained on the rest. Also the time to train and to read one message.

    python bench/risk_text_eval.py [--n 200]

``--n`` is how many labelled messages ``risk_detect`` is timed on (the figures always use the whole set). The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="messages to time risk_detect on (default 200)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.test")
    import django
    import psutil

    django.setup()
    from escalations.risk import risk_detect
    from escalations.risk_text import SHIPPED_MESSAGES, TextModel, evaluate, labelled_messages

    rows = labelled_messages(SHIPPED_MESSAGES)
    figures = evaluate(rows)
    started = time.perf_counter()
    model = TextModel(rows)
    train_ms = (time.perf_counter() - started) * 1000
    risk_detect("warm up")
    timings = []
    for row in (rows * (args.n // max(1, len(rows)) + 1))[: max(1, args.n)]:
        started = time.perf_counter()
        risk_detect(row.message)
        timings.append((time.perf_counter() - started) * 1000)
    model.read(rows[0].message)
    print(
        json.dumps(
            {
                "messages": len(rows),
                **figures,
                "train_ms": round(train_ms),
                "risk_detect_ms_median": round(statistics.median(timings), 2),
                "risk_detect_ms_p95": round(sorted(timings)[int(len(timings) * 0.95)], 2),
                "timed_messages": len(timings),
                "rss_mb": round(psutil.Process().memory_info().rss / 2**20, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
