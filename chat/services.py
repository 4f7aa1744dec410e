"""Writes for live chat. Keyword-only and atomic; the ticket a chat becomes is opened through the core's
``ticket_create`` (routing, events, notifications stay in one home). Each state change pushes a ``chat`` frame to
the people concerned after commit (``helpdesk.live``): the chat's agent, or every chat taker while it waits.
Customers are not on the staff push stream: their page polls (README "Live chat")."""

from __future__ import annotations

from datetime import UTC, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chat.models import MESSAGE_MAX_LENGTH, ChatMessage, ChatSession, ChatStatus
from chat.selectors import chat_active_for_agent, chat_open_for_customer, chat_taker_ids
from helpdesk.errors import Conflict, Invalid, NotAllowed
from helpdesk.live.publish import LiveKind, live_publish
from helpdesk.models import Category, Channel, Ticket, User
from helpdesk.services import ticket_assign, ticket_create
from helpdesk.text import single_line


class ChatRateLimited(Invalid):
    default_code = "chat_rate_limited"
    status = 429


def _push(session: ChatSession, change: str) -> None:
    """One ``chat`` frame: to the agent of an accepted chat, to every chat taker for a waiting (or just taken) one."""
    users = chat_taker_ids() if change in ("waiting", "accepted") else []
    if session.agent_id is not None:
        users = sorted({*users, session.agent_id})
    if users:
        live_publish(kind=LiveKind.CHAT, payload={"chat": session.pk, "change": change}, users=users)


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise Invalid(_("Please type a message."), extra={"field": "body"})
    if len(body) > MESSAGE_MAX_LENGTH:
        raise Invalid(
            _("A message can be at most %(limit)s characters long.") % {"limit": MESSAGE_MAX_LENGTH},
            extra={"field": "body"},
        )
    return body


def _lock(session: ChatSession) -> ChatSession:
    return ChatSession.objects.select_for_update().get(pk=session.pk)


@transaction.atomic
def chat_start(*, customer: User, category: Category | None, first_message: str) -> ChatSession:
    """Open a chat in the waiting queue with the customer's first message. One open chat per customer."""
    if not customer.is_customer or not customer.is_active:
        raise NotAllowed("Chats are started by customers.")
    if customer.organization_id is None:
        raise Invalid(_("Your account belongs to no organisation; please contact us by email."))
    body = _clean_body(first_message)
    User.objects.select_for_update().filter(pk=customer.pk).first()  # one open chat, even on a double submit
    if chat_open_for_customer(customer) is not None:
        raise Conflict(_("You already have a chat open."))
    session = ChatSession.objects.create(customer=customer, category=category)
    ChatMessage.objects.create(session=session, author=customer, from_staff=False, body=body)
    _push(session, "waiting")
    return session


def chat_capacity() -> int:
    return settings.CHAT_MAX_CONCURRENT_PER_AGENT


@transaction.atomic
def chat_accept(*, session: ChatSession, agent: User) -> ChatSession:
    """The agent takes a waiting chat, unless they already hold ``CHAT_MAX_CONCURRENT_PER_AGENT`` active chats."""
    if not agent.is_staff_member or not agent.is_active:
        raise NotAllowed("Only staff take chats.")
    User.objects.select_for_update().filter(pk=agent.pk).first()  # serialise this agent's accepts (capacity)
    session = _lock(session)
    if session.status != ChatStatus.WAITING:
        raise Conflict("This chat was already taken." if session.status == ChatStatus.ACTIVE else "This chat ended.")
    capacity = chat_capacity()
    if chat_active_for_agent(agent).count() >= capacity:
        raise Conflict(f"You are at your chat capacity ({capacity} at once). End a chat before taking another.")
    session.status = ChatStatus.ACTIVE
    session.agent = agent
    session.accepted_at = timezone.now()
    session.save(update_fields=["status", "agent", "accepted_at"])
    _push(session, "accepted")
    return session


@transaction.atomic
def chat_post(*, session: ChatSession, author: User, body: str) -> ChatMessage:
    """A message from the chat's customer or its agent, while the chat is open. A customer may send at most
    ``CHAT_RATE_LIMIT_MESSAGES`` messages in ``CHAT_RATE_LIMIT_SECONDS`` (across their chats)."""
    session = _lock(session)
    if author.pk not in (session.customer_id, session.agent_id):
        raise NotAllowed(_("Only the people in this chat can write in it."))
    if session.status == ChatStatus.ENDED:
        raise Conflict(_("This chat has ended."))
    body = _clean_body(body)
    from_staff = author.pk == session.agent_id
    if not from_staff:
        since = timezone.now() - timedelta(seconds=settings.CHAT_RATE_LIMIT_SECONDS)
        recent = ChatMessage.objects.filter(author=author, created_at__gte=since).count()
        if recent >= settings.CHAT_RATE_LIMIT_MESSAGES:
            raise ChatRateLimited(_("You are sending messages too quickly. Please wait a few seconds."))
    message = ChatMessage.objects.create(session=session, author=author, from_staff=from_staff, body=body)
    _push(session, "message")
    return message


def chat_transcript(session: ChatSession) -> str:
    """The chat as plain text, one message a block, times in UTC (labelled)."""
    lines = []
    for message in session.messages.select_related("author").order_by("created_at", "id"):
        stamp = message.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        lines.append(f"[{stamp}] {message.author.display_name}: {message.body}")
    return "\n\n".join(lines)


@transaction.atomic
def chat_end(*, session: ChatSession, actor: User) -> Ticket:
    """End the chat (its customer or its agent; staff may also close a waiting chat) and open its ticket, with the
    transcript as the description, assigned to the chat's agent. Ending an ended chat returns the same ticket."""
    session = _lock(session)
    is_participant = actor.pk in (session.customer_id, session.agent_id)
    if not is_participant and not (actor.is_staff_member and session.status == ChatStatus.WAITING):
        raise NotAllowed(_("Only the people in this chat can end it."))
    if session.status == ChatStatus.ENDED and session.ticket is not None:
        return session.ticket
    first = session.messages.order_by("created_at", "id").first()
    subject = "Chat: " + single_line(first.body if first else "")[:80]
    customer = session.customer
    ticket = ticket_create(
        customer=customer,
        subject=subject,
        description=chat_transcript(session),
        category=session.category,
        channel=Channel.CHAT,
        actor=actor,
    )
    agent = session.agent
    if agent is not None and ticket.team is not None and ticket.team.members.filter(pk=agent.pk).exists():
        ticket_assign(ticket=ticket, actor=agent, team=ticket.team, assignee=agent)
    session.status = ChatStatus.ENDED
    session.ended_at = timezone.now()
    session.ticket = ticket
    session.save(update_fields=["status", "ended_at", "ticket"])
    _push(session, "ended")
    return ticket
