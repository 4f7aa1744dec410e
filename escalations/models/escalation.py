"""Escalations are first-class records with their own life, not a flag on a ticket."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from helpdesk.models import Category, Priority, Team, Ticket, Tier

__all__ = [
    "Escalation",
    "EscalationLevel",
    "EscalationMode",
    "EscalationPath",
    "EscalationQuerySet",
    "EscalationStatus",
    "EscalationType",
    "LevelTarget",
    "RequestedBy",
]


class EscalationType(models.TextChoices):
    TECHNICAL = "technical", "Technical"
    MANAGERIAL = "managerial", "Managerial"
    SUPPORT_LEVEL = "support_level", "Support level"
    EMERGENCY = "emergency", "Emergency"
    PROCESS = "process", "Process"
    FINANCIAL = "financial", "Financial"
    COMPLIANCE = "compliance", "Compliance"
    THIRD_PARTY = "third_party", "Third party"


class EscalationMode(models.TextChoices):
    FUNCTIONAL = "functional", "Functional (more skill)"
    HIERARCHICAL = "hierarchical", "Hierarchical (more authority)"
    AUTOMATIC = "automatic", "Automatic (SLA breach)"


class EscalationStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    RESOLVED = "resolved", "Resolved"
    RETURNED = "returned", "Returned"
    SUPERSEDED = "superseded", "Escalated further"


ACTIVE_ESCALATION_STATUSES = (EscalationStatus.OPEN, EscalationStatus.ACCEPTED)


class RequestedBy(models.TextChoices):
    AGENT = "agent", "Agent"
    CUSTOMER = "customer", "Customer"
    SYSTEM = "system", "System"


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

    class Meta:
        ordering = ["path", "position"]
        constraints = [models.UniqueConstraint(fields=["path", "position"], name="unique_level_position")]

    def __str__(self) -> str:
        return f"{self.path} · level {self.position}"


class EscalationQuerySet(models.QuerySet):
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
        indexes = [models.Index(fields=["status", "to_team", "created_at"], name="escalation_inbox")]

    def __str__(self) -> str:
        return f"{self.get_escalation_type_display()} escalation of {self.ticket_id} (level {self.level})"
