"""Escalations are first-class records with their own life, not a flag on a ticket."""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Category, Priority, Team, Ticket, Tier

__all__ = [
    "ACTIVE_ESCALATION_STATUSES",
    "CompensationRequest",
    "CompensationStatus",
    "Currency",
    "Escalation",
    "EscalationLevel",
    "EscalationMode",
    "EscalationPath",
    "EscalationQuerySet",
    "EscalationStatus",
    "EscalationType",
    "LevelTarget",
    "Playbook",
    "RequestedBy",
    "RiskAssessment",
    "RiskOutcome",
    "TierApprovalLimit",
    "VendorCase",
]


class EscalationType(models.TextChoices):
    TECHNICAL = "technical", _("Technical")
    MANAGERIAL = "managerial", _("Managerial")
    SUPPORT_LEVEL = "support_level", _("Support level")
    EMERGENCY = "emergency", _("Emergency")
    PROCESS = "process", _("Process")
    FINANCIAL = "financial", _("Financial")
    COMPLIANCE = "compliance", _("Compliance")
    THIRD_PARTY = "third_party", _("Third party")


class EscalationMode(models.TextChoices):
    FUNCTIONAL = "functional", _("Functional (more skill)")
    HIERARCHICAL = "hierarchical", _("Hierarchical (more authority)")
    AUTOMATIC = "automatic", _("Automatic (SLA breach)")


class EscalationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACCEPTED = "accepted", _("Accepted")
    RESOLVED = "resolved", _("Resolved")
    RETURNED = "returned", _("Returned")
    SUPERSEDED = "superseded", _("Escalated further")


ACTIVE_ESCALATION_STATUSES = (EscalationStatus.OPEN, EscalationStatus.ACCEPTED)


class RequestedBy(models.TextChoices):
    AGENT = "agent", _("Agent")
    CUSTOMER = "customer", _("Customer")
    SYSTEM = "system", _("System")


class LevelTarget(models.TextChoices):
    TEAM = "team", "A team"
    MANAGER_ON_CALL = "manager_on_call", "The manager on call"


