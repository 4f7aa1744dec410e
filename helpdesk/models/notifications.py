"""The notification outbox (``Notification`` and its ``NotificationKind`` vocabulary) and the webhook endpoints with
their delivery log."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from helpdesk.models.accounts import User
from helpdesk.models.tickets import Ticket


class NotificationChannel(models.TextChoices):
    IN_APP = "in_app", "In-app"
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"
    # Pages to the person on call (helpdesk/pager.py); off unless PAGER_BACKEND is set.
    SMS = "sms", "SMS"


class NotificationKind(models.TextChoices):
    """Every kind of outbox row. Apps other than ``helpdesk`` write notifications too; the vocabulary lives here
    (as ``EventKind`` does) so a kind is one name the bell, the emails and the tests agree on. Kinds derived from
    another vocabulary are built by the ``for_*`` helpers, which raise ``ValueError`` for a value not listed."""

    # helpdesk
    TICKET_CREATED = "ticket_created", "Ticket created"
    CUSTOMER_MESSAGE = "customer_message", "Customer message"
    AGENT_REPLY = "agent_reply", "Agent reply"
    TICKET_ASSIGNED = "ticket_assigned", "Ticket assigned"
    STATUS_RESOLVED = "status_resolved", "Ticket resolved (to the customer)"
    STATUS_PENDING_CUSTOMER = "status_pending_customer", "Waiting on the customer (to the customer)"
    WEBHOOK_TICKET_CREATED = "webhook:ticket.created", "Webhook: ticket created"
    WEBHOOK_TICKET_ESCALATED = "webhook:ticket.escalated", "Webhook: ticket escalated"
    WEBHOOK_ESCALATION_ACCEPTED = "webhook:escalation.accepted", "Webhook: escalation accepted"
    WEBHOOK_SLA_WARNING = "webhook:sla.warning", "Webhook: SLA warning"
    WEBHOOK_SLA_BREACHED = "webhook:sla.breached", "Webhook: SLA breached"
    WEBHOOK_TICKET_RESOLVED = "webhook:ticket.resolved", "Webhook: ticket resolved"
    WEBHOOK_SURVEY_ANSWERED = "webhook:survey.answered", "Webhook: survey answered"
    # escalations: a hop, one kind per escalation type (plus automatic), and what follows it
    ESCALATION_TECHNICAL = "escalation_technical", "Escalation: technical"
    ESCALATION_MANAGERIAL = "escalation_managerial", "Escalation: managerial"
    ESCALATION_SUPPORT_LEVEL = "escalation_support_level", "Escalation: support level"
    ESCALATION_EMERGENCY = "escalation_emergency", "Escalation: emergency"
    ESCALATION_PROCESS = "escalation_process", "Escalation: process"
    ESCALATION_FINANCIAL = "escalation_financial", "Escalation: financial"
    ESCALATION_COMPLIANCE = "escalation_compliance", "Escalation: compliance"
    ESCALATION_THIRD_PARTY = "escalation_third_party", "Escalation: third party"
    ESCALATION_AUTOMATIC = "escalation_automatic", "Escalation: automatic"
    ESCALATION_UNACKNOWLEDGED = "escalation_unacknowledged", "Escalation not accepted"
    ESCALATION_ACCEPTED = "escalation_accepted", "Escalation accepted"
    ESCALATION_RETURNED = "escalation_returned", "Escalation returned"
    ESCALATION_RESOLVED = "escalation_resolved", "Escalation resolved"
    CUSTOMER_ESCALATED = "customer_escalated", "Escalated (to the customer)"
    CUSTOMER_ESCALATION_ACCEPTED = "customer_escalation_accepted", "Escalation accepted (to the customer)"
    CUSTOMER_ESCALATION_RETURNED = "customer_escalation_returned", "Escalation returned (to the customer)"
    CUSTOMER_ESCALATION_RESOLVED = "customer_escalation_resolved", "Escalation resolved (to the customer)"
    COMPENSATION_PENDING = "compensation_pending", "Compensation awaiting approval"
    COMPENSATION_APPROVED = "compensation_approved", "Compensation approved"
    COMPENSATION_REJECTED = "compensation_rejected", "Compensation rejected"
    CUSTOMER_COMPENSATION_GRANTED = "customer_compensation_granted", "Compensation granted (to the customer)"
    VENDOR_FOLLOW_UP = "vendor_follow_up", "Vendor case follow-up"
    SLA_WARNING = "sla_warning", "SLA warning"
    CUSTOMER_CALLBACK_PROMISED = "customer_callback_promised", "Callback promised (to the customer)"
    CALLBACK_REMINDER = "callback_reminder", "Callback reminder"
    CALLBACK_MISSED = "callback_missed", "Callback missed"
    WARM_TRANSFER_TIMED_OUT = "warm_transfer_timed_out", "Warm transfer timed out"
    # feedback
    RESOLUTION_TEAM_NOTIFIED = "resolution_team_notified", "Resolution: team notified"
    SURVEY = "survey", "Survey"
    SURVEY_REMINDER = "survey_reminder", "Survey reminder"
    FOLLOW_UP_LOW_CSAT = "follow_up_low_csat", "Follow-up: low satisfaction call-back"
    FOLLOW_UP_CHECK_IN = "follow_up_check_in", "Follow-up: check-in after resolution"
    CORRECTIVE_ACTION = "corrective_action", "RCA corrective action"
    # knowledge_base
    KB_PROPOSAL = "kb_proposal", "Knowledge base proposal"
    KB_PROPOSAL_DECIDED = "kb_proposal_decided", "Knowledge base proposal decided"
    HELP_REQUEST_CONFIRM = "help_request_confirm", "Help centre: confirm your email (to the visitor)"

    @classmethod
    def for_escalation(cls, escalation_type: str, *, automatic: bool = False) -> NotificationKind:
        """The notice of a new hop: one kind per escalation type; an SLA-triggered hop has its own."""
        return cls.ESCALATION_AUTOMATIC if automatic else cls(f"escalation_{escalation_type}")

    @classmethod
    def for_customer(cls, event_kind: str) -> NotificationKind:
        """The customer's email that goes with a public escalation event (``EventKind.ESCALATED``, ...)."""
        return cls(f"customer_{event_kind}")

    @classmethod
    def for_status(cls, status: str) -> NotificationKind:
        """The customer's email for a status change (resolved, waiting on the customer)."""
        return cls(f"status_{status}")

    @classmethod
    def for_webhook(cls, event_type: str) -> NotificationKind:
        """One webhook delivery of a ``WebhookEventType``."""
        return cls(f"webhook:{event_type}")

    @classmethod
    def for_follow_up(cls, follow_up_kind: str) -> NotificationKind:
        """The owner's notice of a feedback follow-up task (``FollowUpKind``)."""
        return cls(f"follow_up_{follow_up_kind}")

    @classmethod
    def for_compensation(cls, *, approved: bool) -> NotificationKind:
        """The requester's notice of a compensation decision."""
        return cls.COMPENSATION_APPROVED if approved else cls.COMPENSATION_REJECTED


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class NotificationQuerySet(models.QuerySet["Notification"]):
    def pending(self) -> NotificationQuerySet:
        return self.filter(status=NotificationStatus.PENDING)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """The outbox: written in the same transaction as the change that causes it, delivered by Celery.

    In-app rows are the bell's list and need no delivery. Email and webhook rows stay ``pending`` until a worker
    delivers them; a beat task re-queues what is still pending, so a broker outage delays but never loses one.
    """

    channel = models.CharField(max_length=10, choices=NotificationChannel.choices)
    # No plain index on status or recipient: every insert pays for each index, and the sweep writes tens of
    # thousands of rows a second. Pending rows are found through ``notification_pending``, rows stuck "sending"
    # through ``notification_sending`` (both partial, so sent rows never enter them), and a recipient's rows through
    # ``notification_inbox`` (recipient is its leading column).
    status = models.CharField(max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    kind = models.CharField(max_length=48, choices=NotificationKind.choices)
    recipient = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    to_address = models.CharField(max_length=254, blank=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(max_length=250)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    not_before = models.DateTimeField(null=True, blank=True, help_text="Quiet hours: deliver no earlier than this.")
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker took it for sending.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "channel", "read_at"], name="notification_inbox"),
            models.Index(
                fields=["created_at"], name="notification_pending", condition=Q(status=NotificationStatus.PENDING)
            ),
            # The re-delivery sweep's "claimed but never finished" probe; only rows being sent enter it.
            models.Index(
                fields=["claimed_at"], name="notification_sending", condition=Q(status=NotificationStatus.SENDING)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.subject}"

    @property
    def message_id(self) -> str:
        """A stable Message-ID, so a re-delivered email is recognisably the same message."""
        return f"<notification-{self.pk}@helpdesk>"


