"""Escalation intelligence: a likely-to-escalate model trained on the organisation's own closed tickets.

- ``features``: what the model knows about a ticket at a moment (history, rhythm, SLA, words, sentiment, rules);
- ``train``: the dataset, the time split, the pipeline, the evaluation and the versioned ``RiskModel`` rows;
- ``scoring``: the active model's likelihood and explanations written onto ``RiskAssessment`` after commit, and
  ``combined_score``, the one rule that makes the rules' score and the model's likelihood into the score people use;
- ``explain``: the top contributions in words;
- ``history``: a deterministic synthetic history of closed tickets for the demo and ``bench/risk_eval.py``.

Without a trained (and good enough) model the product runs on the rules alone (``escalations.risk``), unchanged.
"""
