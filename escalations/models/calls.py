"""Phone calls on tickets and promised callbacks (a warm transfer nobody accepted becomes a callback)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from escalations.models.escalation import Escalation
from helpdesk.models import Ticket

__all__ = [
    "Call",
    "CallDirection",
    "CallOutcome",
    "Callback",
    "CallbackStatus",
    "TelephonyEvent",
    "TelephonyEventKind",
]


class CallDirection(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class CallOutcome(models.TextChoices):
    RESOLVED = "resolved", _("Resolved")
    ESCALATED = "escalated", _("Escalated")
    CALLBACK_PROMISED = "callback_promised", _("Callback promised")
    NO_ANSWER = "no_answer", _("No answer")
    # Reported by the phone system (CTI): the call was answered; the agent adds what was decided.
    ANSWERED = "answered", _("Answered")


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
    external_id = models.CharField(
        max_length=100, blank=True, default="", help_text="The phone system's call id (calls reported over CTI)."
    )

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"], condition=~Q(external_id=""), name="call_external_id_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} call on {self.ticket_id} ({self.get_outcome_display()})"


class CallbackStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    MISSED = "missed", _("Missed")
    ESCALATED = "escalated", _("Escalated to the team lead")


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


class TelephonyEventKind(models.TextChoices):
    RINGING = "ringing", "Ringing"
    ANSWERED = "answered", "Answered"
    ENDED = "ended", "Ended"
    TRANSFERRED = "transferred", "Transferred"


class TelephonyEvent(models.Model):
    """One call event received from the phone system, kept once per ``event_id`` (the idempotency key): a
    redelivered event finds its row and changes nothing. The call's state is read from all its events, so events
    that arrive out of order still give the right call."""

    event_id = models.CharField(max_length=100, unique=True)
    call_ref = models.CharField(max_length=100, db_index=True, help_text="The phone system's call id.")
    kind = models.CharField(max_length=12, choices=TelephonyEventKind.choices)
    occurred_at = models.DateTimeField()
    number = models.CharField(max_length=40, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    call = models.ForeignKey(Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="telephony_events")
    escalation = models.ForeignKey(
        Escalation, null=True, blank=True, on_delete=models.SET_NULL, related_name="telephony_events"
    )
    payload = models.JSONField(default=dict)
    outcome = models.CharField(max_length=200, blank=True, help_text="What the product did with the event.")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "pk"]
        indexes = [models.Index(fields=["agent", "kind", "occurred_at"], name="telephony_agent_kind_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.call_ref} ({self.event_id})"
