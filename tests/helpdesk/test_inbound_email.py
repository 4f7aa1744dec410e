"""Inbound email: .eml fixtures built here, and a real IMAP server (Debian's dovecot) on loopback."""

from __future__ import annotations

import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from helpdesk.inbound_email import email_ingest, mailbox_poll, trim_quoted
from helpdesk.models import Attachment, Channel, EventKind, InboundMessage, Ticket, User

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def build_eml(
    *,
    sender="Dana Reyes <customer@example.test>",
    subject="Cannot log in",
    text="Hello, I cannot log in since this morning.",
    html=None,
    message_id="<m1@mail.example.test>",
    headers=None,
    attachments=(),
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@helpdesk.example"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    if text is not None:
        message.set_content(text)
    if html is not None:
        if text is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    for filename, payload, maintype, subtype in attachments:
        message.add_attachment(payload, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def test_new_message_creates_an_email_ticket_for_a_known_customer(customer, teams):
    # when a known customer writes in
    result = email_ingest(raw=build_eml(), mailbox="support")
    # then a ticket exists for them, on the email channel, with their text
    ticket = result.ticket
    assert (result.status, ticket.customer, ticket.channel) == ("created", customer, Channel.EMAIL)
    assert ticket.subject == "Cannot log in"
    assert ticket.description == "Hello, I cannot log in since this morning."
    assert InboundMessage.objects.get().status == "created"


def test_unknown_sender_becomes_a_contact_of_the_domain_organisation(org, teams):
    result = email_ingest(raw=build_eml(sender="New Person <new.person@northwind.test>"))
    contact = User.objects.get(email="new.person@northwind.test")
    assert (contact.role, contact.organization, contact.first_name) == ("customer", org, "New")
    assert not contact.has_usable_password()
    assert result.ticket.customer == contact


def test_unknown_domain_without_catch_all_is_ignored_with_a_reason(org, teams):
    result = email_ingest(raw=build_eml(sender="stranger@elsewhere.test"))
    assert (result.status, result.reason) == (
        "ignored",
        "unknown sender stranger@elsewhere.test and no organisation for its domain",
    )
    assert Ticket.objects.count() == 0


@override_settings(INBOUND_EMAIL_CATCHALL_ORGANIZATION="Bluebird")
def test_unknown_domain_goes_to_the_catch_all_organisation(org2, teams):
    result = email_ingest(raw=build_eml(sender="stranger@elsewhere.test"))
    assert result.ticket.organization == org2


def test_reply_threads_by_reference_in_subject_and_trims_quotes(customer, teams, make_ticket):
    ticket = make_ticket(customer, subject="Invoice wrong")
    raw = build_eml(
        subject=f"Re: [{ticket.reference}] Invoice wrong",
        text="Here is the invoice number: 4411.\n\nOn Mon, 23 Nov 2026, Support wrote:\n> What is the number?\n",
        message_id="<m2@mail.example.test>",
    )
    result = email_ingest(raw=raw)
    assert (result.status, result.ticket) == ("threaded", ticket)
    event = ticket.events.filter(kind=EventKind.CUSTOMER_MESSAGE).get()
    assert event.body == "Here is the invoice number: 4411."


def test_reply_threads_by_in_reply_to_our_message_id(customer, teams, make_ticket):
    ticket = make_ticket(customer)
    from helpdesk.models import Notification

    sent = Notification.objects.filter(ticket=ticket, channel="email").first()
    raw = build_eml(subject="Re: your request", headers={"In-Reply-To": sent.message_id}, message_id="<m3@x>")
    assert email_ingest(raw=raw).ticket == ticket


def test_reference_of_another_organisation_does_not_thread(customer, customer2, teams, make_ticket):
    theirs = make_ticket(customer2, subject="Private")
    result = email_ingest(raw=build_eml(subject=f"Re: {theirs.reference}", message_id="<m4@x>"))
    assert result.status == "created" and result.ticket != theirs
    assert theirs.events.count() == 1


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        ({"Precedence": "bulk"}, "Precedence: bulk"),
        ({"X-Autoreply": "yes"}, "X-Autoreply header"),
        ({"X-Helpdesk-Notification": "12"}, "X-Helpdesk-Notification header"),
    ],
)
def test_automatic_messages_are_never_answered(customer, teams, headers, reason):
    result = email_ingest(raw=build_eml(headers=headers, subject="Out of office"))
    assert (result.status, result.reason) == ("ignored", reason)
    assert Ticket.objects.count() == 0
    assert InboundMessage.objects.get().reason == reason


def test_duplicate_message_is_processed_once(customer, teams):
    raw = build_eml()
    assert email_ingest(raw=raw).status == "created"
    assert email_ingest(raw=raw).status == "duplicate"
    assert Ticket.objects.count() == 1


def test_hostile_html_body_is_reduced_to_inert_text(customer, teams):
    hostile = (
        "<html><head><style>body{}</style><script>alert('x')</script></head><body>"
        "<p>Hello <b>team</b></p><img src=x onerror=alert(1)><a href='javascript:alert(2)'>click</a></body></html>"
    )
    ticket = email_ingest(raw=build_eml(text=None, html=hostile)).ticket
    assert ticket.description == "Hello team\nclick"
    assert "<" not in ticket.description and "alert" not in ticket.description


