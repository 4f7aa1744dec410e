"""Inbound email: new messages become tickets (channel ``email``), replies thread into their ticket.

Rules (each a product decision, written down here):
- **Threading**: a message joins a ticket when its subject carries the ticket's reference (``HD-2026-000123``), or
  its ``In-Reply-To``/``References`` name a Message-ID we sent (``<ticket-N@…>`` or ``<notification-N@…>``). The
  sender must be allowed to see that ticket (``tickets_visible_to``); otherwise the message opens a new ticket, so a
  forwarded reference never leaks a conversation to a stranger.
- **Senders**: a known user by email address; otherwise a new customer contact of the organisation whose
  ``email_domain`` matches, or of the catch-all organisation named in ``INBOUND_EMAIL_CATCHALL_ORGANIZATION``; with
  neither, the message is ignored with a reason.
- **Loops**: ``Auto-Submitted`` other than ``no``, ``Precedence: bulk|junk|list``, ``X-Autoreply``/``X-Autorespond``,
  and our own outgoing messages (``X-Helpdesk-Notification``, or from our own address) are never answered and never
  open tickets.
- **Exactly once**: the ``Message-ID`` is a unique key (a missing one is derived from a hash of the raw message). A
  duplicate is recognised and skipped; IMAP messages are flagged seen only after the transaction commits, so a crash
  mid-mailbox re-polls safely.
- **Content**: text/plain is preferred; HTML is reduced to plain text with ``nh3`` (nothing of its markup survives).
  The full text is kept in the event's data; the timeline shows it with quoted history trimmed. Attachments go
  through the same allowlist and size limits as the web; a refused part leaves an internal note on the ticket.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import hashlib
import html
import imaplib
import logging
import re
import ssl
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import parseaddr

import nh3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from helpdesk import services
from helpdesk.attachments import attachment_validate
from helpdesk.directory import customer_username_for
from helpdesk.models import (
    Channel,
    InboundMessage,
    InboundStatus,
    Notification,
    Organization,
    Role,
    Status,
    Team,
    Ticket,
    User,
)
from helpdesk.selectors import ticket_is_visible_to
from helpdesk.text import single_line

logger = logging.getLogger(__name__)

REFERENCE_RE = re.compile(r"\bHD-\d{4}-\d{6}\b")
OUR_ID_RE = re.compile(r"<(ticket|notification)-(\d+)@helpdesk>")
BLOCK_END_RE = re.compile(r"</(p|div|li|tr|h[1-6]|blockquote|table)\s*>|<br\s*/?>", re.IGNORECASE)
QUOTE_HEADER_RE = re.compile(r"^(On .{0,200}wrote:|-{2,}\s*Original Message\s*-{2,}|From: .+)$", re.IGNORECASE)


@dataclass(frozen=True)
class IngestResult:
    status: str  # created, threaded, ignored, duplicate
    reason: str = ""
    ticket: Ticket | None = None


def trim_quoted(text: str) -> str:
    """The new part of a reply: everything before the first quote header or run of ``>`` lines."""
    kept: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if QUOTE_HEADER_RE.match(stripped) or stripped.startswith(">"):
            break
        kept.append(line)
    trimmed = "\n".join(kept).strip()
    return trimmed or text.strip()


def html_to_text(markup: str) -> str:
    """Drop every tag (and script/style content) and decode entities: HTML bodies become inert plain text."""
    # Block boundaries become line breaks first, so paragraphs do not run together once the tags are gone.
    markup = BLOCK_END_RE.sub("\n", markup)
    cleaned = nh3.clean(markup, tags=set(), clean_content_tags={"script", "style", "head", "title"})
    text = html.unescape(re.sub(r"[ \t]+", " ", cleaned))
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if part.get_content_type() == "text/html":
        return html_to_text(content)
    return content.strip()


def _is_automatic(message: EmailMessage, *, sender: str) -> str:
    auto = (message.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = (message.get("Precedence") or "").strip().lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"Precedence: {precedence}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Helpdesk-Notification"):
        if message.get(header):
            return f"{header} header"
    ours = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower()
    if sender and sender == ours:
        return "sent by the helpdesk itself"
    return ""


def _message_id(message: EmailMessage, raw: bytes) -> str:
    value = (message.get("Message-ID") or "").strip()
    return value[:255] if value else f"<sha256-{hashlib.sha256(raw).hexdigest()}@inbound>"


def _thread_ticket(message: EmailMessage, sender: User) -> Ticket | None:
    candidates: list[Ticket] = []
    match = REFERENCE_RE.search(message.get("Subject", "") or "")
    if match:
        candidates.extend(Ticket.objects.filter(reference=match.group(0)))
    ids = " ".join(str(message.get(h, "")) for h in ("In-Reply-To", "References"))
    for kind, pk in OUR_ID_RE.findall(ids):
        if kind == "ticket":
            candidates.extend(Ticket.objects.filter(pk=int(pk)))
        else:
            candidates.extend(Ticket.objects.filter(pk__in=Notification.objects.filter(pk=int(pk)).values("ticket_id")))
    for ticket in candidates:
        if ticket_is_visible_to(user=sender, ticket=ticket):
            return ticket
    return None


def email_sender_resolve(address: str, display_name: str) -> tuple[User | None, str]:
    """The user an email address stands for: a known active user, or a new customer contact of the organisation
    whose ``email_domain`` matches (else the catch-all organisation). ``(None, reason)`` when there is neither.
    Public because every channel where a stranger proves an address (the help centre's contact form) makes
    customers the same way."""
    user = User.objects.filter(email__iexact=address, is_active=True).order_by("pk").first()
    if user is not None:
        return user, ""
    domain = address.rpartition("@")[2].lower()
    organization = Organization.objects.filter(email_domain__iexact=domain).first() if domain else None
    if organization is None and settings.INBOUND_EMAIL_CATCHALL_ORGANIZATION:
        organization = Organization.objects.filter(name=settings.INBOUND_EMAIL_CATCHALL_ORGANIZATION).first()
    if organization is None:
        return None, f"unknown sender {address} and no organisation for its domain"
    first, _, last = (display_name or "").partition(" ")
    username = customer_username_for(address)
    user = User.objects.create_user(
        username=username,
        email=address,
        role=Role.CUSTOMER,
        organization=organization,
        first_name=first[:150],
        last_name=last[:150],
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return user, ""


def _attachments(message: EmailMessage) -> tuple[list[SimpleUploadedFile], list[str]]:
    accepted: list[SimpleUploadedFile] = []
    refused: list[str] = []
    for part in message.iter_attachments():
        name = part.get_filename() or "attachment"
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):  # None for a multipart part
            payload = b""
        upload = SimpleUploadedFile(name, payload, content_type=part.get_content_type())
        try:
            attachment_validate(upload)
        except ValidationError as exc:
            refused.append(" ".join(exc.messages))
            continue
        if len(accepted) >= settings.ATTACHMENT_MAX_FILES:
            refused.append(f"“{name}” was not kept: at most {settings.ATTACHMENT_MAX_FILES} files per message.")
            continue
        accepted.append(upload)
    return accepted, refused


def _record(*, message_id: str, mailbox: str, sender: str, subject: str, status: str, reason: str = "", ticket=None):
    InboundMessage.objects.create(
        message_id=message_id,
        mailbox=mailbox,
        from_address=sender[:254],
        subject=subject[:255],
        status=status,
        reason=reason[:255],
        ticket=ticket,
    )


def _from_header(message: EmailMessage) -> tuple[str, str]:
    """The sender's display name (on one line) and address (lower case). Python's parser refuses a From whose
    encoded display name decodes to CR/LF (ValueError), which would stop the whole mailbox on one message: such a
    header is split into name and address as sent, before the name's encoded words are decoded, so nothing in the
    name can change the address."""
    try:
        display_name, address = parseaddr(str(message.get("From", "") or ""))
    except ValueError:
        raw = next((value for name, value in message.raw_items() if name.lower() == "from"), "")
        display_name, address = parseaddr(str(raw))
        with contextlib.suppress(ValueError, HeaderParseError):  # undecodable: keep the name as sent
            display_name = str(make_header(decode_header(display_name)))
    return single_line(display_name), address.strip().lower()


def email_ingest(*, raw: bytes, mailbox: str = "") -> IngestResult:
    """Turn one raw RFC 822 message into a ticket or a reply. Atomic and idempotent per Message-ID."""
    message: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)
    message_id = _message_id(message, raw)
    display_name, address = _from_header(message)
    # Decoded encoded-words may carry CR/LF (``=?utf-8?q?Hi=0D=0ABcc=3A_x?=``): one line before anything stores it.
    subject = single_line(str(message.get("Subject", "") or ""))
    try:
        with transaction.atomic():
            if InboundMessage.objects.filter(message_id=message_id).exists():
                return IngestResult(status="duplicate", reason="already processed")
            automatic = _is_automatic(message, sender=address)
            if automatic or not address:
                reason = automatic or "no sender address"
                _record(
                    message_id=message_id,
                    mailbox=mailbox,
                    sender=address,
                    subject=subject,
                    status=InboundStatus.IGNORED,
                    reason=reason,
                )
                return IngestResult(status="ignored", reason=reason)
            sender, problem = email_sender_resolve(address, display_name)
            if sender is None or not sender.is_customer:
                reason = problem or f"{address} is a staff address"
                _record(
                    message_id=message_id,
                    mailbox=mailbox,
                    sender=address,
                    subject=subject,
                    status=InboundStatus.IGNORED,
                    reason=reason,
                )
                return IngestResult(status="ignored", reason=reason)
            full_text = _body_text(message)
            body = trim_quoted(full_text) or "(no text)"
            files, refused = _attachments(message)
            ticket = _thread_ticket(message, sender)
            # A closed ticket takes the reply (and reopens) only inside its plan's reopen window; else a new one.
            if ticket is not None and (
                ticket.status != Status.CLOSED or ticket.customer_may_reopen(now=timezone.now())
            ):
                services.ticket_reply(ticket=ticket, author=sender, body=body, files=files)
                status = InboundStatus.THREADED
            else:
                ticket = services.ticket_create(
                    customer=sender,
                    subject=REFERENCE_RE.sub("", subject).strip(" :[]-") or "(no subject)",
                    description=body,
                    channel=Channel.EMAIL,
                    files=files,
                )
                team_slug = _mailbox_team(mailbox)
                if team_slug:
                    team = Team.objects.filter(slug=team_slug).first()
                    if team is not None and team != ticket.team:
                        services.ticket_assign(ticket=ticket, actor=None, team=team, assignee=None)
                status = InboundStatus.CREATED
            if refused:
                staff = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first() or ticket.assignee
                note = "Attachments refused from the customer's email:\n" + "\n".join(f"- {r}" for r in refused)
                if staff is not None:
                    services.ticket_add_internal_note(ticket=ticket, author=staff, body=note)
            _record(
                message_id=message_id,
                mailbox=mailbox,
                sender=address,
                subject=subject,
                status=status,
                ticket=ticket,
                reason="; ".join(refused),
            )
            return IngestResult(status=str(status), ticket=ticket, reason="; ".join(refused))
    except IntegrityError:
        # Another process recorded the same Message-ID first: that is the duplicate case, not an error.
        return IngestResult(status="duplicate", reason="already processed")


def _mailbox_team(mailbox: str) -> str:
    for box in settings.INBOUND_MAILBOXES:
        if box.get("name") == mailbox:
            return box.get("team", "")
    return ""


def mailbox_poll(*, config: dict) -> list[IngestResult]:
    """Fetch unseen messages from one IMAP mailbox, ingest each, and flag it seen after its transaction commits."""
    security = config.get("security", "ssl")
    host, port = config["host"], int(config.get("port") or (993 if security == "ssl" else 143))
    context = ssl.create_default_context()
    client: imaplib.IMAP4
    if security == "ssl":
        client = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=30)
    else:
        client = imaplib.IMAP4(host, port, timeout=30)
        if security == "starttls":
            client.starttls(ssl_context=context)
    results = []
    try:
        client.login(config["username"], config["password"])
        client.select(config.get("folder", "INBOX"))
        _, data = client.uid("SEARCH", "UNSEEN")  # no charset argument: imaplib skips a None one anyway
        for uid in (data[0] or b"").decode().split():
            _, fetched = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in fetched if isinstance(item, tuple)), None)
            if raw is None:
                continue
            result = email_ingest(raw=raw, mailbox=config.get("name", host))
            client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            results.append(result)
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            logger.warning("IMAP logout failed for %s", host)
    return results


def mailboxes_poll() -> dict[str, int]:
    """Beat: poll every configured mailbox; one failing mailbox does not stop the others. Idempotent."""
    counts: dict[str, int] = {}
    for config in settings.INBOUND_MAILBOXES:
        name = config.get("name", config.get("host", "?"))
        try:
            counts[name] = len(mailbox_poll(config=config))
        except (imaplib.IMAP4.error, OSError) as exc:
            logger.warning("polling mailbox %s failed: %s", name, exc)
            counts[name] = -1
    return counts
