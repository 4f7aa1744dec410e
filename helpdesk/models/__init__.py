"""The ticket core's models: ``accounts`` (roles, users, organisations and plans, categories, teams, API tokens and
failed sign-ins), ``tickets`` (tickets, their timeline, attachments, reply templates, presence, received emails) and
``notifications`` (the outbox and webhooks) and ``audit`` (the account-level audit trail). Everything is re-exported here: import from ``helpdesk.models``.

Business rules live in ``services.py`` (writes) and ``selectors.py`` (reads); models hold data, integrity
constraints and small invariants only.
"""

from helpdesk.models.accounts import (
    ROLE_TIER,
    STAFF_ROLES,
    TIER3_ROLES,
    ApiToken,
    ApiTokenQuerySet,
    AssignmentRule,
    Category,
    LoginFailure,
    Organization,
    Plan,
    Role,
    SsoIdentity,
    Team,
    TeamMembership,
    Tier,
    User,
)
from helpdesk.models.audit import AuditAction, AuditEvent
from helpdesk.models.notifications import (
    Notification,
    NotificationChannel,
    NotificationKind,
    NotificationQuerySet,
    NotificationStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)
from helpdesk.models.queue import BulkActionRun, SavedView
from helpdesk.models.tickets import (
    CUSTOMER_EVENT_KINDS,
    OPEN_STATUSES,
    PRIORITY_RANK,
    SLA_NEVER,
    STATUS_TRANSITIONS,
    TAG_NAME_MAX,
    Attachment,
    Channel,
    EventKind,
    InboundMessage,
    InboundStatus,
    Priority,
    ReplyTemplate,
    ReplyTemplateQuerySet,
    Status,
    Tag,
    Ticket,
    TicketEvent,
    TicketEventQuerySet,
    TicketPresence,
    TicketQuerySet,
    TicketTag,
    priority_sort_key,
)

# Migration 0001 refers to the attachment storage and upload-path callables as helpdesk.models._private_storage and
# helpdesk.models._attachment_path.
from helpdesk.models.tickets import _attachment_path as _attachment_path
from helpdesk.models.tickets import _private_storage as _private_storage

__all__ = [
    "CUSTOMER_EVENT_KINDS",
    "OPEN_STATUSES",
    "PRIORITY_RANK",
    "ROLE_TIER",
    "SLA_NEVER",
    "STAFF_ROLES",
    "STATUS_TRANSITIONS",
    "TAG_NAME_MAX",
    "TIER3_ROLES",
    "ApiToken",
    "ApiTokenQuerySet",
    "AssignmentRule",
    "Attachment",
    "AuditAction",
    "AuditEvent",
    "BulkActionRun",
    "Category",
    "Channel",
    "EventKind",
    "InboundMessage",
    "InboundStatus",
    "LoginFailure",
    "Notification",
    "NotificationChannel",
    "NotificationKind",
    "NotificationQuerySet",
    "NotificationStatus",
    "Organization",
    "Plan",
    "Priority",
    "ReplyTemplate",
    "ReplyTemplateQuerySet",
    "Role",
    "SavedView",
    "SsoIdentity",
    "Status",
    "Tag",
    "Team",
    "TeamMembership",
    "Ticket",
    "TicketEvent",
    "TicketEventQuerySet",
    "TicketPresence",
    "TicketQuerySet",
    "TicketTag",
    "Tier",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEventType",
    "priority_sort_key",
]
