"""Data-protection requests: ask, approve (a second person), carry out (export or erasure), download once.

The four-eyes rule is the escalations' one (``escalations.approvals.approval_require_second_person``, which the
compensation approvals call too): nobody decides their own request; the decision is one conditional UPDATE, so two
approvers racing decide it once. The request is not a ``CompensationRequest`` (that is money against tier limits);
approvers here are managers and administrators.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from escalations.approvals import approval_require_second_person
from escalations.models import Escalation, EscalationType
from escalations.services import escalation_can_handle
from helpdesk import audit
from helpdesk.errors import Conflict, Invalid, NotAllowed, NotFound
from helpdesk.models import AuditAction, Ticket, User
from privacy.anonymise import person_anonymise, personal_identifiers, tickets_anonymise
from privacy.export import archive_build, private_storage
from privacy.models import AnonymisedTicket, DataRequest, RequestKind, RequestStatus


def customer_is_erased(customer: User) -> bool:
    return DataRequest.objects.filter(customer=customer, kind=RequestKind.ERASURE, status=RequestStatus.DONE).exists()


def data_request_may_ask(*, user: User, escalation: Escalation | None = None) -> bool:
    """Managers and administrators may ask for any customer; the handlers of a compliance escalation may ask for
    that ticket's customer from the escalation's screen."""
    if user.is_manager:
        return True
    return (
        escalation is not None
        and escalation.escalation_type == EscalationType.COMPLIANCE
        and escalation_can_handle(user=user, escalation=escalation)
    )


@transaction.atomic
def data_request_create(
    *,
    actor: User,
    customer: User,
    kind: str,
    reason: str = "",
    escalation: Escalation | None = None,
    now: datetime | None = None,
) -> DataRequest:
    """Ask for an export or an erasure of one customer's data; it waits for a second person's approval. Atomic."""
    now = now or timezone.now()
    if kind not in RequestKind.values:
        raise Invalid(f"Unknown request kind {kind!r}: choose export or erasure.", extra={"field": "kind"})
    if not customer.is_customer:
        raise Invalid("Data requests are about a customer account, not a staff member.", extra={"field": "customer"})
    if escalation is not None:
        if escalation.escalation_type != EscalationType.COMPLIANCE:
            raise Invalid("Only a compliance escalation can carry out a data-protection request.")
        if escalation.ticket.customer_id != customer.pk:
            raise Invalid("This escalation's ticket belongs to another customer.")
    if not data_request_may_ask(user=actor, escalation=escalation):
        raise NotAllowed("Only managers, administrators and the handlers of a compliance escalation may ask for this.")
    if customer_is_erased(customer):
        raise Conflict("This customer's data has already been erased; there is nothing left to export or erase.")
    if DataRequest.objects.filter(customer=customer, kind=kind, status=RequestStatus.PENDING).exists():
        raise Conflict("The same request for this customer is already waiting for approval.")
    return DataRequest.objects.create(
        kind=kind,
        customer=customer,
        escalation=escalation,
        reason=(reason or "").strip(),
        requested_by=actor,
        created_at=now,
    )


def data_request_decide(
    *, request: DataRequest, actor: User, approve: bool, note: str = "", now: datetime | None = None
) -> DataRequest:
    """Approve (and carry out) or reject a pending request. Only a manager or administrator who did not ask for it
    decides; a rejection needs a note. An approved erasure runs at once, in the approval's transaction; an export is
    built at once when the customer has at most ``PRIVACY_EXPORT_SYNC_MAX_TICKETS`` tickets, otherwise by a Celery
    task queued on commit."""
    now = now or timezone.now()
    if not actor.is_manager:
        raise NotAllowed("Only a manager or an administrator may approve a data-protection request.")
    approval_require_second_person(
        requested_by_id=request.requested_by_id,
        actor=actor,
        what=gettext("data-protection request"),
        who=gettext("another manager or administrator"),
    )
    if not approve and not (note or "").strip():
        raise Invalid("Say why the request is rejected.", extra={"field": "note"})
    status = RequestStatus.RUNNING if approve else RequestStatus.REJECTED
    with transaction.atomic():
        decided = DataRequest.objects.filter(pk=request.pk, status=RequestStatus.PENDING).update(
            status=status, decided_by=actor, decided_at=now, decision_note=(note or "").strip()
        )
        if not decided:
            raise Conflict("This request has already been decided.")
        audit.record(
            AuditAction.APPROVAL,
            actor=actor,
            target=request,
            target_type="data_request",
            detail={"kind": request.kind, "approved": approve, "requested_by": request.requested_by_id},
        )
        if approve and request.kind == RequestKind.ERASURE:
            # In the approval's transaction: an erasure that fails leaves the request pending, never half-done.
            customer_erase(request=request, actor=actor, now=now)
    request.refresh_from_db()
    if not approve or request.kind == RequestKind.ERASURE:
        return request
    if Ticket.objects.filter(customer_id=request.customer_id).count() <= settings.PRIVACY_EXPORT_SYNC_MAX_TICKETS:
        data_export_build(request_id=request.pk, now=now)
    else:
        from privacy.tasks import data_export_task

        transaction.on_commit(lambda: data_export_task.delay(request.pk))
    request.refresh_from_db()
    return request


@transaction.atomic
def customer_erase(*, request: DataRequest, actor: User | None, now: datetime | None = None) -> dict[str, int]:
    """Erase a customer: anonymise their tickets (text tombstoned, files deleted; shape, timings and statistics
    kept), their account and what is theirs elsewhere, then audit it (counts only, never the erased data).
    Irreversible. Atomic; a rerun of a done request is refused."""
    now = now or timezone.now()
    request = DataRequest.objects.select_for_update().get(pk=request.pk)
    if request.kind != RequestKind.ERASURE or request.status != RequestStatus.RUNNING:
        raise Conflict("Only an approved erasure request can be carried out.")
    customer = User.objects.select_for_update().get(pk=request.customer_id)
    identifiers = personal_identifiers(customer)
    ticket_ids = list(Ticket.objects.filter(customer=customer).order_by("pk").values_list("pk", flat=True))
    # Tickets the retention sweep already anonymised still get the person's identifiers redacted from them.
    AnonymisedTicket.objects.filter(ticket_id__in=ticket_ids).delete()
    counts = tickets_anonymise(
        ticket_ids=ticket_ids, identifiers=identifiers, cause=AnonymisedTicket.Cause.ERASURE, now=now
    )
    person_anonymise(user=customer, identifiers=identifiers)
    DataRequest.objects.filter(pk=request.pk).update(status=RequestStatus.DONE, completed_at=now)
    audit.record(
        AuditAction.ERASURE,
        actor=actor,
        target_type="user",
        target_id=customer.pk,
        detail={"request": request.pk, "tickets": counts["tickets"], "files": counts["files"]},
    )
    return counts


def data_export_build(*, request_id: int, now: datetime | None = None) -> DataRequest:
    """Build the approved export's archive in private storage and mark it ready for its requester. Idempotent: a
    request that is no longer running (built, downloaded) is left alone."""
    now = now or timezone.now()
    request = DataRequest.objects.select_related("customer").get(pk=request_id)
    if request.kind != RequestKind.EXPORT or request.status != RequestStatus.RUNNING:
        return request
    name, size, counts = archive_build(customer=request.customer, request_id=request.pk, now=now)
    with transaction.atomic():
        updated = DataRequest.objects.filter(pk=request.pk, status=RequestStatus.RUNNING).update(
            status=RequestStatus.READY, archive_name=name, archive_size=size, completed_at=now
        )
        if not updated:  # another worker finished first: keep theirs
            private_storage().delete(name)
        else:
            audit.record(
                AuditAction.DATA_EXPORT,
                actor=request.decided_by,
                target_type="user",
                target_id=request.customer_id,
                detail={"request": request.pk, "tickets": counts["tickets"], "files": counts["files"], "bytes": size},
            )
    request.refresh_from_db()
    return request


def data_export_download(*, request: DataRequest, actor: User, now: datetime | None = None):
    """Hand the archive to its requester, once: the request is marked downloaded by one conditional UPDATE and the
    file is deleted from storage as it is opened (the open handle still reads it). Returns an open binary file."""
    now = now or timezone.now()
    if request.kind != RequestKind.EXPORT:
        raise Invalid("Only an export has an archive to download.")
    if request.requested_by_id != actor.pk:
        raise NotAllowed("Only the person who asked for this export may download it.")
    if request.status == RequestStatus.DOWNLOADED:
        when = request.downloaded_at.strftime("%Y-%m-%d %H:%M UTC") if request.downloaded_at else "earlier"
        raise Conflict(
            f"This archive was already downloaded ({when}) and has been deleted. Ask for a new export if you need it again."
        )
    if request.status != RequestStatus.READY:
        raise Conflict(f"The archive is not ready: the request is {request.get_status_display().lower()}.")
    storage = private_storage()
    with transaction.atomic():
        taken = DataRequest.objects.filter(pk=request.pk, status=RequestStatus.READY).update(
            status=RequestStatus.DOWNLOADED, downloaded_at=now
        )
        if not taken:
            raise Conflict("This archive was already downloaded and has been deleted. Ask for a new export.")
        try:
            handle = storage.open(request.archive_name, "rb")
        except FileNotFoundError as exc:
            raise NotFound("The archive file is missing from storage; ask for a new export.") from exc
    storage.delete(request.archive_name)
    return handle
