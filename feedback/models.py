"""After the escalation: resolution records, surveys, follow-up tasks, root-cause analyses and coaching items.

Business rules live in ``services.py`` (writes) and ``selectors.py`` (reads); models hold data and integrity
constraints. Exactly-once rules (one survey per ticket, one check-in per resolution, one RCA per ticket, one answer
per survey) are enforced by the database, not by hoping a sweep runs once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Ticket

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class ResolutionRecord(models.Model):
    """A resolution summary written through the checklist (when the escalation itself carries none), and the
    moments the customer and the escalating team were told."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="resolution_records")
    escalation = models.ForeignKey(
        "escalations.Escalation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.TextField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at", "-id"]

    def __str__(self) -> str:
        return f"Resolution of {self.ticket_id}"


class SurveyQuerySet(models.QuerySet["Survey"]):
    def due(self, now) -> SurveyQuerySet:
        return self.filter(sent_at__isnull=True, send_at__isnull=False, send_at__lte=now)

    def reminder_due(self, *, now, sent_before) -> SurveyQuerySet:
        return self.filter(
            sent_at__isnull=False,
            sent_at__lte=sent_before,
            answered_at__isnull=True,
            reminder_sent_at__isnull=True,
            expires_at__gt=now,
        )

    def answered(self) -> SurveyQuerySet:
        return self.filter(answered_at__isnull=False)


class Survey(models.Model):
    """The post-resolution survey of one ticket: scheduled at resolution, sent by the beat sweep, answered once
    through a signed link. ``send_at`` is cleared while the ticket is reopened, so nothing is sent about a problem
    that is not solved."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="survey")
    escalation = models.ForeignKey(
        "escalations.Escalation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_escalated = models.BooleanField(help_text="Escalated tickets are always surveyed; others at the sample rate.")
    nonce = models.CharField(max_length=32, help_text="Carried in the signed link; checked on submit.")
    created_at = models.DateTimeField(default=timezone.now)
    send_at = models.DateTimeField(null=True, blank=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    csat = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 (very unhappy) to 5 (very happy).")
    fixed = models.BooleanField(null=True, blank=True, help_text="Did we fix it?")
    explain_count = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="How many times the customer had to explain the problem."
    )
    nps = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0 to 10; optional.")
    comment = models.TextField(blank=True)

    objects = SurveyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(csat__isnull=True) | Q(csat__gte=1, csat__lte=5), name="survey_csat_1_5"
            ),
            models.CheckConstraint(condition=Q(nps__isnull=True) | Q(nps__lte=10), name="survey_nps_0_10"),
        ]
        indexes = [
            models.Index(fields=["sent_at", "answered_at", "reminder_sent_at"], name="survey_reminder"),
            # The metrics' period filter on answered surveys, and the dashboard's latest low scores (read backwards).
            models.Index(fields=["answered_at", "csat"], name="survey_answered_csat"),
        ]

    def __str__(self) -> str:
        return f"Survey of {self.ticket_id}"

    @property
    def state(self) -> str:
        if self.answered_at:
            return "answered"
        if self.sent_at is None:
            return "scheduled" if self.send_at else "on hold"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "sent"


class FollowUpKind(models.TextChoices):
    LOW_CSAT = "low_csat", _("Low satisfaction call-back")
    CHECK_IN = "check_in", _("Check-in after resolution")


class FollowUpOutcome(models.TextChoices):
    FINE = "fine", _("Still working: all fine")
    CONTACTED = "contacted", _("Customer contacted, concern addressed")
    NO_RESPONSE = "no_response", _("Customer did not respond")
    REOPENED = "reopened", _("Not fixed: ticket reopened")


OUTCOMES_BY_KIND = {
    FollowUpKind.CHECK_IN: (FollowUpOutcome.FINE, FollowUpOutcome.REOPENED, FollowUpOutcome.NO_RESPONSE),
    FollowUpKind.LOW_CSAT: (FollowUpOutcome.CONTACTED, FollowUpOutcome.REOPENED, FollowUpOutcome.NO_RESPONSE),
}


class FollowUpTaskQuerySet(models.QuerySet["FollowUpTask"]):
    def open(self) -> FollowUpTaskQuerySet:
        return self.filter(done_at__isnull=True)


class FollowUpTask(models.Model):
    """A call-back for a low score (owner: the team lead) or a check-in N days after resolution (owner: the
    ticket's assignee)."""

    kind = models.CharField(max_length=12, choices=FollowUpKind.choices)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="follow_ups")
    survey = models.ForeignKey(Survey, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    resolution_at = models.DateTimeField(help_text="The resolution this task follows up (one check-in per resolution).")
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(db_index=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=12, choices=FollowUpOutcome.choices, blank=True)
    note = models.TextField(blank=True)

    objects = FollowUpTaskQuerySet.as_manager()

    class Meta:
        ordering = ["done_at", "due_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind", "resolution_at"], name="one_follow_up_per_resolution"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.ticket_id}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    @property
    def is_overdue(self) -> bool:
        return self.done_at is None and self.due_at < timezone.now()

    @property
    def outcome_choices(self) -> list[tuple[str, str]]:
        return [(o.value, str(o.label)) for o in OUTCOMES_BY_KIND[FollowUpKind(self.kind)]]


