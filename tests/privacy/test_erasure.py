"""Erasure: after erasing a customer with 20 tickets, none of their planted markers remains in any table, file or
search result, while the manager dashboard's numbers are unchanged."""

from __future__ import annotations

import pytest
from django.utils import timezone

from helpdesk.models import AuditAction, AuditEvent, Ticket, TicketEvent, User
from privacy.models import DataRequest, RequestKind, RequestStatus
from privacy.services import data_request_create, data_request_decide

from .conftest import PROFILE, TAG, markers_in_models, markers_in_sql_dump, markers_in_storage


def dashboard_numbers(viewer, now) -> dict:
    """Every number the manager dashboard and the reports show: all metrics (value, previous, sample), the weekly
    series, the breakdowns and the panels' figures."""
    from reports import dashboard, metrics

    period = metrics.MetricFilters.last_days(now=now, days=84)
    tiles = metrics.metric_tiles(list(metrics.METRICS), filters=period, viewer=viewer)
    numbers: dict = {t.metric.key: (t.value, t.previous, t.sample, t.previous_sample) for t in tiles}
    for key, metric in metrics.METRICS.items():
        numbers[f"{key}_weekly"] = repr(metrics.metric_series(key, filters=period, viewer=viewer))
        for by in metrics.dimensions_of(metric.source):
            numbers[f"{key}_by_{by}"] = repr(metrics.metric_breakdown(key, by=by, filters=period, viewer=viewer))
    numbers["escalation_rate_by_type"] = sorted(
        repr(r) for r in metrics.escalation_rate_by_type(filters=period, viewer=viewer)
    )
    numbers["breaches"] = repr(dashboard.sla_breaches_by_team_and_plan(filters=period, viewer=viewer))
    numbers["compensation"] = repr(dashboard.compensation_granted(filters=period, viewer=viewer))
    numbers["deflections"] = dashboard.kb_deflections(filters=period, now=now)
    attention = dashboard.needs_attention(viewer=viewer, now=now, period=period)
    numbers["attention"] = {
        key: (len(value) if isinstance(value, list | tuple) else value)
        for key, value in attention.items()
        if isinstance(value, int | list | tuple)
    }
    return numbers


def erase(customer, *, asked_by, approved_by):
    request = data_request_create(actor=asked_by, customer=customer, kind=RequestKind.ERASURE, reason="DSR-1")
    return data_request_decide(request=request, actor=approved_by, approve=True)


def test_erasing_a_customer_leaves_no_marker_anywhere_and_the_dashboard_unchanged(planted, manager, admin_user, client):
    # given: the markers are all there, in the tables and the files
    markers = planted.markers
    as_typed = [m for m in markers if m != "447700900461"]  # the phone as digits is only looked for afterwards
    assert [m for m in as_typed if not (markers_in_models([m]) or markers_in_storage([m]))] == []
    client.force_login(manager)
    searches = (f"{TAG}subj05", PROFILE["last_name"], PROFILE["email"], PROFILE["username"])

    def search_hits(client):
        hits = {}
        for query in searches:
            page = client.get("/tickets/", {"q": query, "scope": "all", "status": "any"})
            assert page.status_code == 200
            hits[query] = page.content.decode().count(f"/tickets/{planted.tickets[5].reference}/")
        return hits

    assert all(search_hits(client).values())
    assert markers_in_sql_dump([f"{TAG}subj00", f"{TAG}msg19", PROFILE["email"]]) != []
    now = timezone.now()
    before = dashboard_numbers(manager, now)
    assert before["tickets"][0] >= 20 and before["escalations"][0] >= 2
    shape_before = list(
        TicketEvent.objects.order_by("pk").values_list("pk", "ticket_id", "kind", "is_public", "created_at")
    )
    tickets_before = list(
        Ticket.objects.order_by("pk").values_list(
            "pk", "status", "priority", "created_at", "resolved_at", "closed_at", "sla_due_at"
        )
    )

    # when
    request = erase(planted.customer, asked_by=manager, approved_by=admin_user)

    # then: nothing of theirs remains in any column, in a raw dump of every table, in storage
    assert request.status == RequestStatus.DONE
    assert markers_in_models(markers) == []
    assert markers_in_sql_dump(markers) == []
    assert markers_in_storage(markers) == []
    # ... nor can the staff search find them (it found each before)
    assert search_hits(client) == dict.fromkeys(searches, 0)
    # ... while the tickets keep their shape and every report number is the same
    assert dashboard_numbers(manager, now) == before
    assert (
        list(TicketEvent.objects.order_by("pk").values_list("pk", "ticket_id", "kind", "is_public", "created_at"))
        == shape_before
    )
    assert (
        list(
            Ticket.objects.order_by("pk").values_list(
                "pk", "status", "priority", "created_at", "resolved_at", "closed_at", "sla_due_at"
            )
        )
        == tickets_before
    )
    assert Ticket.objects.filter(customer=planted.customer).count() == 20
    assert set(Ticket.objects.values_list("subject", flat=True)) == {"[erased]"}
    # the account is irreversibly anonymised
    customer = User.objects.get(pk=planted.customer.pk)
    assert (customer.username, customer.email, customer.phone, customer.is_active) == (
        f"erased-{customer.pk}",
        "",
        "",
        False,
    )
    assert not customer.has_usable_password()
    assert not client.login(username=PROFILE["username"], password="pw-customer")


