"""``python manage.py feedback_sweep [--at ISO-8601]``: run the survey and check-in sweeps once (what beat runs),
optionally at another moment. Idempotent: running it twice at the same moment does nothing the second time."""

from django.core.management.base import BaseCommand

from helpdesk.management import command_moment


class Command(BaseCommand):
    help = "Send due surveys and reminders, and create due check-ins (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="Run as if it were this moment (ISO-8601; without a zone it is UTC).")

    def handle(self, *args, at: str | None = None, **options):
        from feedback.services import checkins_create_due, surveys_send_due

        now = command_moment(at)
        surveys = surveys_send_due(now=now)
        checkins = checkins_create_due(now=now)
        self.stdout.write(
            f"Surveys sent: {surveys['sent']}, reminders: {surveys['reminded']}, held: {surveys['held']}; "
            f"check-ins created: {len(checkins)}."
        )