class CauseCategory(models.TextChoices):
    PRODUCT_DEFECT = "product_defect", _("Product defect")
    PROCESS_GAP = "process_gap", _("Process gap")
    TRAINING_GAP = "training_gap", _("Training gap")
    KNOWLEDGE_GAP = "knowledge_gap", _("Knowledge gap")
    CUSTOMER_SIDE = "customer_side", _("Customer side")
    THIRD_PARTY = "third_party", _("Third party")
    POLICY = "policy", _("Policy")


CAUSE_EXPLANATIONS: dict[str, StrOrPromise] = {
    CauseCategory.PRODUCT_DEFECT: _("A bug or failure in our product or service."),
    CauseCategory.PROCESS_GAP: _("Our process had no step, owner or hand-off for this."),
    CauseCategory.TRAINING_GAP: _("The agent did not know how to handle it (adds a coaching item)."),
    CauseCategory.KNOWLEDGE_GAP: _("The answer was missing from the knowledge base (drafts an article)."),
    CauseCategory.CUSTOMER_SIDE: _("Caused by the customer's own set-up or use."),
    CauseCategory.THIRD_PARTY: _("Caused by a vendor or partner outside our control."),
    CauseCategory.POLICY: _("Our policy or terms produced the outcome."),
}


class RootCauseAnalysis(models.Model):
    """Why an escalation happened, whether it was preventable, and what we will change. One per ticket."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="rca")
    escalation = models.ForeignKey(
        "escalations.Escalation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cause_category = models.CharField(max_length=20, choices=CauseCategory.choices)
    preventable = models.BooleanField()
    five_whys = models.TextField(help_text="Why did it happen? Ask why five times, one answer per line.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    reclassified_from = models.CharField(max_length=20, choices=CauseCategory.choices, blank=True)
    kb_article_id = models.PositiveIntegerField(
        null=True, blank=True, help_text="The draft KB article created for a knowledge gap."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "root-cause analysis"
        verbose_name_plural = "root-cause analyses"
        indexes = [models.Index(fields=["reviewed_at", "created_at"], name="rca_review_queue")]

    def __str__(self) -> str:
        return f"RCA of {self.ticket_id}: {self.get_cause_category_display()}"


class ActionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")


class CorrectiveAction(models.Model):
    rca = models.ForeignKey(RootCauseAnalysis, on_delete=models.CASCADE, related_name="actions")
    description = models.CharField(max_length=300)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="corrective_actions")
    due_date = models.DateField()
    status = models.CharField(max_length=8, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "due_date", "id"]

    def __str__(self) -> str:
        return self.description


class CoachingItem(models.Model):
    """A training gap found by an RCA, for the agent who escalated."""

    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coaching_items")
    rca = models.ForeignKey(RootCauseAnalysis, on_delete=models.CASCADE, related_name="coaching_items")
    note = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["agent", "rca"], name="one_coaching_item_per_agent_rca")]

    def __str__(self) -> str:
        return f"Coaching for {self.agent_id}"
