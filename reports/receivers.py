"""What keeps the daily rollups (``reports.metrics.rollups``) in step with the facts: after a transaction that
recorded ticket events commits, the days those tickets' facts count on are marked for the refresh task; knowledge-base
articles and organisations, which change metrics without a ticket event, mark the days they affect."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

_local = threading.local()


@dataclass
class _PendingTickets:
    """Tickets with events in the current transaction; one ``flush`` runs after its commit."""

    ticket_ids: set[int] = field(default_factory=set)
    flushed: bool = False
    # Where ``flush`` sits in the connection's ``run_on_commit`` list (its length once registered).
    slot: int = 0

    def flush(self) -> None:
        from reports.metrics.rollups import rollups_mark_tickets

        self.flushed = True
        rollups_mark_tickets(ticket_ids=self.ticket_ids)


def _flush_registered(pending: _PendingTickets | None) -> bool:
    """Whether ``pending`` will still flush after the current transaction commits (not yet run, not discarded).
    Looked up where it was registered, not by scanning every callback (a batch of events queues thousands of
    them): callbacks are only ever appended, or dropped with a rolled-back savepoint, so if ``flush`` is not at its
    slot it was dropped (or shifted by a drop before it: then a second flush is registered, and marking twice is
    harmless)."""
    if pending is None or pending.flushed:
        return False
    callbacks = transaction.get_connection().run_on_commit
    return 0 < pending.slot <= len(callbacks) and callbacks[pending.slot - 1][1] == pending.flush


def on_ticket_event_recorded(sender: Any, *, event: Any, ticket: Any, **kwargs: Any) -> None:
    """Every service records a ticket event for each change it makes, so one receiver sees every changed ticket.
    Marking waits for the commit: a rolled-back change marks nothing, and a transaction with many events marks
    each ticket's days once."""
    pending: _PendingTickets | None = getattr(_local, "pending", None)
    if _flush_registered(pending):
        pending.ticket_ids.add(ticket.pk)  # type: ignore[union-attr]
        return
    pending = _PendingTickets(ticket_ids={ticket.pk})
    _local.pending = pending
    transaction.on_commit(pending.flush)
    pending.slot = len(transaction.get_connection().run_on_commit)


def on_article_saved(sender: Any, *, instance: Any, **kwargs: Any) -> None:
    """A published (or archived) article changes which escalations of its category were avoidable."""
    if instance.category_id is None:
        return
    from escalations.models import Escalation
    from reports.metrics.rollups import rollups_mark_escalations

    escalations = Escalation.objects.filter(ticket__category_id=instance.category_id)
    transaction.on_commit(lambda: rollups_mark_escalations(escalations))


def on_organization_saved(sender: Any, *, instance: Any, created: bool, **kwargs: Any) -> None:
    """Every metric splits by the organisation's *current* plan, so a plan change moves its tickets' history."""
    if created:
        return
    from helpdesk.models import Ticket
    from reports.metrics.rollups import rollups_mark_days, ticket_rollup_days

    tickets = Ticket.objects.filter(organization_id=instance.pk)
    transaction.on_commit(lambda: rollups_mark_days(days=ticket_rollup_days(tickets)))
