from django.core.management.base import BaseCommand

from knowledge_base.services import articles_reindex


class Command(BaseCommand):
    help = "Re-render article HTML (sanitiser) and refresh the search index. Safe to re-run."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        count = articles_reindex(batch_size=batch_size)
        self.stdout.write(f"Re-indexed {count} articles.")
