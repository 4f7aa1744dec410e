"""``python manage.py risk_train [--seed N] [--now ISO-8601]``: train, evaluate and store a new version of the
likely-to-escalate model on the closed tickets closed before --now; print its evaluation as JSON."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from helpdesk.management import command_moment


class Command(BaseCommand):
    help = "Train the likely-to-escalate model on closed tickets (time split 80/20) and store it as a new version."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=0, help="Random seed (a fixed seed gives the same model).")
        parser.add_argument("--now", help="Train on tickets closed before this ISO-8601 moment (naive means UTC).")

    def handle(self, *args, seed=0, now=None, **options):
        from escalations.risk_model.scoring import risk_score_open_tickets
        from escalations.risk_model.train import RiskTrainingError, risk_model_train

        moment = command_moment(now, option="--now")
        try:
            model = risk_model_train(seed=seed, now=moment)
        except RiskTrainingError as exc:
            raise CommandError(str(exc)) from exc
        scored = risk_score_open_tickets() if model.is_active else 0
        report = {"version": model.version, "active": model.is_active, "open_tickets_scored": scored}
        self.stdout.write(json.dumps(report | {"evaluation": model.evaluation}, indent=2))
