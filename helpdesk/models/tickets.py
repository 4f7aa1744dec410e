"""Tickets and what hangs off them: channel, priority and the guarded status machine, the append-only timeline
(``TicketEvent`` and its ``EventKind`` vocabulary), attachments, reply templates, workspace presence and received
emails."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from django.core.files.storage import storages
from django.db import models
from django.db.models import Q
from django.utils import timezone

from helpdesk.models.accounts import Category, Organization, Team, Tier, User
from helpdesk.text import single_line


class Channel(models.TextChoices):
    PHONE = "phone", "Phone"
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"
    WEB = "web", "Web"
    SOCIAL = "social", "Social media"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


PRIORITY_RANK: dict[str, int] = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class Status(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING_CUSTOMER = "pending_customer", "Waiting on customer"
    PENDING_THIRD_PARTY = "pending_third_party", "Waiting on third party"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_THIRD_PARTY)

# The guarded state machine: status -> statuses it may move to.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_THIRD_PARTY, Status.RESOLVED}),
    Status.OPEN: frozenset({Status.PENDING_CUSTOMER, Status.PENDING_THIRD_PARTY, Status.RESOLVED}),
    Status.PENDING_CUSTOMER: frozenset({Status.OPEN, Status.PENDING_THIRD_PARTY, Status.RESOLVED}),
    Status.PENDING_THIRD_PARTY: frozenset({Status.OPEN, Status.PENDING_CUSTOMER, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


class TicketQuerySet(models.QuerySet["Ticket"]):
    def open(self) -> TicketQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def sla_warning(self, now) -> TicketQuerySet:
        """Open tickets inside an SLA warning window: a running clock passed its warn point (the policy's warn %)
        and none is due yet. The one definition of "SLA warning" (``Ticket.sla_state`` is the same rule per row)."""
        return self.open().filter(sla_warn_at__lte=now, sla_due_at__gt=now)

    def for_team(self, team: Team) -> TicketQuerySet:
        return self.filter(team=team)

    def for_teams(self, teams) -> TicketQuerySet:
        return self.filter(team__in=teams)

    def assigned_to(self, user: User) -> TicketQuerySet:
        return self.filter(assignee=user)

    def unassigned(self) -> TicketQuerySet:
        return self.filter(assignee__isnull=True)

    def for_organization(self, organization: Organization) -> TicketQuerySet:
        return self.filter(organization=organization)

    def with_list_related(self) -> TicketQuerySet:
        return self.select_related("customer", "organization__plan", "category", "team", "assignee")


class Ticket(models.Model):
    reference = models.CharField(max_length=24, unique=True, editable=False)
    subject = models.CharField(max_length=200)
    description = models.TextField()
    customer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="customer_tickets")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="tickets")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.NEW)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tickets"
    )
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.AGENT)
    restricted = models.BooleanField(
        default=False, help_text="Compliance: visible only to the handling team, tier 3 and admins."
    )
    is_emergency = models.BooleanField(
        default=False, help_text="Set by an emergency escalation until accepted: pinned to the top of every queue."
    )
    sla_due_at = models.DateTimeField(
        null=True, blank=True, help_text="Earliest due time of the running SLA clocks (maintained by the SLA engine)."
    )
    sla_warn_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Earliest warning time (the policy's warn %) of the running SLA clocks (maintained by the SLA engine).",
    )
    version = models.PositiveIntegerField(default=1, help_text="Optimistic-locking counter; bumped on every change.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    last_public_activity_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = TicketQuerySet.as_manager()
    sla_badge: str | None  # not a column: ``sla_state(now)``, set per row by the queue view for display

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="ticket_status_created"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status"),
            models.Index(fields=["team", "status"], name="ticket_team_status"),
            models.Index(fields=["organization", "-created_at"], name="ticket_org_created"),
            models.Index(fields=["-is_emergency", "sla_due_at"], name="ticket_queue_order"),
            models.Index(fields=["organization", "-last_public_activity_at"], name="ticket_org_activity"),
            # Covering indexes for the agent queue: the ids of a queue page are read from the index alone
            # ("all open tickets" with any filter or sort, and "mine" = assigned to me or my teams' unassigned).
            models.Index(
                fields=[
                    "status",
                    "restricted",
                    "team",
                    "assignee",
                    "is_emergency",
                    "sla_due_at",
                    "created_at",
                    "last_public_activity_at",
                    "priority",
                    "category",
                    "channel",
                ],
                name="ticket_queue_cover",
            ),
            models.Index(
                fields=["assignee", "status", "team", "restricted", "is_emergency", "sla_due_at", "created_at"],
                name="ticket_queue_mine_cover",
            ),
            # The same, led by the two filters whose plain indexes SQLite prefers (then reads every row behind them).
            models.Index(
                fields=[
                    "category",
                    "status",
                    "restricted",
                    "team",
                    "assignee",
                    "is_emergency",
                    "sla_due_at",
                    "created_at",
                    "last_public_activity_at",
                    "priority",
                    "channel",
                ],
                name="ticket_queue_category_cover",
            ),
            models.Index(
                fields=[
                    "team",
                    "status",
                    "restricted",
                    "assignee",
                    "is_emergency",
                    "sla_due_at",
                    "created_at",
                    "last_public_activity_at",
                    "priority",
                    "category",
                    "channel",
                ],
                name="ticket_queue_team_cover",
            ),
            models.Index(fields=["customer", "-created_at"], name="ticket_customer_created"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    def save(self, *args, **kwargs):
        # The subject is an email header and a queue cell: one line, whatever the entry point (helpdesk.text).
        if "subject" in self.__dict__:  # not deferred
            self.subject = single_line(self.subject)
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def sla_state(self, now) -> str | None:
        """ "breached", "warning" (see ``TicketQuerySet.sla_warning``), "ok", or ``None`` without a running clock."""
        if self.sla_due_at is None or not self.is_open:
            return None
        if self.sla_due_at <= now:
            return "breached"
        if self.sla_warn_at is not None and self.sla_warn_at <= now:
            return "warning"
        return "ok"

    def can_transition_to(self, status: str) -> bool:
        return status in STATUS_TRANSITIONS[self.status]

    def customer_reopen_until(self) -> datetime | None:
        """Until when the customer's reply reopens this closed ticket: the plan's reopen window, counted from the
        resolution the customer was told about (else from closing). None when the ticket is not closed."""
        since = self.resolved_at or self.closed_at
        if self.status != Status.CLOSED or since is None:
            return None
        return since + timedelta(days=self.organization.plan.reopen_window_days)

    def customer_may_reopen(self, *, now: datetime) -> bool:
        until = self.customer_reopen_until()
        return until is not None and now < until


class EventKind(models.TextChoices):
    """Every typed event of the timeline. Apps other than ``helpdesk`` record their kinds through
    ``helpdesk.events.event_record``; the vocabulary lives here so the timeline stays one table."""

    CREATED = "created", "Ticket created"
    CUSTOMER_MESSAGE = "customer_message", "Customer message"
    AGENT_REPLY = "agent_reply", "Agent reply"
    INTERNAL_NOTE = "internal_note", "Internal note"
    STATUS_CHANGED = "status_changed", "Status changed"
    ASSIGNED = "assigned", "Assignment changed"
    PRIORITY_CHANGED = "priority_changed", "Priority changed"
    CATEGORY_CHANGED = "category_changed", "Category changed"
    ATTACHMENT_ADDED = "attachment_added", "Attachment added"
    MANAGER_REQUESTED = "manager_requested", "Customer asked for a manager"
    ESCALATED = "escalated", "Escalated"
    ESCALATION_ACCEPTED = "escalation_accepted", "Escalation accepted"
    ESCALATION_RETURNED = "escalation_returned", "Escalation returned"
    ESCALATION_RESOLVED = "escalation_resolved", "Escalation resolved"
    COMPENSATION = "compensation", "Compensation"
    RESTRICTED = "restricted", "Restricted"
    THIRD_PARTY = "third_party", "Third-party case"
    SLA = "sla", "SLA"
    RISK = "risk", "Escalation risk"
    SURVEY = "survey", "Survey"
    FOLLOW_UP = "follow_up", "Follow-up"
    RCA = "rca", "Root-cause analysis"
    CALL = "call", "Call"
    KB = "kb", "Knowledge base"


class TicketEventQuerySet(models.QuerySet["TicketEvent"]):
    def public(self) -> TicketEventQuerySet:
        return self.filter(is_public=True)

    def update(self, **kwargs):
        raise TypeError("Ticket events are append-only: they are never updated.")

    def delete(self):
        raise TypeError("Ticket events are append-only: they are never deleted.")


class TicketEvent(models.Model):
    """One append-only row of the timeline and audit trail. ``is_public`` decides whether a customer may see it."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_public = models.BooleanField(default=False)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TicketEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="event_ticket_created"),
            # The audit export reads a period of every ticket's events in time order (helpdesk.audit_export).
            models.Index(fields=["created_at", "id"], name="event_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise TypeError("Ticket events are append-only: they are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Ticket events are append-only: they are never deleted.")


def _private_storage():
    return storages["private"]


def _attachment_path(instance: Attachment, filename: str) -> str:
    # The stored name is generated; the customer's file name is kept only as data (never as a path).
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    now = timezone.now()
    return f"attachments/{now:%Y/%m}/{uuid.uuid4().hex}{suffix}"


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    event = models.ForeignKey(TicketEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path, storage=_private_storage, max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    is_public = models.BooleanField(default=True, help_text="Attachments on internal notes are staff-only.")
    uploaded_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class InboundStatus(models.TextChoices):
    CREATED = "created", "Created a ticket"
    THREADED = "threaded", "Added to a ticket"
    IGNORED = "ignored", "Ignored"


class InboundMessage(models.Model):
    """One received email, keyed by its Message-ID so nothing is processed twice (a crash mid-mailbox re-polls safely)."""

    message_id = models.CharField(max_length=255, unique=True)
    mailbox = models.CharField(max_length=120, blank=True)
    from_address = models.CharField(max_length=254)
    subject = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=InboundStatus.choices)
    reason = models.CharField(max_length=255, blank=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.get_status_display()})"


class ReplyTemplateQuerySet(models.QuerySet["ReplyTemplate"]):
    def active(self) -> ReplyTemplateQuerySet:
        return self.filter(is_active=True)

    def for_category(self, category_id: int | None) -> ReplyTemplateQuerySet:
        """Templates of the ticket's category plus the general ones (no category)."""
        if category_id is None:
            return self.filter(category__isnull=True)
        return self.filter(Q(category_id=category_id) | Q(category__isnull=True))


class ReplyTemplate(models.Model):
    """A canned response for a category (or for every category when ``category`` is empty).

    The body may use the variables in ``REPLY_TEMPLATE_VARIABLES`` (``{{customer_name}}`` ...); they are replaced by
    plain string substitution, never by the template engine, so a template cannot reach any other data.
    """

    name = models.CharField(max_length=120)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="reply_templates"
    )
    body = models.TextField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ReplyTemplateQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TicketPresence(models.Model):
    """Who has a ticket's workspace open: refreshed by the open push stream (or the fallback poll); stale rows simply
    stop counting. ``typing_at``: when they last typed in its reply or note box."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="presences")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    last_seen_at = models.DateTimeField(default=timezone.now)
    typing_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "user"], name="unique_ticket_presence")]
        indexes = [models.Index(fields=["ticket", "last_seen_at"], name="presence_ticket_seen")]

    def __str__(self) -> str:
        return f"{self.user} on {self.ticket_id}"
