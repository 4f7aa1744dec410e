"""``python manage.py ingest_email FILE.eml|MAILDIR``: the same ingestion code as the IMAP poller."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from helpdesk.inbound_email import email_ingest


class Command(BaseCommand):
    help = "Ingest one .eml file or every message of a Maildir (cur/ and new/) as tickets or replies."

    def add_arguments(self, parser):
        parser.add_argument("path", help="A .eml file or a Maildir folder.")
        parser.add_argument("--mailbox", default="cli", help="Mailbox name recorded on each message.")

    def handle(self, *args, path: str, mailbox: str, **options):
        source = Path(path)
        if source.is_file():
            files = [source]
        elif source.is_dir():
            files = sorted(p for sub in ("new", "cur") for p in (source / sub).glob("*") if p.is_file())
            files = files or sorted(p for p in source.glob("*.eml") if p.is_file())
        else:
            raise CommandError(f"{path} is neither a file nor a folder.")
        for file in files:
            result = email_ingest(raw=file.read_bytes(), mailbox=mailbox)
            reference = result.ticket.reference if result.ticket else "-"
            self.stdout.write(f"{file.name}: {result.status} {reference} {result.reason}".rstrip())
