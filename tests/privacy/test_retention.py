"""Retention: closed tickets past their plan's retention period are anonymised exactly once, batch by batch, one
audit row per batch; a sweep killed mid-batch leaves that batch untouched and the rerun finishes the job."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from helpdesk.models import AuditAction, AuditEvent, Ticket
from privacy import anonymise
from privacy.models import AnonymisedTicket
from privacy.retention import retention_sweep


def retention_audits():
    return list(AuditEvent.objects.filter(action=AuditAction.RETENTION).order_by("pk"))


def test_nothing_is_due_before_the_period_ends(closed_tickets):
    due, _, _ = closed_tickets
    closed_at = max(t.closed_at for t in due)
    assert retention_sweep(now=closed_at + timedelta(days=29)).tickets == 0
    assert retention_audits() == []


def test_the_sweep_anonymises_due_closed_tickets_exactly_once_in_batches(closed_tickets, customer):
    due, still_open, kept = closed_tickets
    now = max(t.closed_at for t in due) + timedelta(days=31)

    result = retention_sweep(now=now, batch_size=3)

    assert (result.batches, result.tickets) == (3, 7)
    assert set(AnonymisedTicket.objects.values_list("ticket_id", flat=True)) == {t.pk for t in due}
    assert set(Ticket.objects.filter(pk__in=[t.pk for t in due]).values_list("subject", flat=True)) == {"[erased]"}
    assert not Ticket.objects.get(pk=due[0].pk).events.filter(body__contains="retained").exists()
    assert Ticket.objects.get(pk=still_open.pk).subject == "open subject"
    assert Ticket.objects.get(pk=kept[0].pk).subject == "retained subject 100"
    assert [row.detail["tickets"] for row in retention_audits()] == [3, 3, 1]
    customer.refresh_from_db()
    assert customer.is_active and customer.username == "customer"  # the person stays; only the old tickets go
    # a rerun finds nothing to do
    assert retention_sweep(now=now, batch_size=3).tickets == 0
    assert len(retention_audits()) == 3


def test_a_sweep_killed_mid_batch_is_resumed_and_each_ticket_done_once(closed_tickets, monkeypatch):
    due, _, _ = closed_tickets
    now = max(t.closed_at for t in due) + timedelta(days=31)
    real = anonymise._rows_scrub
    calls = {"n": 0}

    def dies_in_the_second_batch(queryset, holding, redactor):
        # the first batch touches every holding once (~17 calls); die half-way through the second batch
        calls["n"] += 1
        if calls["n"] == 25:
            raise RuntimeError("worker killed")
        return real(queryset, holding, redactor)

    monkeypatch.setattr(anonymise, "_rows_scrub", dies_in_the_second_batch)
    with pytest.raises(RuntimeError, match="worker killed"):
        retention_sweep(now=now, batch_size=3)
    # the first batch is done and audited; the second left no trace (no half-anonymised ticket, no audit row)
    done = set(AnonymisedTicket.objects.values_list("ticket_id", flat=True))
    assert len(done) == 3 and len(retention_audits()) == 1
    half = [t for t in due if t.pk not in done]
    assert [Ticket.objects.get(pk=t.pk).subject for t in half] == [t.subject for t in half]

    monkeypatch.setattr(anonymise, "_rows_scrub", real)
    result = retention_sweep(now=now, batch_size=3)

    assert result.tickets == 4
    assert AnonymisedTicket.objects.count() == 7
    audits = retention_audits()
    assert [row.detail["tickets"] for row in audits] == [3, 3, 1]
    ids = [pk for row in audits for pk in row.detail["ticket_ids"]]
    assert sorted(ids) == sorted(t.pk for t in due)  # every ticket in exactly one audited batch


def test_the_command_runs_the_sweep_as_of_a_moment(closed_tickets, capsys):
    due, _, _ = closed_tickets
    at = (max(t.closed_at for t in due) + timedelta(days=31)).replace(tzinfo=None).isoformat()
    call_command("retention_sweep", "--at", at, "--batch-size", "5")
    out = json.loads(capsys.readouterr().out)
    assert (out["tickets"], out["batches"]) == (7, 2)
    assert out["at"].endswith("+00:00")


def test_the_command_refuses_bad_input(db):
    with pytest.raises(CommandError, match=re.escape("--at must be an ISO-8601 date and time, not 'yesterday'.")):
        call_command("retention_sweep", "--at", "yesterday")
    with pytest.raises(CommandError, match=re.escape("--batch-size must be at least 1.")):
        call_command("retention_sweep", "--batch-size", "0")


def test_the_beat_schedule_runs_the_sweep_task(settings, closed_tickets):
    from privacy.tasks import retention_sweep_task

    entry = settings.CELERY_BEAT_SCHEDULE["privacy-retention-sweep"]
    assert entry["task"] == retention_sweep_task.name == "privacy.tasks.retention_sweep_task"
    due, _, _ = closed_tickets
    at = (max(t.closed_at for t in due) + timedelta(days=31)).isoformat()
    assert retention_sweep_task(at)["tickets"] == 7
    assert retention_sweep_task(at)["tickets"] == 0
    assert timezone.is_aware(due[0].closed_at)


def test_a_batch_costs_the_same_statements_whatever_its_size(closed_tickets):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from privacy.retention import retention_batch

    due, _, _ = closed_tickets
    now = max(t.closed_at for t in due) + timedelta(days=31)
    assert retention_batch(now=now, batch_size=1) == (1, 0)  # warms the content-type cache
    with CaptureQueriesContext(connection) as two:
        assert retention_batch(now=now, batch_size=2) == (2, 0)
    with CaptureQueriesContext(connection) as four:
        assert retention_batch(now=now, batch_size=4) == (4, 0)
    assert len(two) == len(four)
    with CaptureQueriesContext(connection) as idle:
        assert retention_batch(now=now, batch_size=4) == (0, 0)
    assert len(idle) <= 4  # the plans, the due rows, and the savepoint around them


def test_an_admin_sets_a_plans_retention_period(admin_user, plans, client):
    client.force_login(admin_user)
    plan = plans["basic"]
    page = client.get(f"/admin/helpdesk/plan/{plan.pk}/change/")
    assert 'name="retention_days"' in page.content.decode()
    data = {"code": "basic", "name": "Basic", "rank": 1, "description": "", "promise": "", "reopen_window_days": 14}
    response = client.post(f"/admin/helpdesk/plan/{plan.pk}/change/", {**data, "retention_days": "400"})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.retention_days == 400
    response = client.post(f"/admin/helpdesk/plan/{plan.pk}/change/", {**data, "retention_days": "0"})
    assert (
        response.status_code == 200 and "Ensure this value is greater than or equal to 1." in response.content.decode()
    )


def test_unconfirmed_guest_chats_are_deleted_after_the_contact_forms_window(customer, settings, tmp_path):
    from chat.guest import chat_guest_end, chat_guest_start, chat_guest_ticket_open
    from chat.models import ChatMessage, ChatSession

    def start(i):
        return chat_guest_start(
            name="Vic", email=f"g{i}@guest.test", category=None, first_message="Hello there.", ip=f"10.0.0.{i}"
        )

    old_ended, abandoned, still_talking, confirmed, recent = (start(i) for i in range(5))
    for session in (old_ended, confirmed, recent):
        chat_guest_end(session=session, key=session.guest_key)
    chat_guest_ticket_open(help_request_id=confirmed.guest_request_id, customer=customer)
    window = timedelta(seconds=settings.HELP_CENTRE_CONFIRM_MAX_AGE)
    now = timezone.now() + window + timedelta(hours=2)
    # the recent one ended an hour before the sweep; the one still talking wrote an hour before it
    ChatSession.objects.filter(pk=recent.pk).update(ended_at=now - timedelta(hours=1))
    ChatMessage.objects.filter(session=still_talking).update(created_at=now - timedelta(hours=1))

    result = retention_sweep(now=now)

    # then: the ended and the abandoned unconfirmed chats are gone with their messages (name, email, address)
    assert result.purged == 2
    assert set(ChatSession.objects.values_list("pk", flat=True)) == {still_talking.pk, confirmed.pk, recent.pk}
    assert not ChatMessage.objects.filter(session_id__in=[old_ended.pk, abandoned.pk]).exists()
    assert [row.detail for row in retention_audits()] == [
        {"purge": "chat.guest_unconfirmed", "deleted": 2, "as_of": now.isoformat()}
    ]
    # and a rerun finds nothing
    assert retention_sweep(now=now).purged == 0
    assert len(retention_audits()) == 1
