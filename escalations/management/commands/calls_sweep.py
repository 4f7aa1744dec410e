"""``python manage.py calls_sweep [--at ISO-8601]``: expire warm transfers, remind and breach callbacks once."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class Command(BaseCommand):
    help = "Warm transfers nobody accepted become callbacks; remind and breach callbacks (as of --at). Safe to rerun."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="Evaluate as of this ISO-8601 moment (naive means UTC).")

    def handle(self, *args, at=None, **options):
        from escalations.calls.services import calls_sweep

        if at:
            try:
                now = datetime.fromisoformat(at)
            except ValueError as exc:
                raise CommandError(f"--at must be an ISO-8601 date and time, not {at!r}.") from exc
            if timezone.is_naive(now):
                now = now.replace(tzinfo=UTC)
        else:
            now = timezone.now()
        result = calls_sweep(now=now)
        self.stdout.write(json.dumps({"at": now.isoformat(), **result.as_dict()}))
