"""Reads for live chat. A chat is its customer's and its staff participants' (its agent and the specialists who
joined it); the waiting queue is for staff who take chats."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from chat.models import ChatMessage, ChatParticipant, ChatSession, ChatStatus
from helpdesk.errors import NotFound
from helpdesk.models import Team, Tier, User
from helpdesk.services import typing_window


def chat_takers() -> QuerySet[User]:
    """Who takes chats: the active members of tier-1 (frontline) teams. The waiting queue's push audience."""
    return User.objects.filter(is_active=True, memberships__team__tier=Tier.AGENT).distinct()


def chat_taker_ids() -> list[int]:
    return list(chat_takers().values_list("pk", flat=True))


def chat_get_for_user(*, user: User, pk: int) -> ChatSession:
    """The chat if ``user`` is its customer, one of its staff participants, or staff looking at a waiting chat; else
    ``NotFound`` (a customer cannot tell another customer's chat from a missing one)."""
    session = (
        ChatSession.objects.select_related(
            "customer", "agent", "ticket", "category", "escalation", "escalation__to_team", "callback"
        )
        .prefetch_related(_participants())
        .filter(pk=pk)
        .first()
    )
    if session is None or not chat_may_read(user=user, session=session):
        raise NotFound("No such chat.")
    return session


def _participants() -> Prefetch:
    return Prefetch("participants", queryset=ChatParticipant.objects.select_related("user").order_by("joined_at", "id"))


def chat_participants(session: ChatSession) -> list[ChatParticipant]:
    """The chat's staff participants, the agent first (prefetched by this module's chat querysets)."""
    return list(session.participants.all())


def chat_staff_ids(session: ChatSession) -> list[int]:
    """Who gets the chat's push frames: its staff participants (the agent, the specialists who joined)."""
    ids = {p.user_id for p in chat_participants(session)}
    if session.agent_id is not None:
        ids.add(session.agent_id)
    return sorted(ids)


def chat_is_participant(*, user: User, session: ChatSession) -> bool:
    """The one rule of who is in a chat (reads, writes, typing, ending): its customer and its staff participants."""
    if user.pk == session.customer_id:
        return True
    return user.is_staff_member and user.is_active and user.pk in chat_staff_ids(session)


def chat_may_read(*, user: User, session: ChatSession) -> bool:
    if chat_is_participant(user=user, session=session):
        return True
    return user.is_staff_member and user.is_active and session.status == ChatStatus.WAITING


def chat_typing_names(*, session: ChatSession, viewer: User) -> list[str]:
    """Who else in the chat is typing now (within ``PRESENCE_TYPING_SECONDS``, the workspace's typing window): for the
    customer, the staff participants; for staff, the customer and the other staff participants."""
    since = timezone.now() - typing_window()
    names = []
    if viewer.pk != session.customer_id and session.customer_typing_at and session.customer_typing_at >= since:
        names.append(session.customer.display_name)
    for participant in chat_participants(session):
        if participant.user_id != viewer.pk and participant.typing_at and participant.typing_at >= since:
            names.append(participant.user.first_name or participant.user.display_name)
    return names


def chat_specialist_teams() -> QuerySet[Team]:
    """The teams a chat can be escalated to while the customer waits: the specialist (tier 2) teams."""
    return Team.objects.filter(tier=Tier.SPECIALIST).order_by("name")


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
        .select_related("customer", "agent", "ticket", "escalation", "callback")
        .prefetch_related(_participants())
        .first()
    )


def chat_active_with_messages(user: User) -> QuerySet[ChatSession]:
    """The active chats ``user`` is a staff participant of (taken or joined), with their messages and participants
    in a constant number of queries, whatever their number (the console)."""
    messages = ChatMessage.objects.select_related("author").order_by("created_at", "id")
    return (
        ChatSession.objects.filter(status=ChatStatus.ACTIVE, participants__user=user)
        .select_related("customer", "agent", "category", "ticket", "escalation", "escalation__to_team")
        .prefetch_related(Prefetch("messages", queryset=messages), _participants())
        .order_by("accepted_at", "id")
    )
