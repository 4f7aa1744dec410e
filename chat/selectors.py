"""Reads for live chat. A chat is its customer's and its agent's; the waiting queue is for staff who take chats."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from chat.models import ChatMessage, ChatSession, ChatStatus
from helpdesk.errors import NotFound
from helpdesk.models import Tier, User


def chat_takers() -> QuerySet[User]:
    """Who takes chats: the active members of tier-1 (frontline) teams. The waiting queue's push audience."""
    return User.objects.filter(is_active=True, memberships__team__tier=Tier.AGENT).distinct()


def chat_taker_ids() -> list[int]:
    return list(chat_takers().values_list("pk", flat=True))


def chat_get_for_user(*, user: User, pk: int) -> ChatSession:
    """The chat if ``user`` is its customer, its agent, or staff looking at a waiting chat; else ``NotFound``
    (a customer cannot tell another customer's chat from a missing one)."""
    session = ChatSession.objects.select_related("customer", "agent", "ticket", "category").filter(pk=pk).first()
    if session is None or not chat_may_read(user=user, session=session):
        raise NotFound("No such chat.")
    return session


def chat_may_read(*, user: User, session: ChatSession) -> bool:
    if user.pk in (session.customer_id, session.agent_id):
        return True
    return user.is_staff_member and user.is_active and session.status == ChatStatus.WAITING


def chat_messages(session: ChatSession) -> QuerySet[ChatMessage]:
    return session.messages.select_related("author").order_by("created_at", "id")


def chat_queue_position(session: ChatSession) -> int | None:
    """1 for the oldest waiting chat; None once the chat is no longer waiting."""
    if session.status != ChatStatus.WAITING:
        return None
    ahead = ChatSession.objects.filter(status=ChatStatus.WAITING, created_at__lt=session.created_at).count()
    return ahead + 1


def chat_waiting() -> QuerySet[ChatSession]:
    return ChatSession.objects.filter(status=ChatStatus.WAITING).select_related("customer", "category")


def chat_active_for_agent(agent: User) -> QuerySet[ChatSession]:
    return ChatSession.objects.filter(agent=agent, status=ChatStatus.ACTIVE).select_related(
        "customer", "agent", "category"
    )


def chat_open_for_customer(customer: User) -> ChatSession | None:
    """The customer's chat that has not ended, if any (a customer has one chat at a time)."""
    return (
        ChatSession.objects.filter(customer=customer)
        .exclude(status=ChatStatus.ENDED)
        .select_related("agent", "ticket")
        .first()
    )


def chat_active_with_messages(agent: User) -> QuerySet[ChatSession]:
    """The agent's active chats with their messages in two queries, whatever their number (the console)."""
    messages = ChatMessage.objects.select_related("author").order_by("created_at", "id")
    return chat_active_for_agent(agent).prefetch_related(Prefetch("messages", queryset=messages))
