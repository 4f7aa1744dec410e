"""Writes for live chat. Keyword-only and atomic; the ticket a chat becomes is opened through the core's
``ticket_create`` (routing, events, notifications stay in one home). Each state change pushes a ``chat`` frame to
the people concerned after commit (``helpdesk.live``): the chat's staff participants, or every chat taker while it
waits, and the chat's customer (a bare ``{"chat", "change"}`` on their own stream, README "Live chat").

A chat is escalated through the product's one warm transfer (``escalations.services.escalation_create`` with the
customer waiting, as the phone's transfer does), and converted into a callback through the calls' own
``callback_create``: chat builds on escalations, never the other way round (escalations learns nothing of chat; the
specialist joins when the ``ticket_event_recorded`` signal reports the acceptance, ``chat.receivers``)."""

from __future__ import annotations

from datetime import UTC, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chat.models import (
    MESSAGE_MAX_LENGTH,
    ChatAttachment,
    ChatMessage,
    ChatParticipant,
    ChatSession,
    ChatStatus,
    MessageKind,
    ParticipantRole,
)
from chat.selectors import (
    chat_active_for_agent,
    chat_capacity,
    chat_is_participant,
    chat_open_for_customer,
    chat_taker_ids,
    chat_takers,
    chat_waiting_behind,
)
from escalations.calls.services import callback_create, callback_window
from escalations.models import Callback, Escalation, EscalationStatus, EscalationType
from escalations.services import escalation_create
from helpdesk.attachments import attachment_store, attachment_validate
from helpdesk.errors import ApplicationError, Conflict, Invalid, NotAllowed
from helpdesk.events import agent_replied_event
from helpdesk.live.publish import LiveKind, live_publish
from helpdesk.models import Category, Channel, EventKind, Team, Ticket, Tier, User
from helpdesk.services import (
    ticket_assign,
    ticket_create,
    typing_window,
)
from helpdesk.text import single_line


class ChatRateLimited(Invalid):
    default_code = "chat_rate_limited"
    status = 429


def _push(session: ChatSession, change: str, *, exclude: int | None = None) -> None:
    """One ``chat`` frame: to the staff participants of an accepted chat, to the chat's takers (its routed team's
    free agents, ``chat_takers``) for a waiting (or just taken) one; ``exclude`` leaves out the person who caused it
    (their own typing)."""
    users = chat_taker_ids(session) if change in ("waiting", "accepted") else []
    users = sorted({*users, *ChatParticipant.objects.filter(session=session).values_list("user_id", flat=True)})
    if session.agent_id is not None:
        users = sorted({*users, session.agent_id})
    users = [pk for pk in users if pk != exclude]
    frame = {"chat": session.pk, "change": change}
    # The chat's customer gets the same bare fact (no text) on their stream, if they may still read the chat when it
    # is delivered (``chat_customer_audience``, registered in ``chat.apps``); not for their own typing.
    customers = [session.customer_id] if session.customer_id is not None and session.customer_id != exclude else []
    if users or customers:
        live_publish(kind=LiveKind.CHAT, payload=frame, users=users, customer_payload=frame, customers=customers)
    if change in ("accepted", "ended"):
        # The chats behind it in the queue move up: each customer re-reads their place (their own chat's frame).
        for chat_id, customer_id in chat_waiting_behind(session):
            moved = {"chat": chat_id, "change": "queue"}
            live_publish(kind=LiveKind.CHAT, payload=moved, users=[], customer_payload=moved, customers=[customer_id])


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
    assert session.customer is not None  # a signed-in customer's chat (guest chats: chat.guest)
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
    ChatParticipant.objects.create(
        session=session, user=agent, role=ParticipantRole.AGENT, joined_at=session.accepted_at
    )
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
def chat_post(*, session: ChatSession, author: User, body: str, upload: UploadedFile | None = None) -> ChatMessage:
    """A message from the chat's customer or one of its staff participants (its agent, a specialist who joined),
    while the chat is open, with at most one file (``upload``: the product's attachment rules,
    ``helpdesk.attachments.attachment_validate``; a file alone needs no words). A customer may send at most
    ``CHAT_RATE_LIMIT_MESSAGES`` messages in ``CHAT_RATE_LIMIT_SECONDS`` (across their chats), files included.
    Posting ends the author's "typing"."""
    session = _lock(session)
    if not chat_is_participant(user=author, session=session):
        raise NotAllowed(_("Only the people in this chat can write in it."))
    if session.status == ChatStatus.ENDED:
        raise Conflict(_("This chat has ended."))
    body = _clean_body(body) if (body or "").strip() or upload is None else ""
    from_staff = author.pk != session.customer_id
    if not from_staff:
        since = timezone.now() - timedelta(seconds=settings.CHAT_RATE_LIMIT_SECONDS)
        recent = ChatMessage.objects.filter(author=author, created_at__gte=since).count()
        if recent >= settings.CHAT_RATE_LIMIT_MESSAGES:
            raise ChatRateLimited(_("You are sending messages too quickly. Please wait a few seconds."))
    content_type = ""
    if upload is not None:
        try:
            content_type = attachment_validate(upload)
        except ValidationError as exc:
            raise Invalid(" ".join(exc.messages), extra={"field": "attachment"}) from exc
    message = ChatMessage.objects.create(session=session, author=author, from_staff=from_staff, body=body)
    if upload is not None:
        attachment = ChatAttachment(
            message=message,
            original_name=_file_name(upload),
            content_type=content_type,
            size=upload.size or 0,
            uploaded_by=author,
        )
        attachment.file.save(_file_name(upload), upload, save=False)
        attachment.save()
    if from_staff:
        ChatParticipant.objects.filter(session=session, user=author).update(typing_at=None)
    else:
        ChatSession.objects.filter(pk=session.pk).update(customer_typing_at=None)
    _push(session, "message")
    return message


