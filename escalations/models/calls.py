"""Phone calls on tickets and promised callbacks (a warm transfer nobody accepted becomes a callback)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from escalations.models.escalation import Escalation
from helpdesk.models import Ticket

__all__ = ["Call", "CallDirection", "CallOutcome", "Callback", "CallbackStatus"]


class CallDirection(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class CallOutcome(models.TextChoices):
    RESOLVED = "resolved", "Resolved"
    ESCALATED = "escalated", "Escalated"
    CALLBACK_PROMISED = "callback_promised", "Callback promised"
    NO_ANSWER = "no_answer", "No answer"


class Call(models.Model):
    """One logged phone call on a ticket; it is also a timeline event (kind ``call``)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="calls")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    direction = models.CharField(max_length=10, choices=CallDirection.choices)
    number = models.CharField(max_length=40)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    duration_seconds = models.PositiveIntegerField(default=0)
    summary = models.TextField()
    outcome = models.CharField(max_length=20, choices=CallOutcome.choices)
    callback = models.ForeignKey(
        "Callback",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
        help_text="The promised callback this call kept (if any).",
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} call on {self.ticket_id} ({self.get_outcome_display()})"


class CallbackStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    MISSED = "missed", "Missed"
    ESCALATED = "escalated", "Escalated to the team lead"


class Callback(models.Model):
    """A promised call back to a customer inside a window (stored in UTC, shown in the customer's timezone)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="callbacks")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    number = models.CharField(max_length=40, blank=True, help_text="Blank when no number is on record.")
    window_start = models.DateTimeField(db_index=True)
    window_end = models.DateTimeField(db_index=True)
    customer_timezone = models.CharField(max_length=64, help_text="The timezone the window was promised in.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="callbacks_owned")
    reason = models.TextField()
    escalation = models.ForeignKey(
        Escalation, null=True, blank=True, on_delete=models.SET_NULL, related_name="callbacks"
    )
    status = models.CharField(
        max_length=10, choices=CallbackStatus.choices, default=CallbackStatus.PENDING, db_index=True
    )
    outcome = models.TextField(blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, help_text="When the owner was reminded (once).")
    breached_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="When the window was missed and the lead was told (counted)."
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["window_start"]
        indexes = [
            models.Index(fields=["owner", "window_start"], name="callback_owner_due", condition=Q(status="pending"))
        ]

    def __str__(self) -> str:
        return f"Callback to {self.number} for {self.ticket_id} ({self.get_status_display()})"

    @property
    def is_pending(self) -> bool:
        return self.status == CallbackStatus.PENDING
