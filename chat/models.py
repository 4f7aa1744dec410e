"""A live chat between a signed-in customer and an agent, and its messages. A chat ends as a ticket (channel
``chat``) whose description is the transcript (``chat.services.chat_end``). Its staff participants are the agent who
took it and the specialists who joined it through a warm transfer (``ChatParticipant``)."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MESSAGE_MAX_LENGTH = 2000


class ChatStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for an agent")
    ACTIVE = "active", _("In progress")
    ENDED = "ended", _("Ended")


class ChatSession(models.Model):
    """A chat. ``customer`` is the signed-in customer who started it; a *guest chat* (an anonymous visitor from the
    help centre or the widget, ``chat.guest``) has no customer until the visitor confirms their email through the
    contact form's signed link: it is bound to the visitor's browser session by ``guest_key`` (kept in their Django
    session, never an account), and staff see ``guest_name``/``guest_email`` marked "unverified"."""

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="chat_sessions"
    )
    guest_name = models.CharField(max_length=150, blank=True)
    guest_email = models.EmailField(max_length=254, blank=True)
    guest_key = models.CharField(
        max_length=64, blank=True, db_index=True, help_text="Random; the visitor's session holds it."
    )
    guest_ip = models.GenericIPAddressField(null=True, blank=True)
    # The contact form's request (knowledge_base.HelpRequest) whose signed link verifies the guest's email; an id,
    # not a foreign key (chat does not depend on the help centre's tables; unconfirmed requests are purged).
    guest_request_id = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    guest_verified_at = models.DateTimeField(null=True, blank=True)
    category = models.ForeignKey("helpdesk.Category", null=True, blank=True, on_delete=models.SET_NULL)
    # The team the chat routes to, by the tickets' rule (``helpdesk.services.team_for_category``), fixed at start:
    # only its available members under capacity are offered the chat (``chat.selectors.chat_takers``).
    team = models.ForeignKey(
        "helpdesk.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="chat_sessions"
    )
    status = models.CharField(max_length=10, choices=ChatStatus.choices, default=ChatStatus.WAITING)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="chats_taken"
    )
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ticket = models.OneToOneField(
        "helpdesk.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="chat_session"
    )
    # The warm transfer that asked a specialist team to join (the latest one); its acceptance joins the accepter.
    escalation = models.ForeignKey(
        "escalations.Escalation", null=True, blank=True, on_delete=models.SET_NULL, related_name="chat_sessions"
    )
    # The callback the chat was converted into (the chat ended then; the customer's page shows the promise).
    callback = models.ForeignKey(
        "escalations.Callback", null=True, blank=True, on_delete=models.SET_NULL, related_name="chat_sessions"
    )
    customer_typing_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="chat_status_created"),
            models.Index(fields=["agent", "status"], name="chat_agent_status"),
            models.Index(fields=["team", "status", "accepted_at"], name="chat_team_status_accepted"),
        ]

    def __str__(self) -> str:
        return f"Chat {self.pk} ({self.status})"

    @property
    def is_guest(self) -> bool:
        return bool(self.guest_key)

    @property
    def guest_unverified(self) -> bool:
        return self.is_guest and self.guest_verified_at is None

    @property
    def customer_label(self) -> str:
        """Who the chat is with, for staff: the customer's name, or the guest's name and email (unverified)."""
        if self.guest_unverified or self.customer is None:
            return f"{self.guest_name or self.guest_email} <{self.guest_email}> (guest, unverified email)"
        return self.customer.display_name


class ParticipantRole(models.TextChoices):
    AGENT = "agent", "Agent"
    SPECIALIST = "specialist", "Specialist"


class ChatParticipant(models.Model):
    """A staff member in a chat: the agent who took it, or a specialist who joined it by accepting its warm
    transfer. Participants (and the chat's customer) read and write the chat; each gets its push frames."""

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="chat_participations")
    role = models.CharField(max_length=12, choices=ParticipantRole.choices)
    escalation = models.ForeignKey(
        "escalations.Escalation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    joined_at = models.DateTimeField(default=timezone.now)
    typing_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="chat_participant_once")]
        indexes = [models.Index(fields=["user", "session"], name="chat_participant_user")]

    def __str__(self) -> str:
        return f"{self.user_id} in chat {self.session_id} ({self.role})"


class MessageKind(models.TextChoices):
    MESSAGE = "message", "Message"
    JOINED = "joined", "A specialist joined"


class ChatMessage(models.Model):
    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    # None for a guest's message (a guest chat's visitor has no account).
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="chat_messages"
    )
    from_staff = models.BooleanField(default=False)
    # A "joined" line is written by the system for its author (the specialist); its words are the template's, in
    # the reader's language, and its body stays empty.
    kind = models.CharField(max_length=10, choices=MessageKind.choices, default=MessageKind.MESSAGE)
    body = models.TextField(max_length=MESSAGE_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["author", "created_at"], name="chat_msg_author_created")]

    def __str__(self) -> str:
        return f"Message {self.pk} in chat {self.session_id}"

    @property
    def author_name(self) -> str:
        if self.author is not None:
            return self.author.display_name
        return self.session.guest_name or self.session.guest_email


def _private_storage():
    return storages["private"]


def _chat_attachment_path(instance: ChatAttachment, filename: str) -> str:
    # A generated name, as for ticket attachments; the file's own name is kept only as data.
    return f"chat/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{PurePosixPath(filename).suffix.lower()[:10]}"


class ChatAttachment(models.Model):
    """A file sent with a chat message, checked by the product's attachment rules (``helpdesk.attachments``). The
    people in the chat download it (``chat_is_participant``); when the chat becomes its ticket the file goes to the
    ticket through ``attachment_store`` (``ticket_attachment``), and from then on the ticket's rule decides."""

    message = models.ForeignKey(ChatMessage, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_chat_attachment_path, storage=_private_storage, max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    ticket_attachment = models.OneToOneField(
        "helpdesk.Attachment", null=True, blank=True, on_delete=models.SET_NULL, related_name="chat_attachment"
    )

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name