def _file_name(upload: UploadedFile) -> str:
    return ((upload.name or "file").replace("\\", "/").rsplit("/", 1)[-1] or "file")[:200]


def _chat_attachments_to_ticket(*, session: ChatSession, ticket: Ticket) -> None:
    """The chat's files not on its ticket yet go there through the product's ``attachment_store`` (its rules again,
    private storage, public: the customer sent or was sent them), on the ticket's opening event, whose description
    is the transcript that names them. Each file once, so escalating and then ending moves each one once."""
    opening = ticket.events.filter(kind=EventKind.CREATED).order_by("created_at", "id").first()
    pending = ChatAttachment.objects.filter(message__session=session, ticket_attachment__isnull=True).select_related(
        "uploaded_by", "message__author"
    )
    for chat_file in pending:
        with chat_file.file.open("rb") as handle:
            upload = UploadedFile(
                file=handle, name=chat_file.original_name, content_type=chat_file.content_type, size=chat_file.size
            )
            stored = attachment_store(
                ticket=ticket,
                event=opening,
                upload=upload,
                uploaded_by=chat_file.uploaded_by or chat_file.message.author or ticket.customer,
                is_public=True,
            )
        chat_file.ticket_attachment = stored
        chat_file.save(update_fields=["ticket_attachment"])


def chat_transcript(session: ChatSession, *, after=None) -> str:
    """The chat as plain text, one message a block, times in UTC (labelled); a specialist's arrival is a line of its
    own. ``after``: only what was said after that moment (the part a ticket opened mid-chat does not hold yet)."""
    lines = []
    messages = session.messages.select_related("author").prefetch_related("attachments").order_by("created_at", "id")
    if after is not None:
        messages = messages.filter(created_at__gt=after)
    for message in messages:
        stamp = message.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        if message.kind == MessageKind.JOINED:
            lines.append(f"[{stamp}] {message.author_name} (specialist) joined the chat.")
        else:
            files = "".join(f"\n[Attachment: {file.original_name}]" for file in message.attachments.all())
            lines.append(f"[{stamp}] {message.author_name}: {message.body}{files}".replace(": \n", ":\n"))
    return "\n\n".join(lines)


def _chat_ticket(session: ChatSession, *, actor: User) -> Ticket:
    """The chat's ticket holding the transcript so far as its description (the caller holds the chat's row lock):
    the ticket opened when the chat started, or, for a chat started before tickets opened at start, one opened now
    through the core's ``ticket_create``, assigned to the chat's agent when they are on the routed team, and linked.
    The one home of "a chat becomes a ticket", for ending, escalating and converting to a callback. A guest chat
    whose email is not confirmed has no customer, so no ticket: refused (``chat.guest``)."""
    if session.customer_id is None:
        raise Conflict(
            "This guest has not confirmed their email yet, so the chat has no ticket: "
            "it cannot be escalated or converted until they do."
        )
    opened = session.ticket is not None
    ticket = _chat_ticket_transcript(session=session, actor=actor)
    _chat_attachments_to_ticket(session=session, ticket=ticket)
    if not opened:
        agent = session.agent
        if agent is not None and ticket.team is not None and ticket.team.members.filter(pk=agent.pk).exists():
            ticket_assign(ticket=ticket, actor=agent, team=ticket.team, assignee=agent)
        session.ticket = ticket
        session.save(update_fields=["ticket"])
    return ticket


