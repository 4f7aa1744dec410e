"""On PostgreSQL (real row locks): two retention sweeps at once anonymise each ticket once, in audited batches that
never overlap; two approvers approving one erasure at once erase once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from helpdesk.errors import Conflict
from helpdesk.models import AuditAction, AuditEvent
from privacy.models import AnonymisedTicket, RequestKind, RequestStatus
from privacy.retention import retention_sweep
from privacy.services import data_request_create, data_request_decide
from tests.threads import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")


def test_two_sweeps_at_once_anonymise_each_ticket_once(closed_tickets):
    due, _, _ = closed_tickets
    now = max(t.closed_at for t in due) + timedelta(days=31)

    results = run_together(
        lambda: retention_sweep(now=now, batch_size=2), lambda: retention_sweep(now=now, batch_size=2)
    )

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(r.tickets for r in results) == 7
    assert AnonymisedTicket.objects.count() == 7
    batches = [row.detail["ticket_ids"] for row in AuditEvent.objects.filter(action=AuditAction.RETENTION)]
    ids = [pk for batch in batches for pk in batch]
    assert sorted(ids) == sorted(t.pk for t in due)  # every ticket in exactly one audited batch


def test_two_approvers_at_once_erase_once(customer, manager, admin_user, second_admin, make_ticket):
    make_ticket(customer, subject="Forget me")
    request = data_request_create(actor=manager, customer=customer, kind=RequestKind.ERASURE)

    results = run_together(
        lambda: data_request_decide(request=request, actor=admin_user, approve=True),
        lambda: data_request_decide(request=request, actor=second_admin, approve=True),
    )

    assert sorted(type(r).__name__ for r in results) == ["Conflict", "DataRequest"]
    assert [str(r) for r in results if isinstance(r, Conflict)] == ["This request has already been decided."]
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE
    assert AuditEvent.objects.filter(action=AuditAction.ERASURE).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.APPROVAL).count() == 1
