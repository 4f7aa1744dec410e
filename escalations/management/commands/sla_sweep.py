"""``python manage.py sla_sweep [--at ISO-8601]``: run the SLA sweep once, as of now or of a given moment."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from helpdesk.management import command_moment


class Command(BaseCommand):
    help = "Warn, breach, escalate and page everything due (as of --at, default now). Safe to rerun."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="Evaluate as of this ISO-8601 moment (naive means UTC).")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, at=None, batch_size=500, **options):
        from escalations.sla.sweep import sla_sweep

        now = command_moment(at)
        result = sla_sweep(now=now, batch_size=batch_size)
        self.stdout.write(json.dumps({"at": now.isoformat(), **result.as_dict()}))