class WebhookEventType(models.TextChoices):
    TICKET_CREATED = "ticket.created", "Ticket created"
    TICKET_ESCALATED = "ticket.escalated", "Ticket escalated"
    ESCALATION_ACCEPTED = "escalation.accepted", "Escalation accepted"
    SLA_WARNING = "sla.warning", "SLA warning"
    SLA_BREACHED = "sla.breached", "SLA breached"
    TICKET_RESOLVED = "ticket.resolved", "Ticket resolved"
    SURVEY_ANSWERED = "survey.answered", "Survey answered"


class WebhookEndpoint(models.Model):
    """An integration's receiving URL. Deliveries are signed with ``secret`` (HMAC-SHA256); the endpoint is disabled
    automatically after repeated consecutive failures."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=200, help_text="Shared secret for the X-Helpdesk-Signature header.")
    event_types = models.JSONField(default=list, blank=True, help_text="Event types this endpoint receives.")
    slack_format = models.BooleanField(default=False, help_text='Send a Slack-compatible {"text": …} payload.')
    cleared_for_restricted = models.BooleanField(
        default=False,
        help_text="Cleared to receive restricted (compliance) tickets' subject, text and customer data. Uncleared "
        "endpoints get only the reference, event, status, priority and “restricted: true” for such tickets.",
    )
    is_active = models.BooleanField(default=True)
    failure_count = models.PositiveIntegerField(default=0, help_text="Consecutive failed attempts.")
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """The delivery log: one row per attempt of one outbox row to one endpoint."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    notification = models.ForeignKey(Notification, null=True, on_delete=models.SET_NULL, related_name="+")
    delivery_id = models.CharField(max_length=40, db_index=True)
    event_type = models.CharField(max_length=40)
    attempt = models.PositiveSmallIntegerField()
    succeeded = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint} (attempt {self.attempt})"
