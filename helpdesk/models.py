"""The ticket core: people, organisations, teams, tickets, their timeline, attachments and the notification outbox.

Business rules live in ``services.py`` (writes) and ``selectors.py`` (reads); models hold data, integrity
constraints and small invariants only.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from django.contrib.auth.models import AbstractUser
from django.core.files.storage import storages
from django.db import models
from django.db.models import Q
from django.utils import timezone

from helpdesk.text import single_line


class Role(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    AGENT = "agent", "Agent (tier 1)"
    SPECIALIST = "specialist", "Specialist (tier 2)"
    MANAGER = "manager", "Manager (tier 3)"
    ADMIN = "admin", "Administrator"


STAFF_ROLES = frozenset({Role.AGENT, Role.SPECIALIST, Role.MANAGER, Role.ADMIN})
TIER3_ROLES = frozenset({Role.MANAGER, Role.ADMIN})
ROLE_TIER: dict[str, int] = {Role.AGENT: 1, Role.SPECIALIST: 2, Role.MANAGER: 3, Role.ADMIN: 3}


class Tier(models.IntegerChoices):
    AGENT = 1, "Tier 1 (agents)"
    SPECIALIST = 2, "Tier 2 (specialists)"
    EXECUTIVE = 3, "Tier 3 (managers)"


class Plan(models.Model):
    """A customer organisation's service plan (Basic, Pro, Enterprise)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    rank = models.PositiveSmallIntegerField(default=0, help_text="Higher ranks are the more generous plans.")
    description = models.TextField(blank=True)
    promise = models.CharField(
        max_length=200, blank=True, help_text="The plan's promise in plain words, shown to customers."
    )
    reopen_window_days = models.PositiveSmallIntegerField(
        default=14,
        help_text="Days after a request is resolved during which the customer's reply reopens it, even once it is "
        "closed; after that the customer opens a new request.",
    )

    class Meta:
        ordering = ["rank", "name"]

    def __str__(self) -> str:
        return self.name


class Organization(models.Model):
    """A customer company."""

    name = models.CharField(max_length=160, unique=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="organizations")
    _sla_old_plan_id: int | None  # not a column: read before a save by escalations' plan-change signal
    email_domain = models.CharField(max_length=120, blank=True, db_index=True)
    timezone = models.CharField(max_length=64, default="Europe/London")
    phone = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """Everyone who signs in: customers and staff. The role decides the screens and the tier."""

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CUSTOMER, db_index=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="contacts"
    )
    phone = models.CharField(max_length=40, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    is_available = models.BooleanField(default=True, help_text="Away agents receive no automatic assignments.")

    class Meta:
        ordering = ["first_name", "last_name", "username"]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs):
        # Names reach email subjects and one-line screens: one line, whatever the entry point (helpdesk.text).
        for name in ("first_name", "last_name"):
            if name in self.__dict__:  # not deferred
                setattr(self, name, single_line(self.__dict__[name]))
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    # --- role predicates: the one home of "who may" -------------------------------------------------------------
    # Every role check in views, APIs, templates, services, selectors and the navigation reads these properties;
    # nothing else compares ``role`` or ``is_superuser``. The rules:
    # - a superuser is an administrator everywhere, whatever their ``role`` field says (``effective_role``);
    # - ``is_customer`` / ``is_staff_member`` / ``tier`` say who the person is (they also describe past actors);
    # - the capability predicates (``is_admin``, ``is_manager``, ``can_*`` ...) are False for an inactive user, as
    #   Django's ``has_perm`` is: a deactivated account holds no powers.

    @property
    def effective_role(self) -> str:
        """The role the predicates read: ``admin`` for a superuser, else ``role``."""
        return Role.ADMIN if self.is_superuser else self.role

    @property
    def is_customer(self) -> bool:
        return self.effective_role == Role.CUSTOMER

    @property
    def is_staff_member(self) -> bool:
        return self.effective_role in STAFF_ROLES

    @property
    def tier(self) -> int | None:
        return ROLE_TIER.get(self.effective_role)

    @property
    def is_agent(self) -> bool:
        """Tier 1 (frontline)."""
        return self.is_active and self.effective_role == Role.AGENT

    @property
    def is_specialist(self) -> bool:
        """Tier 2."""
        return self.is_active and self.effective_role == Role.SPECIALIST

    @property
    def is_manager(self) -> bool:
        """Tier 3: managers and administrators (superusers included)."""
        return self.is_active and self.effective_role in TIER3_ROLES

    is_tier3 = is_manager

    @property
    def is_admin(self) -> bool:
        """Administrators and superusers: configuration (SLA policies, teams, drafts applied to live policies)."""
        return self.is_active and self.effective_role == Role.ADMIN

    @property
    def can_coach(self) -> bool:
        """Records coaching sessions, reads the analytics, reviews RCAs and every follow-up."""
        return self.is_manager

    @property
    def can_edit_kb(self) -> bool:
        """Edits, publishes and retires any knowledge-base article (staff may edit the articles they own)."""
        return self.is_manager

    @staticmethod
    def tier3_q(prefix: str = "") -> Q:
        """``is_manager`` as a ``Q`` on User (active managers, admins and superusers), for querysets."""
        role = Q(**{f"{prefix}role__in": TIER3_ROLES}) | Q(**{f"{prefix}is_superuser": True})
        return Q(**{f"{prefix}is_active": True}) & role


class Category(models.Model):
    """A problem category (billing, login, outage ...), shared by tickets, teams and KB articles."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.CharField(max_length=240, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class AssignmentRule(models.TextChoices):
    MANUAL = "manual", "Manual"
    ROUND_ROBIN = "round_robin", "Round robin"
    LEAST_LOADED = "least_loaded", "Least loaded (fewest open tickets)"


class Team(models.Model):
    """A team of a tier, skilled in a set of categories."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.AGENT)
    categories = models.ManyToManyField(Category, blank=True, related_name="teams")
    members = models.ManyToManyField(User, through="TeamMembership", related_name="teams", blank=True)
    assignment_rule = models.CharField(max_length=20, choices=AssignmentRule.choices, default=AssignmentRule.MANUAL)
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["tier", "name"]

    def __str__(self) -> str:
        return f"{self.name} (tier {self.tier})"


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    is_lead = models.BooleanField(default=False)
    last_assigned_at = models.DateTimeField(null=True, blank=True, help_text="Used by round-robin assignment.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="unique_team_member")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


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
        indexes = [models.Index(fields=["ticket", "created_at"], name="event_ticket_created")]

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


class NotificationChannel(models.TextChoices):
    IN_APP = "in_app", "In-app"
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


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
    status = models.CharField(
        max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING, db_index=True
    )
    kind = models.CharField(max_length=48, choices=NotificationKind.choices)
    recipient = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
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
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.subject}"

    @property
    def message_id(self) -> str:
        """A stable Message-ID, so a re-delivered email is recognisably the same message."""
        return f"<notification-{self.pk}@helpdesk>"


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
    """Who has a ticket's workspace open: refreshed by the workspace's poll; stale rows simply stop counting."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="presences")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "user"], name="unique_ticket_presence")]
        indexes = [models.Index(fields=["ticket", "last_seen_at"], name="presence_ticket_seen")]

    def __str__(self) -> str:
        return f"{self.user} on {self.ticket_id}"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 digest is stored; the token itself is shown once, at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise the token in lists.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class LoginFailure(models.Model):
    """One row per username counting consecutive failed sign-ins; updated under a row lock so that a parallel burst
    of guesses cannot get past the lockout."""

    username = models.CharField(max_length=150, unique=True)
    failures = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.username}: {self.failures}"


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
