"""``python manage.py calls_sweep [--at ISO-8601]``: expire warm transfers, remind and breach callbacks once."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from helpdesk.management import command_moment


class Command(BaseCommand):
    help = "Warm transfers nobody accepted become callbacks; remind and breach callbacks (as of --at). Safe to rerun."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="Evaluate as of this ISO-8601 moment (naive means UTC).")

    def handle(self, *args, at=None, **options):
        from escalations.calls.services import calls_sweep

        now = command_moment(at)
        result = calls_sweep(now=now)
        self.stdout.write(json.dumps({"at": now.isoformat(), **result.as_dict()}))