class EscalationPath(models.Model):
    """For an escalation type (optionally a category and a minimum priority), an ordered list of levels."""

    name = models.CharField(max_length=120)
    escalation_type = models.CharField(max_length=20, choices=EscalationType.choices)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    min_priority = models.CharField(max_length=10, choices=Priority.choices, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["escalation_type", "name"]

    def __str__(self) -> str:
        return self.name


class EscalationLevel(models.Model):
    path = models.ForeignKey(EscalationPath, on_delete=models.CASCADE, related_name="levels")
    position = models.PositiveSmallIntegerField(help_text="1 is the first level.")
    target = models.CharField(max_length=20, choices=LevelTarget.choices, default=LevelTarget.TEAM)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    notify_team = models.BooleanField(default=True, help_text="Notify every member of the target team.")
    notify_leads_only = models.BooleanField(default=False)
    ack_minutes = models.PositiveIntegerField(
        default=30, help_text="Minutes it may stay unaccepted before the next level is paged automatically."
    )
    caller_waiting_minutes = models.PositiveIntegerField(
        default=2,
        help_text="With the caller waiting on the line (warm transfer): minutes to accept before it becomes a "
        "promised callback.",
    )

    class Meta:
        ordering = ["path", "position"]
        constraints = [models.UniqueConstraint(fields=["path", "position"], name="unique_level_position")]

    def __str__(self) -> str:
        return f"{self.path} · level {self.position}"


class EscalationQuerySet(models.QuerySet["Escalation"]):
    def active(self) -> EscalationQuerySet:
        return self.filter(status__in=ACTIVE_ESCALATION_STATUSES)

    def open(self) -> EscalationQuerySet:
        return self.filter(status=EscalationStatus.OPEN)

    def for_teams(self, teams) -> EscalationQuerySet:
        return self.filter(to_team__in=teams)


class Escalation(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="escalations")
    escalation_type = models.CharField(max_length=20, choices=EscalationType.choices)
    mode = models.CharField(max_length=20, choices=EscalationMode.choices)
    status = models.CharField(max_length=20, choices=EscalationStatus.choices, default=EscalationStatus.OPEN)
    path = models.ForeignKey(EscalationPath, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    level = models.PositiveSmallIntegerField(default=1, help_text="Position on the path (1 = first level).")
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="next_hops", help_text="The hop before."
    )
    from_tier = models.PositiveSmallIntegerField(choices=Tier.choices)
    to_tier = models.PositiveSmallIntegerField(choices=Tier.choices)
    from_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_by_kind = models.CharField(max_length=10, choices=RequestedBy.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField()
    # The handoff dossier: what the receiver must know so the customer never repeats themselves.
    dossier_problem = models.TextField()
    dossier_tried = models.TextField()
    dossier_desired_outcome = models.TextField()
    dossier_mood = models.CharField(max_length=40)
    caller_waiting = models.BooleanField(default=False)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    return_guidance = models.TextField(blank=True)
    resolution_summary = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    ack_due_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="When the next level is paged if nobody accepts."
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = EscalationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one open escalation per ticket and level: double clicks and racing sweeps create one.
            models.UniqueConstraint(
                fields=["ticket", "level"], condition=Q(status="open"), name="one_open_escalation_per_ticket_level"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "to_team", "created_at"], name="escalation_inbox"),
            # A period's escalated tickets read from the index alone (the dashboard's articles before escalation).
            models.Index(fields=["created_at", "ticket"], name="escalation_created_ticket"),
            # The inbox's pinned callers (few rows; helpdesk.keyset reads each pin as its own indexed query) and
            # "accepted by me" in its order.
            models.Index(fields=["to_team", "created_at"], condition=Q(caller_waiting=True), name="escalation_caller"),
            models.Index(fields=["accepted_by", "status", "accepted_at"], name="escalation_accepted_by"),
        ]

    def __str__(self) -> str:
        return f"{self.get_escalation_type_display()} escalation of {self.ticket_id} (level {self.level})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_ESCALATION_STATUSES

    @property
    def is_avoidable(self) -> bool:
        """A returned escalation is counted as avoidable in analytics: the sender could have handled it."""
        return self.status == EscalationStatus.RETURNED

    def chain(self) -> list[Escalation]:
        """Every hop from the first to this one (follows ``previous``)."""
        hops: list[Escalation] = []
        node: Escalation | None = self
        while node is not None and len(hops) < 20:
            hops.append(node)
            node = node.previous
        return list(reversed(hops))


class Playbook(models.Model):
    """Per escalation type: what the agent reads to the customer, a checklist, and what the receiver needs."""

    escalation_type = models.CharField(max_length=20, choices=EscalationType.choices, unique=True)
    title = models.CharField(max_length=160)
    script = models.TextField(help_text="What to say to the customer, in plain words.")
    checklist = models.TextField(help_text="One item per line.")
    receiver_needs = models.TextField(blank=True, help_text="The information the receiving team needs.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["escalation_type"]

    def __str__(self) -> str:
        return self.title

    @property
    def checklist_items(self) -> list[str]:
        return [line.strip(" -•\t") for line in self.checklist.splitlines() if line.strip(" -•\t")]


class Currency(models.TextChoices):
    GBP = "GBP", "£ GBP"
    EUR = "EUR", "€ EUR"
    USD = "USD", "$ USD"


class TierApprovalLimit(models.Model):
    """The largest compensation a member of a tier may grant without anyone else's approval."""

    tier = models.PositiveSmallIntegerField(choices=Tier.choices)
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.GBP)
    amount = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        ordering = ["tier", "currency"]
        constraints = [models.UniqueConstraint(fields=["tier", "currency"], name="unique_tier_currency_limit")]

    def __str__(self) -> str:
        return f"Tier {self.tier}: up to {self.amount} {self.currency}"


