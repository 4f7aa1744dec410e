"""The retention sweep: closed tickets whose plan's retention period has passed get their personal data anonymised.

Batched and state-guarded like the SLA sweep: each batch takes the oldest due tickets (``select_for_update`` with
``skip_locked``, so two sweeps never take the same rows), anonymises them, marks them (``AnonymisedTicket``) and writes
one ``AuditAction.RETENTION`` row, all in one transaction. A sweep killed mid-batch leaves that batch untouched (and
unaudited); the rerun does it. A ticket is anonymised exactly once and a rerun finds nothing to do. The customer's
account is not touched: they may still be a customer; erasing the person is a data-protection request.

The sweep also runs the other apps' retention purges (``helpdesk.retention``: e.g. guest chats whose email was never
confirmed), each audited with what it deleted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from helpdesk import audit
from helpdesk.models import AuditAction, Plan, Status, Ticket, User
from helpdesk.retention import retention_purges
from privacy.anonymise import personal_identifiers, tickets_anonymise
from privacy.models import AnonymisedTicket


@dataclass
class RetentionResult:
    batches: int = 0
    tickets: int = 0
    files: int = 0
    purged: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def tickets_past_retention(*, now: datetime):
    """Closed tickets past their plan's retention period, not anonymised yet, oldest first."""
    due = Q(pk__in=[])
    for plan_id, days in Plan.objects.filter(retention_days__isnull=False).values_list("pk", "retention_days"):
        due |= Q(organization__plan_id=plan_id, closed_at__lte=now - timedelta(days=days or 0))
    return (
        Ticket.objects.filter(due, status=Status.CLOSED, closed_at__isnull=False)
        .exclude(pk__in=AnonymisedTicket.objects.values("ticket_id"))
        .order_by("closed_at", "pk")
    )


def retention_batch(*, now: datetime, batch_size: int) -> tuple[int, int]:
    """One batch in one transaction: (tickets anonymised, files deleted); (0, 0) when nothing is due."""
    with transaction.atomic():
        ids = list(
            tickets_past_retention(now=now)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return 0, 0
        identifiers: set[str] = set()
        for customer in User.objects.filter(pk__in=Ticket.objects.filter(pk__in=ids).values("customer_id")):
            identifiers.update(personal_identifiers(customer))
        counts = tickets_anonymise(
            ticket_ids=ids, identifiers=identifiers, cause=AnonymisedTicket.Cause.RETENTION, now=now
        )
        audit.record(
            AuditAction.RETENTION,
            target_type="ticket_batch",
            target_id=f"{ids[0]}-{ids[-1]}",
            detail={
                "tickets": counts["tickets"],
                "files": counts["files"],
                "ticket_ids": ids,
                "as_of": now.isoformat(),
            },
        )
        return counts["tickets"], counts["files"]


def retention_sweep(*, now: datetime, batch_size: int = 200) -> RetentionResult:
    """Anonymise every closed ticket past its plan's retention period, as of ``now``, batch by batch. Idempotent and
    resumable: each batch commits on its own; a rerun finds only what is still due."""
    if batch_size < 1:
        raise ValueError("The batch size must be at least 1.")
    result = RetentionResult()
    while True:
        tickets, files = retention_batch(now=now, batch_size=batch_size)
        if not tickets:
            result.purged = retention_purge(now=now)
            return result
        result.batches += 1
        result.tickets += tickets
        result.files += files


def retention_purge(*, now: datetime) -> int:
    """Run the other apps' retention purges (``helpdesk.retention``) as of ``now``; each that deleted anything is
    audited (one ``AuditAction.RETENTION`` row, in its transaction). Returns the rows deleted. Idempotent."""
    total = 0
    for name, purge in retention_purges():
        with transaction.atomic():
            deleted = purge(now=now)
            if deleted:
                audit.record(
                    AuditAction.RETENTION,
                    target_type="purge",
                    target_id=name,
                    detail={"purge": name, "deleted": deleted, "as_of": now.isoformat()},
                )
        total += deleted
    return total
