"""Export: the archive holds the customer's data (markers) and attachment files; only the requester downloads it,
once; the file is then gone from storage."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from helpdesk.errors import Conflict, NotAllowed
from helpdesk.models import AuditAction, AuditEvent
from privacy.export import private_storage
from privacy.models import RequestKind, RequestStatus
from privacy.services import data_export_download, data_request_create, data_request_decide

from .conftest import PROFILE, TAG


def approved_export(planted, *, asked_by, approved_by):
    request = data_request_create(actor=asked_by, customer=planted.customer, kind=RequestKind.EXPORT, reason="DSR-7")
    return data_request_decide(request=request, actor=approved_by, approve=True)


def test_the_archive_holds_every_planted_datum_and_the_attachments(planted, manager, admin_user):
    request = approved_export(planted, asked_by=manager, approved_by=admin_user)
    assert request.status == RequestStatus.READY
    handle = data_export_download(request=request, actor=manager)
    archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    handle.close()
    names = archive.namelist()
    manifest = json.loads(archive.read("manifest.json"))
    assert set(manifest["contents"]) | {"manifest.json"} == set(names)
    profile = json.loads(archive.read("profile.json"))
    assert {key: profile[key] for key in PROFILE} == PROFILE
    assert profile["organization"]["name"] == "Northwind"
    everything = "\n".join(archive.read(name).decode("utf-8", "replace") for name in names).lower()
    assert [m for m in planted.markers if m != "447700900461" and m.lower() not in everything] == []
    files = sorted(name for name in names if name.startswith("files/"))
    assert len(files) == 20
    first = next(name for name in files if name.endswith(f"{TAG}attach00.txt"))
    assert archive.read(first) == f"{TAG}file00 log line".encode()
    events = json.loads(archive.read("data/helpdesk.TicketEvent.json"))
    assert {row["fields"]["is_public"] for row in events} == {True, False}  # internal notes included, marked
    audit = AuditEvent.objects.get(action=AuditAction.DATA_EXPORT)
    assert (audit.target_type, audit.target_id, audit.detail["files"]) == ("user", str(planted.customer.pk), 20)


def test_the_archive_downloads_once_then_is_deleted(planted, manager, admin_user, client):
    request = approved_export(planted, asked_by=manager, approved_by=admin_user)
    assert private_storage().exists(request.archive_name)
    client.force_login(manager)

    first = client.get(f"/privacy/requests/{request.pk}/download/")
    assert first.status_code == 200
    assert first["Content-Disposition"].startswith('attachment; filename="personal-data-export-')
    body = b"".join(first.streaming_content)
    assert zipfile.ZipFile(io.BytesIO(body)).read("manifest.json")
    assert not private_storage().exists(request.archive_name)

    second = client.get(f"/privacy/requests/{request.pk}/download/")
    assert second.status_code == 409
    assert "This archive was already downloaded" in second.content.decode()
    assert "has been deleted" in second.content.decode()
    request.refresh_from_db()
    assert request.status == RequestStatus.DOWNLOADED and request.downloaded_at is not None


def test_only_the_requester_may_download(planted, manager, admin_user, client):
    request = approved_export(planted, asked_by=manager, approved_by=admin_user)
    with pytest.raises(NotAllowed, match=re.escape("Only the person who asked for this export may download it.")):
        data_export_download(request=request, actor=admin_user)
    client.force_login(admin_user)
    assert client.get(f"/privacy/requests/{request.pk}/download/").status_code == 403
    request.refresh_from_db()
    assert request.status == RequestStatus.READY  # still there for its requester


def test_a_pending_export_cannot_be_downloaded(planted, manager):
    request = data_request_create(actor=manager, customer=planted.customer, kind=RequestKind.EXPORT)
    with pytest.raises(Conflict, match="The archive is not ready"):
        data_export_download(request=request, actor=manager)


def test_a_large_export_is_built_by_the_celery_task(
    planted, manager, admin_user, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from privacy.tasks import data_export_task

    settings.PRIVACY_EXPORT_SYNC_MAX_TICKETS = 5
    sent = []
    monkeypatch.setattr(data_export_task, "delay", sent.append)  # the broker is not the point; the body runs below
    with django_capture_on_commit_callbacks(execute=True):
        request = approved_export(planted, asked_by=manager, approved_by=admin_user)
    assert request.status == RequestStatus.RUNNING and sent == [request.pk]
    data_export_task(request.pk)
    data_export_task(request.pk)  # a redelivered message changes nothing
    request.refresh_from_db()
    assert request.status == RequestStatus.READY
    assert AuditEvent.objects.filter(action=AuditAction.DATA_EXPORT).count() == 1
