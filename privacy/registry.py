"""Where customer data lives: every model with a foreign key to the user model or to ``Ticket``, found by walking the
app registry, is either a *holding* (exported, and anonymised on erasure / retention) or named in ``NOT_PERSONAL``
with the reason. ``unclassified_models()`` lists any model that is neither, and a test fails on it, so a new model
holding customer data cannot be forgotten by the export or the erasure.

Models are named by their ``app_label.ModelName`` strings: this app imports none of the apps whose data it handles
just to list them (``reports`` may not be imported at all).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import models


@dataclass(frozen=True)
class Holding:
    """How one model's rows about a customer are found, exported and anonymised.

    ``ticket``: the lookup from the model to the customer's ``Ticket`` (``"ticket"``, ``"rca__ticket"``, ``"pk"`` for
    the ticket itself); ``person``: lookups to the customer's own account (rows that are theirs on no ticket of
    theirs, e.g. a KB vote). ``tombstone``: free text replaced whole by the tombstone; ``blank``: contact details
    emptied; ``json``: JSON scrubbed (free-text keys tombstoned, the person's identifiers redacted everywhere). Every
    other text column of those rows has the person's identifiers (names, email, phone, username) redacted.
    ``delete``: rows deleted instead (credentials). ``export``: included in the archive. ``files``: file fields
    whose stored files an erasure deletes (the rows stay).
    """

    ticket: str | None = None
    person: tuple[str, ...] = ()
    tombstone: tuple[str, ...] = ()
    blank: tuple[str, ...] = ()
    json: tuple[str, ...] = ()
    delete: bool = False
    export: bool = True
    files: tuple[str, ...] = ()


HOLDINGS: dict[str, Holding] = {
    "helpdesk.Ticket": Holding(ticket="pk", tombstone=("subject", "description")),
    "helpdesk.TicketEvent": Holding(ticket="ticket", tombstone=("body",), json=("data",)),
    "helpdesk.Attachment": Holding(ticket="ticket", tombstone=("original_name",)),
    "helpdesk.InboundMessage": Holding(ticket="ticket", tombstone=("subject", "from_address")),
    "helpdesk.Notification": Holding(
        ticket="ticket", person=("recipient",), tombstone=("subject", "body"), blank=("to_address",), json=("data",)
    ),
    # Credentials: deleted on erasure, never exported (a digest or a device key is no one's business to carry away).
    "helpdesk.ApiToken": Holding(person=("user",), delete=True, export=False),
    "helpdesk.SsoIdentity": Holding(person=("user",), delete=True, export=False),
    "otp_totp.TOTPDevice": Holding(person=("user",), delete=True, export=False),
    "otp_static.StaticDevice": Holding(person=("user",), delete=True, export=False),
    "escalations.Escalation": Holding(
        ticket="ticket",
        tombstone=(
            "reason",
            "dossier_problem",
            "dossier_tried",
            "dossier_desired_outcome",
            "return_guidance",
            "resolution_summary",
        ),
    ),
    "escalations.CompensationRequest": Holding(ticket="ticket", tombstone=("reason", "decision_note")),
    "escalations.VendorCase": Holding(ticket="ticket"),
    "escalations.RiskAssessment": Holding(ticket="ticket", json=("signals", "explanations")),
    "escalations.Call": Holding(ticket="ticket", tombstone=("summary",), blank=("number",)),
    # The phone system's events: matched to the caller by number (a caller on no ticket yet is still theirs).
    "escalations.TelephonyEvent": Holding(
        person=("customer",), blank=("number",), json=("payload",), tombstone=("outcome",)
    ),
    "escalations.Callback": Holding(
        ticket="ticket", person=("customer",), tombstone=("reason", "outcome"), blank=("number",)
    ),
    "knowledge_base.ArticleVote": Holding(person=("user",)),
    # A confirmed help-centre request, kept with the ticket it became. An unconfirmed one belongs to no account (its
    # sender never proved the address) and is deleted once its link expires (HELP_CENTRE_CONFIRM_MAX_AGE).
    "knowledge_base.HelpRequest": Holding(
        ticket="ticket", tombstone=("subject", "description"), blank=("email", "name")
    ),
    "knowledge_base.Deflection": Holding(
        ticket="ticket", person=("user",), tombstone=("query",), blank=("session_key",)
    ),
    "feedback.ResolutionRecord": Holding(ticket="ticket", tombstone=("summary",)),
    "feedback.Survey": Holding(ticket="ticket", tombstone=("comment",)),
    "feedback.FollowUpTask": Holding(ticket="ticket", tombstone=("note",)),
    "feedback.RootCauseAnalysis": Holding(ticket="ticket", tombstone=("five_whys", "review_note")),
    "feedback.CorrectiveAction": Holding(ticket="rca__ticket"),
    # A ticket's membership of a major incident and the incident replies it received (the replies themselves are
    # the ticket's events): exported with the ticket; they hold no free text about the customer.
    "incidents.IncidentLink": Holding(ticket="ticket"),
    "incidents.IncidentDelivery": Holding(ticket="ticket"),
    # A live chat and its messages: the customer's own (a chat may have ended in no ticket yet), the words tombstoned.
    # A guest chat is its customer's once the guest confirmed the email (chat.guest); unconfirmed ones are no one's
    # and are deleted by the retention sweep once the contact form's window has passed (chat.guest.chat_guests_purge,
    # through helpdesk.retention).
    "chat.ChatSession": Holding(person=("customer",), blank=("guest_email",)),
    "chat.ChatMessage": Holding(person=("session__customer",), tombstone=("body",)),
    # A file sent in a chat: its name tombstoned and its stored file deleted; on the chat's ticket it is a ticket
    # attachment as well (deleted with the ticket's).
    "chat.ChatAttachment": Holding(
        person=("message__session__customer",), tombstone=("original_name",), files=("file",)
    ),
}

# Models with a key to a user or a ticket that hold no personal data about a customer, and why.
NOT_PERSONAL: dict[str, str] = {
    "admin.LogEntry": "Django admin's change log about staff actions; its rows about the customer's account are "
    "redacted by the erasure (privacy.anonymise), but it is not part of the customer's export.",
    "helpdesk.TeamMembership": "staff team membership",
    "helpdesk.AuditEvent": "the account-level audit trail; the customer's own rows (sign-ins) are exported, and on "
    "erasure their name and addresses are removed from it (privacy.anonymise); the rows stay as evidence",
    "helpdesk.TicketTag": "a staff triage label on a ticket and who added it; the tag names are staff vocabulary, "
    "the ticket's own text is exported with the ticket",
    "helpdesk.TicketPresence": "which staff member has a ticket open right now; no customer data",
    "chat.ChatParticipant": "which staff members (the agent, joined specialists) are in a chat, and when they last "
    "typed; no customer data",
    "helpdesk.SavedView": "a staff member's named queue filter (allowlisted filter keys and values); no customer data",
    "helpdesk.BulkActionRun": "a staff member's bulk action and its per-ticket report (ticket references and the "
    "services' refusal reasons); no customer text",
    "escalations.SLAClock": "the ticket's service timings, kept so that SLA statistics do not change",
    "escalations.SLAEvent": "system SLA events (warnings, breaches) with no free text about the customer",
    "escalations.OnCallMember": "staff on-call rota",
    "escalations.OnCallOverride": "staff on-call rota",
    "escalations.OnCallPage": "pages sent to staff",
    "knowledge_base.Article": "published staff-written content; an article drafted from a ticket is rewritten and "
    "reviewed by staff before publication",
    "knowledge_base.ArticleRevision": "staff edits of an article",
    "knowledge_base.ArticleProposal": "staff proposals to change an article",
    "knowledge_base.ArticleUse": "which article an agent used on a ticket; no text",
    "feedback.CoachingItem": "coaching notes about a staff member",
    "reports.CoachingSession": "coaching sessions about a staff member",
    "privacy.DataRequest": "the request itself: it points at the (anonymised) account and holds no personal data",
    "privacy.AnonymisedTicket": "marks a ticket as anonymised; no personal data",
    "incidents.Incident": "a major incident declared by staff: an outage's staff and customer-facing texts, about no "
    "one customer",
    "incidents.IncidentUpdate": "an update a manager wrote for every customer of an incident; about no one customer",
}


def holding_models() -> list[tuple[type[models.Model], Holding]]:
    """The installed holding models with their handling, in registry order (parents before children)."""
    found = []
    for model in apps.get_models():
        holding = HOLDINGS.get(model._meta.label)
        if holding is not None:
            found.append((model, holding))
    return found


def _keys_to_people_or_tickets(model: type[models.Model]) -> list[str]:
    user_label = settings.AUTH_USER_MODEL
    names = []
    for field in model._meta.concrete_fields:
        related = field.related_model if isinstance(field, models.ForeignKey) else None
        if related is not None and related._meta.label in (user_label, "helpdesk.Ticket"):
            names.append(field.name)
    return names


def unclassified_models() -> list[str]:
    """Models with a foreign key to the user model or to ``Ticket`` that are neither a holding nor ``NOT_PERSONAL``
    (the user model itself is the profile, handled on its own)."""
    missing = []
    for model in apps.get_models():
        label = model._meta.label
        if label in HOLDINGS or label in NOT_PERSONAL or label == settings.AUTH_USER_MODEL:
            continue
        if _keys_to_people_or_tickets(model):
            missing.append(label)
    return missing


def text_fields(model: type[models.Model]) -> list[str]:
    """The model's own text columns (CharField, TextField, EmailField ... but not choices-only codes)."""
    return [
        field.name
        for field in model._meta.concrete_fields
        if isinstance(field, (models.CharField, models.TextField)) and not field.choices and not field.primary_key
    ]
