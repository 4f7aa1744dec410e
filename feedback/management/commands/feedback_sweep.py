"""``python manage.py feedback_sweep [--at ISO-8601]``: run the survey and check-in sweeps once (what beat runs),
optionally at another moment. Idempotent: running it twice at the same moment does nothing the second time."""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class Command(BaseCommand):
    help = "Send due surveys and reminders, and create due check-ins (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="Run as if it were this moment (ISO-8601 with a timezone).")

    def handle(self, *args, at: str | None = None, **options):
        from feedback.services import checkins_create_due, surveys_send_due

        now = timezone.now()
        if at:
            try:
                now = datetime.fromisoformat(at)
            except ValueError as exc:
                raise CommandError(f"--at must be ISO-8601, e.g. 2026-11-23T09:00:00+00:00 ({exc})") from exc
            if timezone.is_naive(now):
                raise CommandError("--at needs a timezone, e.g. 2026-11-23T09:00:00+00:00")
        surveys = surveys_send_due(now=now)
        checkins = checkins_create_due(now=now)
        self.stdout.write(
            f"Surveys sent: {surveys['sent']}, reminders: {surveys['reminded']}, held: {surveys['held']}; "
            f"check-ins created: {len(checkins)}."
        )