class CompensationStatus(models.TextChoices):
    AUTO_APPROVED = "auto_approved", _("Approved (within the requester's limit)")
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class CompensationRequest(models.Model):
    """A goodwill credit or refund offered to de-escalate. Above the requester's tier limit it needs approval."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="compensation_requests")
    escalation = models.ForeignKey(
        Escalation, null=True, blank=True, on_delete=models.SET_NULL, related_name="compensation_requests"
    )
    amount = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.GBP)
    reason = models.TextField()
    status = models.CharField(max_length=20, choices=CompensationStatus.choices, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requester_limit = models.DecimalField(max_digits=10, decimal_places=2, help_text="The requester's limit then.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} for {self.ticket_id} ({self.get_status_display()})"

    @property
    def is_approved(self) -> bool:
        return self.status in (CompensationStatus.AUTO_APPROVED, CompensationStatus.APPROVED)


class VendorCase(models.Model):
    """A third-party case: the vendor, their reference and contact, and when we chase them next."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="vendor_cases")
    escalation = models.ForeignKey(
        Escalation, null=True, blank=True, on_delete=models.SET_NULL, related_name="vendor_cases"
    )
    vendor_name = models.CharField(max_length=160)
    external_reference = models.CharField(max_length=120, blank=True)
    contact = models.CharField(max_length=200, help_text="Who we talk to at the vendor (name, email or phone).")
    follow_up_at = models.DateTimeField(db_index=True)
    reminded_at = models.DateTimeField(null=True, blank=True, help_text="When the follow-up reminder was sent.")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["follow_up_at"]
        indexes = [
            models.Index(
                fields=["follow_up_at"],
                name="vendorcase_followup_due",
                condition=Q(reminded_at__isnull=True, closed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.vendor_name} {self.external_reference}".strip()


class RiskOutcome(models.TextChoices):
    """What became of a ticket, for measuring the risk flag: escalated, or resolved/closed without an escalation."""

    ESCALATED = "escalated", _("Escalated")
    NOT_ESCALATED = "not_escalated", _("Resolved without escalating")


class RiskAssessment(models.Model):
    """The escalation-risk detector's latest reading of a ticket: the signals found and the suggested type; and,
    for the outcome loop, when the ticket was first flagged (score at the "medium" level or above) and what became
    of it (``escalations.services.risk_outcomes_record``)."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="risk_assessment")
    score = models.PositiveSmallIntegerField(default=0)
    signals = models.JSONField(default=list, blank=True, help_text="[{code, label, evidence}] found so far.")
    suggested_type = models.CharField(max_length=20, choices=EscalationType.choices, blank=True)
    messages_assessed = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)
    flagged_at = models.DateTimeField(null=True, blank=True, help_text="First time the score reached medium.")
    outcome = models.CharField(max_length=20, choices=RiskOutcome.choices, blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)
    # The likely-to-escalate model's reading (``escalations.risk_model``); empty while no model is trained.
    likelihood = models.FloatField(null=True, blank=True, help_text="The model's probability of escalation, 0-1.")
    model_version = models.PositiveIntegerField(null=True, blank=True)
    explanations = models.JSONField(default=list, blank=True, help_text="[{text, weight}] the model's top reasons.")
    scored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-score"]
        indexes = [
            models.Index(fields=["outcome_at"], name="risk_outcome_at", condition=Q(outcome_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"Risk {self.score} on {self.ticket_id}"

    def as_of(self, now: datetime) -> RiskAssessment:
        """This reading as it stands at ``now`` (an unsaved copy): the stored signals and score date from the last
        customer message, and fade by the same rule since (``escalations.risk.fade``); the score then combines them
        with the model's likelihood (``escalations.risk_model.combined_score``)."""
        from escalations import conf
        from escalations.risk import fade
        from escalations.risk_model.scoring import combined_score

        reading = copy.copy(self)
        reading.signals, rules_score = fade(
            self.signals,
            now=now,
            half_life_days=float(conf.get("ESCALATION_RISK_HALF_LIFE_DAYS")),
            undated=self.updated_at,
        )
        reading.score = combined_score(rules_score, self.likelihood)
        return reading

    # Score thresholds of the levels, also the queue's risk filter and the outcome loop's "flagged".
    HIGH = 60
    MEDIUM = 30

    @property
    def level(self) -> str:
        return self.level_of(self.score)

    def note_flag(self, now: datetime) -> None:
        """Remember the first moment the score reached medium: whoever writes a score calls this before saving."""
        if self.flagged_at is None and self.score >= self.MEDIUM:
            self.flagged_at = now

    @classmethod
    def level_of(cls, score: int) -> str:
        if score >= cls.HIGH:
            return "high"
        if score >= cls.MEDIUM:
            return "medium"
        return "low" if score else "none"
