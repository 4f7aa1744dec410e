"""A live chat between a signed-in customer and an agent, and its messages. A chat ends as a ticket (channel
``chat``) whose description is the transcript (``chat.services.chat_end``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MESSAGE_MAX_LENGTH = 2000


class ChatStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for an agent")
    ACTIVE = "active", _("In progress")
    ENDED = "ended", _("Ended")


class ChatSession(models.Model):
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="chat_sessions")
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

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="chat_status_created"),
            models.Index(fields=["agent", "status"], name="chat_agent_status"),
            models.Index(fields=["team", "status", "accepted_at"], name="chat_team_status_accepted"),
        ]

    def __str__(self) -> str:
        return f"Chat {self.pk} ({self.status})"


class ChatMessage(models.Model):
    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="chat_messages")
    from_staff = models.BooleanField(default=False)
    body = models.TextField(max_length=MESSAGE_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["author", "created_at"], name="chat_msg_author_created")]

    def __str__(self) -> str:
        return f"Message {self.pk} in chat {self.session_id}"
