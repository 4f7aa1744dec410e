"""``python manage.py retention_sweep [--at ISO-8601] [--batch-size N]``: run the retention sweep once."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from helpdesk.management import command_moment


class Command(BaseCommand):
    help = "Anonymise closed tickets past their plan's retention period (as of --at, default now). Safe to rerun."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="Evaluate as of this ISO-8601 moment (naive means UTC).")
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args, at=None, batch_size=200, **options):
        from privacy.retention import retention_sweep

        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        now = command_moment(at)
        result = retention_sweep(now=now, batch_size=batch_size)
        self.stdout.write(json.dumps({"at": now.isoformat(), **result.as_dict()}))
