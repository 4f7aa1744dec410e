"""The on-call rota: a rotation per team (members in order, handed over daily or weekly at a wall-clock time in a
zone), overrides (someone covers a period, e.g. holiday cover), and the per-escalation paging stages the hop opener
and the sweep write exactly once (the unique constraint on escalation, cause and stage)."""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from escalations.models.escalation import Escalation
from escalations.models.sla import Weekday
from helpdesk.models import Team

__all__ = [
    "HandOver",
    "OnCallMember",
    "OnCallOverride",
    "OnCallPage",
    "OnCallRotation",
    "PageCause",
    "PageStage",
]


class HandOver(models.TextChoices):
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")


class OnCallRotation(models.Model):
    """Who of a team is on call: the members take turns in order, one shift each, handing over at ``handover_time``
    (on ``handover_weekday`` for a weekly rota) in ``timezone``; the shift that starts on ``starts_on`` is the first
    member's."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="oncall_rotation")
    handover = models.CharField(max_length=10, choices=HandOver.choices, default=HandOver.WEEKLY)
    handover_weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices,
        default=Weekday.MONDAY,
        help_text="The day a weekly rota hands over (ignored by a daily one).",
    )
    handover_time = models.TimeField(default=time(9, 0), help_text="Wall-clock time of the hand-over in the zone.")
    timezone = models.CharField(
        max_length=64,
        blank=True,
        help_text="An IANA name, e.g. Europe/London. Empty: the zone of the team's quiet-hours calendar, else the "
        "site's.",
    )
    starts_on = models.DateField(help_text="The first member's shift starts at the hand-over on this day.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["team__name"]

    def __str__(self) -> str:
        return f"On-call rota of {self.team.name}"


class OnCallMember(models.Model):
    rotation = models.ForeignKey(OnCallRotation, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(help_text="Turns are taken in this order (lowest first).")

    class Meta:
        ordering = ["rotation", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["rotation", "user"], name="unique_oncall_member")]

    def __str__(self) -> str:
        return f"{self.user} ({self.position})"


class OnCallOverride(models.Model):
    """``user`` is on call instead of the rota from ``starts_at`` until ``ends_at`` (holiday cover)."""

    rotation = models.ForeignKey(OnCallRotation, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["rotation", "starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="oncall_override_ends_after_start")
        ]

    def __str__(self) -> str:
        return f"{self.user} covers {self.rotation.team.name}"


class PageCause(models.TextChoices):
    EMERGENCY = "emergency", _("Emergency escalation")
    UNACKNOWLEDGED = "unacknowledged", _("Not accepted at the top of the path")


class PageStage(models.TextChoices):
    PRIMARY = "primary", _("On call")
    BACKUP = "backup", _("Backup")
    EVERYONE = "everyone", _("Every manager")


class OnCallPage(models.Model):
    """One paging stage of one escalation. ``next_due_at`` is when the sweep pages the next stage if the hop is still
    not accepted; the sweep clears it with a conditional UPDATE before paging, and the unique constraint refuses a
    stage written twice."""

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="oncall_pages")
    cause = models.CharField(max_length=20, choices=PageCause.choices)
    stage = models.CharField(max_length=10, choices=PageStage.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paged_at = models.DateTimeField(default=timezone.now)
    next_due_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["escalation", "paged_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["escalation", "cause", "stage"], name="one_oncall_page_per_stage")
        ]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} page of escalation {self.escalation_id}"
