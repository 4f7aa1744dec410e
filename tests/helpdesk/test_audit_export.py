"""The audit export: admins only, a period's ticket events and audit rows merged in time order, streamed as CSV or
JSON Lines with a hash chain and a signed final hash that ``manage.py audit_verify`` checks."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk import audit
from helpdesk.audit_export import COLUMNS, canonical, verify_file
from helpdesk.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def at(day, hour, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def trail(make_ticket, customer, agent, manager):
    """Before, inside and after the period 2 November (UTC): a ticket opened on the 1st and worked on the 2nd,
    a sign-in and a role change on the 2nd, a sign-out just after midnight on the 3rd."""
    from helpdesk.services import ticket_change_status

    with time_machine.travel(at(1, 23, 59), tick=False):
        ticket = make_ticket(customer, subject="Refund please")
    with time_machine.travel(at(2, 9), tick=False):
        audit.record(AuditAction.SIGN_IN, actor=agent, target=agent, detail={"via": "web"})
    with time_machine.travel(at(2, 10), tick=False):
        ticket_change_status(ticket=ticket, actor=agent, status="pending_customer", expected_version=ticket.version)
    with time_machine.travel(at(2, 23, 59), tick=False):
        audit.record(
            AuditAction.ROLE_CHANGED,
            actor=manager,
            target=agent,
            detail={"via": "admin", "changes": {"role": {"old": "agent", "new": "specialist"}}},
        )
    with time_machine.travel(at(3, 0), tick=False):
        audit.record(AuditAction.SIGN_OUT, actor=agent, target=agent)
    return ticket


def download(client, fmt="csv", date_from="02/11/2026", date_to="02/11/2026"):
    with time_machine.travel(at(5, 12), tick=False):
        return client.post("/audit/export/", {"date_from": date_from, "date_to": date_to, "format": fmt})


def body(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_the_csv_export_holds_the_period_in_time_order(client, admin_user, trail, agent, manager):
    client.force_login(admin_user)
    response = download(client, "csv")
    # then it is a streamed CSV download
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="audit-20261102-20261102.csv"'
    records = list(csv.DictReader(io.StringIO(body(response))))
    assert tuple(records[0]) == COLUMNS
    # with a header, the three events of 2 November (UTC) in time order, and a footer
    assert [r["record"] for r in records] == ["header", "event", "event", "event", "footer"]
    events = records[1:-1]
    assert [(r["seq"], r["at"], r["source"], r["action"], r["actor"]) for r in events] == [
        ("1", "2026-11-02T09:00:00Z", "account", "sign_in", "agent"),
        ("2", "2026-11-02T10:00:00Z", "ticket", "status_changed", "agent"),
        ("3", "2026-11-02T23:59:00Z", "account", "role_changed", "manager"),
    ]
    status_change = events[1]
    assert (status_change["target_type"], status_change["target_id"], status_change["public"]) == (
        "ticket",
        trail.reference,
        "true",
    )
    assert json.loads(status_change["detail"]) == {"from": "new", "to": "pending_customer"}
    assert json.loads(events[2]["detail"])["changes"] == {"role": {"old": "agent", "new": "specialist"}}
    # chained: each row names the hash of the row before it
    assert [r["prev_hash"] for r in records[1:]] == [r["hash"] for r in records[:-1]]
    footer = json.loads(records[-1]["detail"])
    assert footer["final_hash"] == events[-1]["hash"] and len(footer["signature"]) == 64
    assert json.loads(records[0]["detail"])["period"] == "2026-11-02 to 2026-11-02 (UTC)"


def test_the_json_lines_export_holds_the_same_rows(client, admin_user, trail):
    client.force_login(admin_user)
    response = download(client, "jsonl")
    assert response.streaming and response["Content-Type"] == "application/jsonl; charset=utf-8"
    records = [json.loads(line) for line in body(response).splitlines()]
    assert [(r["record"], r["action"]) for r in records] == [
        ("header", "audit_export"),
        ("event", "sign_in"),
        ("event", "status_changed"),
        ("event", "role_changed"),
        ("footer", "audit_export"),
    ]
    assert records[2]["detail"] == {"from": "new", "to": "pending_customer"}
    assert records[2]["public"] is True and records[1]["public"] is None
    # an event has the same canonical (hashed) form in both formats
    client.force_login(admin_user)
    csv_rows = list(csv.DictReader(io.StringIO(body(download(client, "csv")))))
    assert [canonical(r) for r in csv_rows[1:-1]] == [canonical(r) for r in records[1:-1]]


def test_the_export_is_itself_audited(client, admin_user, trail):
    client.force_login(admin_user)
    body(download(client, "jsonl"))
    (exported,) = AuditEvent.objects.filter(action="audit_export")
    assert exported.actor == admin_user
    assert exported.detail == {"from": "2026-11-02T00:00:00Z", "until": "2026-11-03T00:00:00Z", "format": "jsonl"}


@pytest.mark.parametrize("who", ["manager", "agent", "customer"])
def test_only_admins_may_export(client, request, who, trail):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/audit/export/").status_code == 403
    assert download(client).status_code == 403
    assert client.get("/api/audit/export/?from=2026-11-02&to=2026-11-02").status_code == 403
    assert not AuditEvent.objects.filter(action="audit_export").exists()


def test_the_page_is_in_the_admin_navigation_only(client, admin_user, manager):
    client.force_login(admin_user)
    assert 'href="/audit/export/"' in client.get("/audit/export/").content.decode()
    client.force_login(manager)
    assert 'href="/audit/export/"' not in client.get("/tickets/").content.decode()


def test_a_period_ending_before_it_starts_is_refused_on_the_form(client, admin_user):
    client.force_login(admin_user)
    response = download(client, date_from="03/11/2026", date_to="02/11/2026")
    assert response.status_code == 400
    assert "The end of the period is before its start." in response.content.decode()


def test_the_api_streams_the_export_for_an_admin(client, admin_user, trail):
    client.force_login(admin_user)
    response = client.get("/api/audit/export/?from=2026-11-02&to=2026-11-02&as=jsonl")
    assert response.status_code == 200 and response.streaming
    records = [json.loads(line) for line in body(response).splitlines()]
    assert [r["seq"] for r in records if r["record"] == "event"] == [1, 2, 3]


def test_the_api_refuses_a_bad_date_clearly(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/api/audit/export/?from=yesterday&to=2026-11-02")
    assert response.status_code == 400
    assert response.json()["date_from"] == ["Enter a date as YYYY-MM-DD."]


def test_the_export_reads_with_a_constant_number_of_queries(client, admin_user, trail, agent):
    client.force_login(admin_user)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            body(download(client, "csv"))
        return len(captured)

    few = queries()
    with time_machine.travel(at(2, 12), tick=False):
        for _ in range(50):
            audit.record(AuditAction.SIGN_IN, actor=agent)
    assert queries() == few


# --- verification ---------------------------------------------------------------------------------------------------


@pytest.fixture
def exported(tmp_path, client, admin_user, trail):
    def make(fmt):
        client.force_login(admin_user)
        path = tmp_path / f"audit.{fmt}"
        path.write_bytes(b"".join(download(client, fmt).streaming_content))
        return path

    return make


def verify(path) -> str:
    out = io.StringIO()
    call_command("audit_verify", str(path), stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_clean_export_verifies(exported, fmt):
    assert verify(exported(fmt)) == "OK: 3 rows, chain and signature verified.\n"


@pytest.mark.parametrize(("fmt", "line"), [("csv", 4), ("jsonl", 3)])
def test_one_changed_byte_in_a_middle_row_is_named(exported, fmt, line):
    # given the export, with one character of the status change row (row 2) altered
    path = exported(fmt)
    lines = path.read_text().splitlines(keepends=True)
    assert "pending_customer" in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace("pending_customer", "pending_custoMer")
    path.write_text("".join(lines))
    # then verification fails and names that line and row
    with pytest.raises(CommandError) as failure:
        verify(path)
    assert str(failure.value) == f"TAMPERED: line {line} (row 2): its content was changed (hash mismatch)."


@pytest.mark.parametrize(("fmt", "line"), [("csv", 4), ("jsonl", 3)])
def test_a_deleted_row_is_named(exported, fmt, line):
    path = exported(fmt)
    lines = path.read_text().splitlines(keepends=True)
    del lines[line - 1]
    path.write_text("".join(lines))
    with pytest.raises(CommandError) as failure:
        verify(path)
    assert str(failure.value) == (
        f"TAMPERED: line {line} (row 3): does not follow the record before it — a row was removed, inserted or "
        "reordered there."
    )


def test_a_rechained_export_fails_on_the_signature(exported):
    from helpdesk.audit_export import chain_hash

    # given a forger who edits a row and recomputes every hash after it (but has no key to sign)
    path = exported("jsonl")
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[2]["detail"]["to"] = "resolved"
    previous = records[0]["hash"]
    for row in records[1:-1]:
        row["prev_hash"] = previous
        row["hash"] = previous = chain_hash(previous, row)
    records[-1]["prev_hash"] = records[-1]["hash"] = records[-1]["detail"]["final_hash"] = previous
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    verdict = verify_file(str(path))
    assert (verdict.ok, verdict.message) == (
        False,
        "the signature does not match: the export was re-chained or the key differs.",
    )


def test_a_truncated_export_fails(exported):
    path = exported("csv")
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))
    assert verify_file(str(path)).message == "the export has no footer: it was cut short."


def test_verify_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match=r"^Cannot read .*nope\.csv: No such file or directory\.$"):
        verify(tmp_path / "nope.csv")


def test_a_smuggled_precomputed_text_does_not_fool_the_verifier(exported):
    # given a row whose visible value was changed while an extra key carries the original text it hashed
    from helpdesk.audit_export import cells

    path = exported("jsonl")
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[2]["_cells"] = cells(dict(records[2]))
    records[2]["detail"]["to"] = "resolved"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    verdict = verify_file(str(path))
    assert (verdict.ok, verdict.line) == (False, 3)