@override_settings(ATTACHMENT_MAX_BYTES=1024)
def test_oversized_attachment_is_refused_with_a_note(customer, teams, admin_user):
    raw = build_eml(
        attachments=[("shot.png", PNG, "image", "png"), ("dump.log", b"x" * 4096, "text", "plain")],
    )
    result = email_ingest(raw=raw)
    assert list(Attachment.objects.values_list("original_name", flat=True)) == ["shot.png"]
    note = result.ticket.events.get(kind=EventKind.INTERNAL_NOTE)
    assert note.is_public is False
    assert "“dump.log” is 4.0\xa0KB; the limit is 1.0\xa0KB." in note.body


def test_trim_quoted_keeps_the_new_part():
    assert trim_quoted("Thanks!\n\n-----Original Message-----\nFrom: x") == "Thanks!"
    assert trim_quoted("> only a quote") == "> only a quote"


def test_ingest_email_command_reads_a_maildir(customer, teams, tmp_path):
    (tmp_path / "new").mkdir()
    (tmp_path / "cur").mkdir()
    (tmp_path / "new" / "1.eml").write_bytes(build_eml(message_id="<a@x>"))
    (tmp_path / "cur" / "2.eml").write_bytes(build_eml(message_id="<a@x>"))
    call_command("ingest_email", str(tmp_path))
    assert Ticket.objects.count() == 1
    assert InboundMessage.objects.count() == 1


# --- a real IMAP server ------------------------------------------------------------------------------------------

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def imap_server():
    """Debian's dovecot on loopback with one passwd-file user; messages are delivered with IMAP APPEND."""
    if DOVECOT is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but dovecot-imapd is not installed")
        pytest.skip("dovecot-imapd is not installed (apt-get install -y dovecot-imapd)")
    port = _free_port()
    # Outside pytest's 0700 tmp dirs: dovecot's auth process runs as the dovecot user and must reach these files.
    root = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
    root.chmod(0o755)
    (root / "mail").mkdir(parents=True)
    (root / "state").mkdir()
    shutil.chown(root / "mail", "dovecot", "dovecot")
    (root / "users").write_text("support:{PLAIN}secret\n")
    (root / "dovecot.conf").write_text(
        f"""protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 100
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
    )
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    config = {
        "name": "support",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "username": "support",
        "password": "secret",
        "folder": "INBOX",
        "team": "technical",
    }
    yield config
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)


def _deliver(config: dict, raw: bytes) -> None:
    client = imaplib.IMAP4(config["host"], config["port"])
    client.login(config["username"], config["password"])
    client.append("INBOX", None, None, raw)
    client.logout()


def _unseen(config: dict) -> int:
    client = imaplib.IMAP4(config["host"], config["port"])
    client.login(config["username"], config["password"])
    client.select("INBOX")
    _, data = client.uid("SEARCH", None, "UNSEEN")
    client.logout()
    return len((data[0] or b"").split())


def test_imap_poll_against_a_real_server(imap_server, customer, teams, make_ticket, settings):
    settings.INBOUND_MAILBOXES = [imap_server]
    existing = make_ticket(customer, subject="Refund")
    # given three messages in the mailbox: a new request, a threaded reply, and an auto-reply
    _deliver(imap_server, build_eml(message_id="<n1@x>"))
    _deliver(imap_server, build_eml(subject=f"Re: {existing.reference}", text="Any news?", message_id="<n2@x>"))
    _deliver(imap_server, build_eml(headers={"Auto-Submitted": "auto-replied"}, message_id="<n3@x>"))
    # when the mailbox is polled
    results = mailbox_poll(config=imap_server)
    # then each is handled, the new ticket lands with the mailbox's team, and all are flagged seen
    assert sorted(r.status for r in results) == ["created", "ignored", "threaded"]
    created = next(r.ticket for r in results if r.status == "created")
    assert created.team.slug == "technical"
    assert existing.events.filter(kind=EventKind.CUSTOMER_MESSAGE, body="Any news?").exists()
    assert _unseen(imap_server) == 0
    # and polling again (even had the flags been lost) processes nothing twice
    assert mailbox_poll(config=imap_server) == []
    assert [r.status for r in (email_ingest(raw=build_eml(message_id="<n1@x>")),)] == ["duplicate"]


@pytest.mark.parametrize(("resolved_days_ago", "status"), [(1, "threaded"), (15, "created")])
def test_an_emailed_reply_to_a_closed_ticket_reopens_it_only_within_the_reopen_window(
    customer, agent, teams, make_ticket, resolved_days_ago, status
):
    from datetime import timedelta

    from django.utils import timezone

    from helpdesk.services import ticket_change_status

    # given a closed ticket, resolved some days ago (the plan's window is 14 days)
    ticket = make_ticket(customer, subject="Invoice wrong")
    ticket_change_status(ticket=ticket, actor=agent, status="resolved")
    ticket_change_status(ticket=ticket, actor=agent, status="closed")
    Ticket.objects.filter(pk=ticket.pk).update(resolved_at=timezone.now() - timedelta(days=resolved_days_ago))
    # when the customer answers our email
    result = email_ingest(raw=build_eml(subject=f"Re: [{ticket.reference}] Invoice wrong", message_id="<m9@x>"))
    # then inside the window it reopens the ticket; after it, it opens a new one
    ticket.refresh_from_db()
    assert result.status == status
    assert (result.ticket == ticket) is (status == "threaded")
    assert ticket.status == ("open" if status == "threaded" else "closed")
