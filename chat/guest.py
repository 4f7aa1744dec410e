"""Guest chats: an anonymous visitor of the public help centre (or of the embedded widget) chats without an account.

The design (README "Live chat", *Guest chats*):

- The visitor gives a name, an email, a topic and a first message. The chat starts at once, waiting in the queue
  routed by the topic like any chat (``helpdesk.services.team_for_category``, the tickets' rule). It is bound to the
  visitor's browser session: a random ``guest_key`` kept on the chat and in their Django session (never an account);
  only that session reads or writes it (another client gets 404).
- At start, the help centre's contact confirmation is sent: the same ``HelpRequest``, the same signed, expiring link
  and email (``knowledge_base.services.help_request_submit``, in the visitor's language), purged the same way.
- Until the visitor follows that link, the email is **unverified**: staff see "(guest, unverified email)", the chat
  has no customer and no ticket, and nothing of any account is shown or attached. Confirming goes through the one
  ``help_request_confirm``, which resolves the customer by the one rule (``email_sender_resolve``: a known address is
  that customer, an unknown one a new contact of its domain's organisation); its hook then asks this module to open
  the chat's ticket (``chat_guest_ticket_open``): the transcript so far, threaded into that customer's account, and
  the chat is theirs from then on (its end writes the whole transcript there, as for any chat).
- A guest chat never confirmed ends without a ticket: its transcript stays on the chat (staff read it on the
  console), and is turned into a ticket if the link is followed later, while it is still valid.
- Retention: a guest chat ended (or abandoned: no message within the window) and never confirmed holds a stranger's
  name, email and address; it is deleted, with its messages and files, once the contact form's window for unconfirmed
  requests (``HELP_CENTRE_CONFIRM_MAX_AGE``) has passed (``chat_guests_purge``, run by the retention sweep through
  ``helpdesk.retention``). A confirmed one is its customer's (privacy's registry).
- Abuse: the customers' message length and rate limits (per visitor session and per client address), at most
  ``CHAT_GUEST_MAX_OPEN_PER_IP`` open guest chats and ``CHAT_GUEST_STARTS_PER_HOUR`` starts (each sends an email)
  per client address.

Chat imports the knowledge base only here (and its hook in ``chat.apps``); see the import-linter contract.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from chat.models import ChatAttachment, ChatMessage, ChatSession, ChatStatus
from chat.services import (
    ChatRateLimited,
    _chat_subject,
    _chat_ticket_answered,
    _chat_ticket_transcript,
    _clean_body,
    _customer_typing,
    _lock,
    _push,
    chat_transcript,
)
from helpdesk.errors import Conflict, Invalid, NotFound
from helpdesk.models import Category, Channel, Ticket, User
from helpdesk.services import team_for_category, ticket_create
from helpdesk.text import single_line
from knowledge_base.services import help_request_submit

GUEST_SESSION_KEY = "chat_guest"


@transaction.atomic
def chat_guest_start(
    *, name: str, email: str, category: Category | None, first_message: str, ip: str | None, visitor: str = ""
) -> ChatSession:
    """Start a guest chat (waiting, routed by its topic) and send the contact confirmation link to ``email``. No
    customer, no ticket, no account until the link is followed. Refused with 429 beyond the per-address limits."""
    name = single_line(name or "")[:150]
    email = (email or "").strip().lower()
    if not name:
        raise Invalid(_("Please tell us your name."), extra={"field": "name"})
    try:
        validate_email(email)
    except ValidationError as exc:
        raise Invalid(_("Enter a valid email address."), extra={"field": "email"}) from exc
    body = _clean_body(first_message)
    if ip:
        mine = ChatSession.objects.filter(guest_ip=ip)
        if mine.exclude(status=ChatStatus.ENDED).count() >= settings.CHAT_GUEST_MAX_OPEN_PER_IP:
            raise ChatRateLimited(_("Too many chats are open from your network. Please end one first."))
        hour_ago = timezone.now() - timedelta(hours=1)
        if mine.filter(created_at__gte=hour_ago).count() >= settings.CHAT_GUEST_STARTS_PER_HOUR:
            raise ChatRateLimited(_("Too many chats were started from your network. Please try again later."))
    try:
        help_request = help_request_submit(
            email=email,
            name=name,
            subject=_chat_subject(body),
            description=body,
            category=category,
            visitor=visitor,
        )
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages)) from exc
    team = team_for_category(category)
    session = ChatSession.objects.create(
        customer=None,
        category=category,
        team=team,
        guest_name=name,
        guest_email=email,
        guest_key=secrets.token_hex(32),
        guest_ip=ip or None,
        guest_request_id=help_request.pk,
    )
    ChatMessage.objects.create(session=session, author=None, from_staff=False, body=body)
    _push(session, "waiting")
    return session


def chat_guest_get(*, pk: int, key: str) -> ChatSession:
    """The guest chat ``pk`` if ``key`` (from the visitor's session) is its key; else ``NotFound``, so a client
    cannot tell someone else's chat from a missing one."""
    if not key:
        raise NotFound("No such chat.")
    session = (
        ChatSession.objects.select_related("agent", "ticket", "category")
        .prefetch_related("participants__user")
        .filter(pk=pk, guest_key=key)
        .first()
    )
    if session is None:
        raise NotFound("No such chat.")
    return session


@transaction.atomic
def chat_guest_post(*, session: ChatSession, key: str, body: str, ip: str | None) -> ChatMessage:
    """A guest's message, while the chat is open: the customers' length limit, and their rate limit counted per
    visitor session and per client address (``CHAT_RATE_LIMIT_MESSAGES`` in ``CHAT_RATE_LIMIT_SECONDS``)."""
    session = _lock(session)
    if not key or session.guest_key != key:
        raise NotFound("No such chat.")
    if session.status == ChatStatus.ENDED:
        raise Conflict(_("This chat has ended."))
    body = _clean_body(body)
    since = timezone.now() - timedelta(seconds=settings.CHAT_RATE_LIMIT_SECONDS)
    recent = ChatMessage.objects.filter(author__isnull=True, from_staff=False, created_at__gte=since)
    mine = Q(session__guest_key=key) | (Q(session__guest_ip=ip) if ip else Q(pk__in=[]))
    if recent.filter(session__guest_key=key).count() >= settings.CHAT_RATE_LIMIT_MESSAGES or (
        ip and recent.filter(mine).count() >= settings.CHAT_RATE_LIMIT_MESSAGES
    ):
        raise ChatRateLimited(_("You are sending messages too quickly. Please wait a few seconds."))
    message = ChatMessage.objects.create(session=session, author=None, from_staff=False, body=body)
    ChatSession.objects.filter(pk=session.pk).update(customer_typing_at=None)
    _push(session, "message")
    return message


@transaction.atomic
def chat_guest_typing(*, session: ChatSession, key: str) -> bool:
    """The guest is typing: the same rule as a customer's typing (``chat.services._customer_typing``), authorised as
    the guest's posting is (the chat's key from the visitor's session; anything else is ``NotFound``)."""
    if not key or session.guest_key != key:
        raise NotFound("No such chat.")
    return _customer_typing(session)


@transaction.atomic
def chat_guest_end(*, session: ChatSession, key: str) -> Ticket | None:
    """The guest ends their chat. A confirmed chat's ticket gets the whole transcript (as any chat's); an
    unconfirmed one ends without a ticket. Ending twice changes nothing."""
    session = _lock(session)
    if not key or session.guest_key != key:
        raise NotFound("No such chat.")
    if session.status == ChatStatus.ENDED:
        return session.ticket
    ticket = None
    if session.ticket is not None and session.customer is not None:
        ticket = _chat_ticket_transcript(session=session, actor=session.customer)
    session.status = ChatStatus.ENDED
    session.ended_at = timezone.now()
    session.save(update_fields=["status", "ended_at"])
    _push(session, "ended")
    return ticket


def chat_guest_ticket_open(*, help_request_id: int, customer: User) -> Ticket | None:
    """The knowledge base's confirmation hook: the visitor followed the link of the contact request a guest chat
    sent, and ``customer`` is who that email is (resolved by ``help_request_confirm``'s one rule). Opens the chat's
    ticket through ``ticket_create`` (channel chat, the transcript so far) in that customer's account, makes the chat
    theirs and marks the email verified; an accepted chat's ticket goes to its agent and is answered. None when no
    guest chat sent this request (the contact form opens its own ticket). Runs inside the confirmation's atomic
    block, the request row locked (exactly once)."""
    found = ChatSession.objects.filter(guest_request_id=help_request_id).first()
    if found is None:
        return None
    session = _lock(found)
    if session.ticket is not None:
        return session.ticket
    first = session.messages.order_by("created_at", "id").first()
    ticket = ticket_create(
        customer=customer,
        subject=_chat_subject(first.body if first else ""),
        description=chat_transcript(session),
        category=session.category,
        channel=Channel.CHAT,
        actor=customer,
    )
    session.ticket = ticket
    session.customer = customer
    session.guest_verified_at = timezone.now()
    session.team = session.team or ticket.team
    session.save(update_fields=["ticket", "customer", "guest_verified_at", "team"])
    if session.agent is not None:
        _chat_ticket_answered(session=session, agent=session.agent)
    _push(session, "verified")
    return ticket


def chat_guests_purgeable(*, now: datetime):
    """Guest chats never confirmed (no customer, no ticket) whose retention window has passed: ended before the
    cutoff, or abandoned (still open, started and last written to before it). The window is the contact form's for
    its unconfirmed requests (``HELP_CENTRE_CONFIRM_MAX_AGE``), after which the confirmation link is dead too."""
    cutoff = now - timedelta(seconds=settings.HELP_CENTRE_CONFIRM_MAX_AGE)
    recent = ChatMessage.objects.filter(session=OuterRef("pk"), created_at__gte=cutoff)
    ended = Q(status=ChatStatus.ENDED, ended_at__lt=cutoff)
    abandoned = ~Q(status=ChatStatus.ENDED) & Q(created_at__lt=cutoff) & ~Exists(recent)
    return (
        ChatSession.objects.exclude(guest_key="")
        .filter(guest_verified_at__isnull=True, customer__isnull=True, ticket__isnull=True)
        .filter(ended | abandoned)
    )


@transaction.atomic
def chat_guests_purge(*, now: datetime) -> int:
    """Delete the unconfirmed guest chats past their retention window (``chat_guests_purgeable``) with their
    messages, participants and stored files. Returns the chats deleted; idempotent (a rerun finds nothing)."""
    ids = list(chat_guests_purgeable(now=now).select_for_update(skip_locked=True).values_list("pk", flat=True))
    if not ids:
        return 0
    for attachment in ChatAttachment.objects.filter(message__session_id__in=ids):
        attachment.file.delete(save=False)
    ChatSession.objects.filter(pk__in=ids).delete()
    return len(ids)
