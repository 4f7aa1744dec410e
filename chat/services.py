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
from chat.selectors import chat_active_for_agent, chat_capacity, chat_open_for_customer, chat_taker_ids, chat_takers
from helpdesk.errors import Conflict, Invalid, NotAllowed
from helpdesk.events import agent_replied_event
from helpdesk.live.publish import LiveKind, live_publish
from helpdesk.models import Category, Channel, Ticket, User
from helpdesk.services import ticket_assign, ticket_create
from helpdesk.text import single_line


class ChatRateLimited(Invalid):
    default_code = "chat_rate_limited"
    status = 429


def _push(session: ChatSession, change: str) -> None:
    """One ``chat`` frame: to the agent of an accepted chat, to the chat's takers (its routed team's free agents,
    ``chat_takers``) for a waiting (or just taken) one."""
    users = chat_taker_ids(session) if change in ("waiting", "accepted") else []
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
    """Open a chat in the waiting queue with the customer's first message, and its ticket (routing and the SLA's
    first-response clock, ``_chat_ticket_open``). One open chat per customer. Atomic."""
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
    _chat_ticket_open(session=session, first_message=body)
    _push(session, "waiting")
    return session


def _chat_subject(first_message: str) -> str:
    return "Chat: " + single_line(first_message)[:80]


def _chat_ticket_open(*, session: ChatSession, first_message: str) -> Ticket:
    """A waiting chat is already the customer's request: its ticket is opened at start through the core's
    ``ticket_create``, so the chat routes where the ticket routes (``session.team`` is the ticket's team, one rule)
    and the SLA engine gives it the plan's first-response clock; the existing sweep breaches a chat left waiting
    too long, and ``chat_accept`` meets it (README "Live chat")."""
    ticket = ticket_create(
        customer=session.customer,
        subject=_chat_subject(first_message),
        description=first_message,
        category=session.category,
        channel=Channel.CHAT,
        actor=session.customer,
    )
    session.ticket = ticket
    session.team = ticket.team
    session.save(update_fields=["ticket", "team"])
    return ticket


def _chat_ticket_answered(*, session: ChatSession, agent: User) -> None:
    """Accepting is the chat's first response: a public agent reply on its ticket (which meets the first-response
    clock through the SLA engine's own rule), and the ticket goes to the agent (they are on its team by routing)."""
    ticket = session.ticket
    if ticket is None:
        return
    if ticket.assignee_id != agent.pk and ticket.team is not None and ticket.team.members.filter(pk=agent.pk).exists():
        ticket_assign(ticket=ticket, actor=agent, team=ticket.team, assignee=agent)
    agent_replied_event(ticket=ticket, actor=agent, body=f"{agent.display_name} answered the live chat.")


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
    _chat_check_routing(session=session, agent=agent)
    session.status = ChatStatus.ACTIVE
    session.agent = agent
    session.accepted_at = timezone.now()
    session.save(update_fields=["status", "agent", "accepted_at"])
    _chat_ticket_answered(session=session, agent=agent)
    _push(session, "accepted")
    return session


def _chat_check_routing(*, session: ChatSession, agent: User) -> None:
    """Only the agents the chat is offered to may take it (``chat_takers``: its team, available, under capacity)."""
    if chat_takers(session).filter(pk=agent.pk).exists():
        return
    if not agent.is_available:
        raise NotAllowed("You are marked away. Set yourself available to take chats.")
    team = session.team.name if session.team is not None else "the chat"
    raise NotAllowed(f"This chat is for the {team} team; you are not on it.")


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
    ticket = _chat_ticket_transcript(session=session, actor=actor)
    agent = session.agent
    if agent is not None and ticket.team is not None and ticket.team.members.filter(pk=agent.pk).exists():
        ticket_assign(ticket=ticket, actor=agent, team=ticket.team, assignee=agent)
    session.status = ChatStatus.ENDED
    session.ended_at = timezone.now()
    session.ticket = ticket
    session.save(update_fields=["status", "ended_at", "ticket"])
    _push(session, "ended")
    return ticket


def _chat_ticket_transcript(*, session: ChatSession, actor: User) -> Ticket:
    """The chat's ticket with the whole transcript as its description: the ticket opened at start (its description
    was the first message), or, for a chat started before tickets opened at start, a new one."""
    transcript = chat_transcript(session)
    if session.ticket is not None:
        # A plain UPDATE: the description is replaced by the record it was the first line of (no event, no notice).
        Ticket.objects.filter(pk=session.ticket.pk).update(description=transcript)
        session.ticket.description = transcript
        return session.ticket
    first = session.messages.order_by("created_at", "id").first()
    return ticket_create(
        customer=session.customer,
        subject=_chat_subject(first.body if first else ""),
        description=transcript,
        category=session.category,
        channel=Channel.CHAT,
        actor=actor,
    )
