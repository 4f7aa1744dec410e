"""``python manage.py i18n_check``: fail when a translated screen has an unmarked or untranslated string."""

from django.core.management.base import BaseCommand, CommandError

from helpdesk.i18n_check import catalog_gaps, templates_unmarked


class Command(BaseCommand):
    help = "Fail when a translated template has unmarked words or a language lacks a translation."

    def add_arguments(self, parser):
        parser.add_argument("--templates-only", action="store_true", help="Skip the catalogues (no gettext needed).")

    def handle(self, *args, templates_only: bool = False, **options):
        problems = [str(f) for f in templates_unmarked()]
        if not templates_only:
            problems += catalog_gaps()
        if problems:
            raise CommandError("Translations are incomplete:\n" + "\n".join(problems))
        self.stdout.write("Every string of the translated templates is marked and translated.")
