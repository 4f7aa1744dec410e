"""``manage.py metrics_rebuild [--from DATE --to DATE]``: recompute the daily metric rollups from the facts."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = (
        "Recompute the daily metric rollups (UTC days) from tickets, escalations, SLA clocks, surveys and "
        "compensation requests. Without --from/--to every day is rebuilt and the dashboard starts reading rollups; "
        "with them only those days (inclusive) are repaired."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", type=_date, help="first UTC day to rebuild (YYYY-MM-DD)")
        parser.add_argument("--to", dest="end", type=_date, help="last UTC day to rebuild (YYYY-MM-DD)")

    def handle(self, *args, start: dt.date | None = None, end: dt.date | None = None, **options) -> None:
        from reports.metrics.rollups import metrics_rebuild

        if start and end and start > end:
            raise CommandError("--from must be on or before --to.")
        rows = metrics_rebuild(start=start, end=end)
        scope = "every day" if start is None and end is None else f"{start or 'the first day'} to {end or 'today'}"
        if options["verbosity"]:
            self.stdout.write(f"Rebuilt the metric rollups of {scope}: {rows} rows.")
