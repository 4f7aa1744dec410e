"""Data protection: a customer's data exported as an archive (downloadable once), erased (anonymised everywhere,
keeping the statistics), and closed tickets anonymised after their plan's retention period.

- ``registry``: every model holding customer data, found by walking the app registry, and how each is handled;
- ``anonymise``: the one place that rewrites rows (including the append-only timeline) with queryset updates;
- ``export``: the archive; ``services``: requests, approval, download, erasure; ``retention``: the sweep.

Nothing imports this app; it is reached through its URLs, its Celery tasks and its management command.
"""