@transaction.atomic
def chat_end(*, session: ChatSession, actor: User) -> Ticket | None:
    """End the chat (its customer or a staff participant; staff may also close a waiting chat) into its ticket, whose
    description becomes the whole transcript (``_chat_ticket``; a specialist's lines included). Ending an ended chat
    returns the same ticket. A guest chat whose email is not confirmed ends without a ticket (None; ``chat.guest``)."""
    session = _lock(session)
    is_participant = chat_is_participant(user=actor, session=session)
    if not is_participant and not (actor.is_staff_member and session.status == ChatStatus.WAITING):
        raise NotAllowed(_("Only the people in this chat can end it."))
    if session.status == ChatStatus.ENDED and (session.ticket is not None or session.customer_id is None):
        return session.ticket
    ticket = _chat_ticket(session, actor=actor) if session.customer_id is not None else None
    session.status = ChatStatus.ENDED
    session.ended_at = timezone.now()
    session.save(update_fields=["status", "ended_at"])
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
    assert session.customer is not None  # a guest chat gets its ticket when its email is confirmed (chat.guest)
    return ticket_create(
        customer=session.customer,
        subject=_chat_subject(first.body if first else ""),
        description=transcript,
        category=session.category,
        channel=Channel.CHAT,
        actor=actor,
    )


# --- escalating a chat: the warm transfer, the specialist joining, the callback; typing ---------------------------


def _refusal(exc: ValidationError | PermissionDenied) -> ApplicationError:
    """A refusal of the escalations or calls services in the chat's own error kinds (a clear 4xx, never a 500)."""
    if isinstance(exc, PermissionDenied):
        return NotAllowed(str(exc) or "You may not do this.")
    return Invalid(" ".join(exc.messages))


def _require_staff_participant(session: ChatSession, user: User, *, to: str) -> None:
    if not (user.is_staff_member and chat_is_participant(user=user, session=session)):
        raise NotAllowed(f"Only the staff in this chat can {to}.")


def chat_transfer_pending(session: ChatSession) -> bool:
    """A specialist team was asked to join and nobody has accepted yet (the customer is told to stay)."""
    escalation = session.escalation
    return escalation is not None and escalation.status == EscalationStatus.OPEN and escalation.caller_waiting


@transaction.atomic
def chat_escalate(
    *,
    session: ChatSession,
    actor: User,
    team: Team,
    escalation_type: str = EscalationType.TECHNICAL,
    note: str = "",
    now=None,
) -> Escalation:
    """The chat's warm transfer: its agent asks a specialist (tier 2) team to join while the customer waits. The
    chat's ticket is opened now (``_chat_ticket``: the transcript so far) and escalated through the one
    ``escalation_create`` with the caller waiting, so the team's inbox gets it pushed with the accept countdown and
    the dossier, and an unaccepted transfer becomes a promised callback as on the phone. Atomic; a chat with a
    transfer still waiting, or a ticket already escalated, is refused (409)."""
    session = _lock(session)
    if session.status != ChatStatus.ACTIVE:
        raise Conflict("This chat has ended." if session.status == ChatStatus.ENDED else "Accept this chat first.")
    if actor.pk != session.agent_id:
        raise NotAllowed("Only the chat's agent can bring in a specialist.")
    if team.tier != Tier.SPECIALIST:
        raise Invalid("Choose a specialist (tier 2) team.", extra={"field": "team"})
    if chat_transfer_pending(session):
        assert session.escalation is not None
        raise Conflict(
            f"{session.escalation.to_team.name if session.escalation.to_team else 'A team'} was already asked to "
            "join this chat; wait for them to accept."
        )
    ticket = _chat_ticket(session, actor=actor)
    note = (note or "").strip()
    try:
        with transaction.atomic():
            escalation = escalation_create(
                ticket=ticket,
                actor=actor,
                escalation_type=escalation_type,
                mode="functional",
                reason=f"Live chat: {actor.display_name} asks {team.name} to join the conversation now.",
                dossier_problem=ticket.subject,
                dossier_tried=(f"{note}\n\n" if note else "")
                + f"{actor.display_name} is chatting with the customer; the transcript so far is the ticket's "
                "description.",
                dossier_desired_outcome="A specialist joins the live chat now: the customer is waiting in it.",
                dossier_mood="waiting in the chat",
                caller_waiting=True,
                to_team=team,
                now=now,
            )
    except (ValidationError, PermissionDenied) as exc:
        raise _refusal(exc) from exc
    session.escalation = escalation
    session.save(update_fields=["escalation"])
    _push(session, "escalated")
    return escalation