def test_the_erasure_is_audited_without_the_erased_data(planted, manager, admin_user):
    erase(planted.customer, asked_by=manager, approved_by=admin_user)
    row = AuditEvent.objects.get(action=AuditAction.ERASURE)
    assert (row.actor, row.target_type, row.target_id) == (admin_user, "user", str(planted.customer.pk))
    assert row.detail["tickets"] == 20 and row.detail["files"] == 20
    assert not any(m in str(row.detail).lower() for m in planted.markers)
    assert AuditEvent.objects.filter(action=AuditAction.APPROVAL, target_type="data_request").count() == 1


def test_an_erased_customer_cannot_be_erased_or_exported_again(planted, manager, admin_user):
    from helpdesk.errors import Conflict

    erase(planted.customer, asked_by=manager, approved_by=admin_user)
    for kind in (RequestKind.ERASURE, RequestKind.EXPORT):
        with pytest.raises(Conflict, match="already been erased"):
            data_request_create(actor=manager, customer=planted.customer, kind=kind)
    assert DataRequest.objects.count() == 1


def test_an_erased_attachment_answers_no_longer_available(planted, manager, admin_user, client):
    attachment = planted.tickets[3].attachments.first()
    erase(planted.customer, asked_by=manager, approved_by=admin_user)
    client.force_login(manager)
    response = client.get(f"/attachments/{attachment.pk}/")
    assert response.status_code == 404


def test_the_customers_sign_ins_are_exported_and_lose_their_address_on_erasure(planted, manager, admin_user):
    import io
    import json
    import zipfile

    from helpdesk import audit
    from privacy.services import data_export_download

    audit.record(AuditAction.SIGN_IN, actor=planted.customer, detail={"method": "password"})
    AuditEvent.objects.filter(actor=planted.customer).update(ip_address="203.0.113.7")
    request = data_request_create(actor=manager, customer=planted.customer, kind=RequestKind.EXPORT)
    request = data_request_decide(request=request, actor=admin_user, approve=True)
    archive = zipfile.ZipFile(io.BytesIO(data_export_download(request=request, actor=manager).read()))
    rows = json.loads(archive.read("data/helpdesk.AuditEvent.json"))
    assert [(r["fields"]["action"], r["fields"]["ip_address"]) for r in rows] == [("sign_in", "203.0.113.7")]

    erase(planted.customer, asked_by=manager, approved_by=admin_user)
    row = AuditEvent.objects.get(action=AuditAction.SIGN_IN)
    assert (row.actor_id, row.ip_address, row.actor_label) == (
        planted.customer.pk,
        None,
        f"erased-{planted.customer.pk}",
    )


def test_an_erasure_that_fails_half_way_changes_nothing_and_stays_pending(planted, manager, admin_user, monkeypatch):
    from privacy import services

    def storage_dies(**kwargs):
        raise OSError("storage unreachable")

    monkeypatch.setattr(services, "person_anonymise", storage_dies)
    request = data_request_create(actor=manager, customer=planted.customer, kind=RequestKind.ERASURE)
    with pytest.raises(OSError, match="storage unreachable"):
        data_request_decide(request=request, actor=admin_user, approve=True)
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING and request.decided_by is None
    assert Ticket.objects.get(pk=planted.tickets[0].pk).subject.startswith(TAG)
    assert not AuditEvent.objects.filter(action__in=[AuditAction.APPROVAL, AuditAction.ERASURE]).exists()
    # approved again once the storage is back: done
    monkeypatch.undo()
    assert data_request_decide(request=request, actor=admin_user, approve=True).status == RequestStatus.DONE


def test_an_erasure_deletes_the_persons_credentials(customer, manager, admin_user):
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from helpdesk.models import ApiToken, SsoIdentity

    TOTPDevice.objects.create(user=customer, name="phone")
    StaticDevice.objects.create(user=customer, name="recovery").token_set.create(token="abc123")
    SsoIdentity.objects.create(user=customer, issuer="https://idp.example", subject="s-1")
    ApiToken.objects.create(user=customer, name="script", prefix="p", digest="d")

    erase(customer, asked_by=manager, approved_by=admin_user)

    assert not TOTPDevice.objects.filter(user=customer).exists()
    assert not StaticDevice.objects.filter(user=customer).exists()
    assert not SsoIdentity.objects.filter(user=customer).exists()
    assert not ApiToken.objects.filter(user=customer).exists()
