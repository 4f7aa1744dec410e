"""``python manage.py audit_verify FILE``: recompute an audit export's hash chain and signature.

Prints ``OK: N rows ...`` and exits 0 when the file is intact; otherwise names the first record that does not follow
(its line and row number) and exits 1. The key is the deployment's ``AUDIT_EXPORT_KEY`` (else ``SECRET_KEY``), so
verify on an installation configured like the one that exported.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from helpdesk.audit_export import verify_file


class Command(BaseCommand):
    help = "Verify the hash chain and the signature of an audit export (CSV or JSON Lines)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The exported .csv or .jsonl file.")

    def handle(self, *args, file: str, **options):
        try:
            verdict = verify_file(file)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file} is not a UTF-8 audit export.") from exc
        if not verdict.ok:
            raise CommandError(f"TAMPERED: {verdict.message}", returncode=1)
        self.stdout.write(verdict.message)
