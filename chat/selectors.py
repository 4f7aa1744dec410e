"""Reads for live chat. A chat is its customer's and its staff participants' (its agent and the specialists who
joined it); the waiting queue is for staff who take chats."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from chat.models import ChatAttachment, ChatMessage, ChatParticipant, ChatSession, ChatStatus
from helpdesk.errors import NotFound
from helpdesk.models import Attachment, Role, Team, Tier, User
from helpdesk.selectors import attachment_get_for_user
from helpdesk.services import typing_window

# --- routing: who is offered a waiting chat (one rule for the console's list and the push audience) ---------------


def chat_capacity() -> int:
    return settings.CHAT_MAX_CONCURRENT_PER_AGENT


def _free_takers() -> QuerySet[User]:
    """Staff who can take a chat now: active, marked available (the top bar's away/available toggle, the same flag
    that stops automatic ticket assignment), on a tier-1 team, and holding fewer active chats than the capacity."""
    return (
        User.objects.filter(is_active=True, is_available=True, memberships__team__tier=Tier.AGENT)
        .exclude(role=Role.CUSTOMER)
        .annotate(chats_active=Count("chats_taken", filter=Q(chats_taken__status=ChatStatus.ACTIVE), distinct=True))
        .filter(chats_active__lt=chat_capacity())
    )


def chat_takers(session: ChatSession | None = None) -> QuerySet[User]:
    """Who is offered ``session``: the free takers (``_free_takers``) on the team its category routes to (the
    tickets' rule, fixed on the chat at start); for a chat routed to no team, any free taker. Without a session:
    every free taker. The push audience of a waiting chat, and the mirror of ``chat_waiting_for``."""
    takers = _free_takers()
    if session is not None and session.team_id is not None:
        takers = takers.filter(memberships__team_id=session.team_id)
    return User.objects.filter(pk__in=takers.values("pk")).order_by("pk")


def chat_taker_ids(session: ChatSession | None = None) -> list[int]:
    return list(chat_takers(session).values_list("pk", flat=True))


def chat_waiting_for(agent: User) -> QuerySet[ChatSession]:
    """The waiting chats offered to ``agent`` (their console's list), oldest first: none unless they are a free
    taker; then the chats routed to one of their teams, and chats routed to no team. Agrees with ``chat_takers``
    (a test checks every pair)."""
    if not _free_takers().filter(pk=agent.pk).exists():
        return ChatSession.objects.none()
    teams = Team.objects.filter(memberships__user=agent)
    return chat_waiting().filter(Q(team__in=teams) | Q(team__isnull=True)).order_by("created_at", "id")


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
    if session.customer_id is not None and user.pk == session.customer_id:
        return True
    return user.is_staff_member and user.is_active and user.pk in chat_staff_ids(session)


def chat_for_escalation(*, escalation_id: int, user: User) -> ChatSession | None:
    """The chat still going whose warm transfer ``escalation_id`` is, if ``user`` is in it (the accepter joined it,
    ``chat_join_on_escalation_accepted``): the escalation page links them to it. ``None`` for any other escalation,
    an ended chat, or someone not in the chat (one rule: ``chat_is_participant``)."""
    session = (
        ChatSession.objects.filter(
            Q(escalation_id=escalation_id) | Q(participants__escalation_id=escalation_id), status=ChatStatus.ACTIVE
        )
        .distinct()
        .first()
    )
    if session is None or not chat_is_participant(user=user, session=session):
        return None
    return session


def chat_may_read(*, user: User, session: ChatSession) -> bool:
    if chat_is_participant(user=user, session=session):
        return True
    return user.is_staff_member and user.is_active and session.status == ChatStatus.WAITING


def chat_customer_audience(payload: dict, customers: list[User]) -> list[User]:
    """Which of ``customers`` may receive a customer ``chat`` frame (``{"chat": id, "change": ...}``) when it is
    delivered: those who may still read the chat (``chat_may_read``, the rule of the chat's pages: its own customer).
    Registered with the push (``helpdesk.live.live_customer_rule_register``); one query."""
    chat_id = payload.get("chat")
    session = ChatSession.objects.filter(pk=chat_id).prefetch_related(_participants()).first() if chat_id else None
    if session is None:
        return []
    return [user for user in customers if user.is_customer and chat_may_read(user=user, session=session)]


def chat_typing_names(*, session: ChatSession, viewer: User) -> list[str]:
    """Who else in the chat is typing now (within ``PRESENCE_TYPING_SECONDS``, the workspace's typing window): for the
    customer, the staff participants; for staff, the customer and the other staff participants."""
    since = timezone.now() - typing_window()
    names = []
    # the guest (an anonymous viewer, ``chat.guest``) is the customer's side even once their chat has a customer
    them = viewer.is_authenticated and viewer.pk != session.customer_id
    if them and session.customer_typing_at and session.customer_typing_at >= since:
        names.append(session.customer.display_name if session.customer is not None else session.guest_name)
    for participant in chat_participants(session):
        if participant.user_id != viewer.pk and participant.typing_at and participant.typing_at >= since:
            names.append(participant.user.first_name or participant.user.display_name)
    return names


def chat_specialist_teams() -> QuerySet[Team]:
    """The teams a chat can be escalated to while the customer waits: the specialist (tier 2) teams."""
    return Team.objects.filter(tier=Tier.SPECIALIST).order_by("name")


def chat_messages(session: ChatSession) -> QuerySet[ChatMessage]:
    return session.messages.select_related("author").prefetch_related("attachments").order_by("created_at", "id")


def chat_attachment_for_download(*, user: User, pk: int) -> ChatAttachment | Attachment:
    """The file to send for a chat attachment: while it is the chat's only, if ``user`` is in the chat
    (``chat_is_participant``); once it is on the chat's ticket, the ticket's copy by the ticket's attachment rule
    (``attachment_get_for_user``). Otherwise ``Http404``, whoever asks."""
    chat_file = (
        (
            ChatAttachment.objects.select_related("message__session").prefetch_related(
                Prefetch(
                    "message__session__participants", queryset=ChatParticipant.objects.only("session_id", "user_id")
                )
            )
        )
        .filter(pk=pk)
        .first()
    )
    if chat_file is None:
        raise Http404("No such file.")
    if chat_file.ticket_attachment_id is not None:
        return attachment_get_for_user(user=user, pk=chat_file.ticket_attachment_id)
    if not chat_is_participant(user=user, session=chat_file.message.session):
        raise Http404("No such file.")
    return chat_file


def _same_queue(session: ChatSession) -> Q:
    """The chats routed like ``session`` (its team, or no team)."""
    return Q(team_id=session.team_id) if session.team_id is not None else Q(team__isnull=True)


def chat_queue_position(session: ChatSession) -> int | None:
    """1 for the oldest chat waiting for the same team (its queue); None once the chat is no longer waiting."""
    if session.status != ChatStatus.WAITING:
        return None
    ahead = ChatSession.objects.filter(
        Q(created_at__lt=session.created_at) | Q(created_at=session.created_at, pk__lt=session.pk),
        _same_queue(session),
        status=ChatStatus.WAITING,
    ).count()
    return ahead + 1


def chat_waiting_behind(session: ChatSession) -> list[tuple[int, int]]:
    """``(chat id, customer id)`` of the chats still waiting in ``session``'s queue: their place in it moves when
    ``session`` leaves it (taken or ended), so their customers are told (a bare ``queue`` frame)."""
    return list(
        ChatSession.objects.filter(_same_queue(session), status=ChatStatus.WAITING)
        .exclude(pk=session.pk)
        .exclude(customer__isnull=True)  # guests have no stream: their page polls (chat.guest)
        .values_list("pk", "customer_id")
    )


def chat_waiting() -> QuerySet[ChatSession]:
    return ChatSession.objects.filter(status=ChatStatus.WAITING).select_related(
        "customer", "category", "team", "ticket"
    )


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
    messages = ChatMessage.objects.select_related("author").prefetch_related("attachments").order_by("created_at", "id")
    return (
        ChatSession.objects.filter(status=ChatStatus.ACTIVE, participants__user=user)
        .select_related("customer", "agent", "category", "ticket", "escalation", "escalation__to_team")
        .prefetch_related(Prefetch("messages", queryset=messages), _participants())
        .order_by("accepted_at", "id")
    )


# --- expected wait -------------------------------------------------------------------------------------------------

WAIT_HISTORY = 20  # the recent accepted chats of a queue the estimate is taken from


def chat_expected_wait_seconds(session: ChatSession) -> int | None:
    """An estimate of how long ``session`` still waits: the median accept delay of the last ``WAIT_HISTORY`` chats
    accepted from the same queue (routed team), times its position, shared among the agents who could take it now
    (at least one, so a queue with nobody free still gets an estimate). None when there is no history yet or the
    chat is not waiting: the page then says "a few minutes". Three queries."""
    position = chat_queue_position(session)
    if position is None:
        return None
    recent = list(
        ChatSession.objects.filter(_same_queue(session), accepted_at__isnull=False)
        .order_by("-accepted_at", "-pk")
        .values_list("created_at", "accepted_at")[:WAIT_HISTORY]
    )
    if not recent:
        return None
    delays = sorted(max(0.0, (accepted - created).total_seconds()) for created, accepted in recent if accepted)
    middle = len(delays) // 2
    median = delays[middle] if len(delays) % 2 else (delays[middle - 1] + delays[middle]) / 2
    agents = max(1, chat_takers(session).count())
    return round(median * position / agents)