@transaction.atomic
def chat_specialist_join(*, session: ChatSession, specialist: User, escalation: Escalation | None = None) -> bool:
    """The specialist who accepted the chat's warm transfer joins the conversation: a participant (reads, posts, gets
    the frames) and a "joined" line the customer sees. Idempotent (joining twice changes nothing, returns False);
    an ended chat is refused."""
    session = _lock(session)
    if not specialist.is_staff_member or not specialist.is_active:
        raise NotAllowed("Only staff join chats.")
    if session.status != ChatStatus.ACTIVE:
        raise Conflict("This chat has ended." if session.status == ChatStatus.ENDED else "This chat is not taken yet.")
    if ChatParticipant.objects.filter(session=session, user=specialist).exists():
        return False
    now = timezone.now()
    ChatParticipant.objects.create(
        session=session, user=specialist, role=ParticipantRole.SPECIALIST, escalation=escalation, joined_at=now
    )
    ChatMessage.objects.create(
        session=session, author=specialist, from_staff=True, kind=MessageKind.JOINED, body="", created_at=now
    )
    _push(session, "joined")
    return True


def chat_join_on_escalation_accepted(*, escalation_id: int, specialist: User) -> bool:
    """The acceptance of a chat's warm transfer (whatever screen or API accepted it) joins the accepter to the chat,
    if the chat is still going; inside the accepting transaction. False when no open chat waits on it."""
    session = ChatSession.objects.filter(escalation_id=escalation_id, status=ChatStatus.ACTIVE).first()
    if session is None:
        return False
    return chat_specialist_join(session=session, specialist=specialist, escalation=session.escalation)


@transaction.atomic
def chat_convert_to_callback(
    *, session: ChatSession, actor: User, reason: str, number: str = "", starts_in_minutes: int = 0, now=None
) -> Callback:
    """Turn the chat into a promised callback: the chat ends into its ticket (the transcript, ``chat_end``) and the
    calls' ``callback_create`` promises the customer a window (``CALLBACK_WINDOW_MINUTES`` long, starting in
    ``starts_in_minutes``), emailed in their zone; the customer's chat page shows the promise. A staff participant
    only; an ended chat is refused (409), so a double submit makes one ticket and one callback. Atomic."""
    locked = _lock(session)
    _require_staff_participant(locked, actor, to="convert it into a callback")
    if locked.status != ChatStatus.ACTIVE:
        raise Conflict("This chat has ended." if locked.status == ChatStatus.ENDED else "Accept this chat first.")
    if not 0 <= starts_in_minutes <= 7 * 24 * 60:
        raise Invalid("The window must start within a week.", extra={"field": "starts_in_minutes"})
    if locked.customer_id is None:
        raise Conflict("This guest has not confirmed their email yet: a callback needs their account.")
    now = now or timezone.now()
    ticket = chat_end(session=locked, actor=actor)
    assert ticket is not None  # a chat with a customer ends into its ticket
    start = now + timedelta(minutes=starts_in_minutes)
    try:
        with transaction.atomic():
            callback = callback_create(
                ticket=ticket,
                actor=actor,
                window_start=start,
                window_end=start + callback_window(),
                reason=(reason or "").strip() or "Promised from the live chat.",
                number=number,
                escalation=locked.escalation if chat_transfer_pending(locked) else None,
                now=now,
            )
    except (ValidationError, PermissionDenied) as exc:
        raise _refusal(exc) from exc
    ChatSession.objects.filter(pk=locked.pk).update(callback=callback)
    return callback


def _customer_typing(session: ChatSession) -> bool:
    """The chat's customer (or its guest, ``chat.guest``) is typing: keep the time; the staff participants get a
    ``chat`` frame when typing starts. Returns whether typing started. Runs inside the caller's atomic block."""
    if session.status == ChatStatus.ENDED:
        raise Conflict(_("This chat has ended."))
    now = timezone.now()
    chat = ChatSession.objects.filter(pk=session.pk)
    started = not chat.filter(customer_typing_at__gte=now - typing_window()).exists()
    chat.update(customer_typing_at=now)
    if started:
        _push(session, "typing", exclude=session.customer_id)
    return started


@transaction.atomic
def chat_typing(*, session: ChatSession, user: User) -> bool:
    """``user`` is typing in the chat: the customer's or a staff participant's typing time is kept (the window is
    the workspace's ``PRESENCE_TYPING_SECONDS``). The staff participants other than the typist get a ``chat`` frame
    when typing starts (not on every keystroke); the customer's page reads staff typing on its next poll. Returns
    whether typing started. Atomic."""
    if not chat_is_participant(user=user, session=session):
        raise NotAllowed(_("Only the people in this chat can write in it."))
    if session.status == ChatStatus.ENDED:
        raise Conflict(_("This chat has ended."))
    if user.pk == session.customer_id:
        return _customer_typing(session)
    now = timezone.now()
    since = now - typing_window()
    mine = ChatParticipant.objects.filter(session=session, user=user)
    started = not mine.filter(typing_at__gte=since).exists()
    mine.update(typing_at=now)
    if started:
        _push(session, "typing", exclude=user.pk)
    return started
