"""``python manage.py seed_demo [--password PW]``: idempotent demo data; prints the logins."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from helpdesk.demo import DEMO_LOGINS, seed_demo
from helpdesk.models import Notification, NotificationStatus, Ticket
from helpdesk.notifications import dispatch_disabled


class Command(BaseCommand):
    help = "Create demo people, teams and a few months of tickets (idempotent) and print the logins."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="demo1234", help="Password for every demo login (default: demo1234).")

    def handle(self, *args, password: str, **options):
        with dispatch_disabled():
            seed_demo(password=password, stdout=self.stdout)
        # Demo history is history: its emails count as sent long ago, so nothing floods the outbox at start-up.
        Notification.objects.filter(status=NotificationStatus.PENDING).update(
            status=NotificationStatus.SENT, sent_at=timezone.now()
        )
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {Ticket.objects.count()} tickets."))
        self.stdout.write(f"Demo logins (password: {password}):")
        for login in DEMO_LOGINS:
            self.stdout.write(f"  {login.username:<12} {login.role:<11} {login.description}")
        required = ", ".join(settings.MFA_REQUIRED_ROLES)
        if required:
            self.stdout.write(
                f"Two-step sign-in is required for: {required}. Each of them sets up an authenticator app at "
                "their first sign-in (Profile & API tokens shows the QR code)."
            )
        else:
            self.stdout.write(
                "Two-step sign-in is optional in this demo (set it up under Profile & API tokens); "
                "MFA_REQUIRED_ROLES=manager,admin make run requires it for managers and admins."
            )
