"""The agent queue's own records: saved views (a named, validated queue URL state) and bulk-action runs (what one
bulk action did, kept so that its report survives the redirect and a resubmitted form runs nothing twice)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from helpdesk.models.accounts import Team, User


class SavedView(models.Model):
    """A queue filter + sort + visible columns under a name. ``query`` is the queue's own URL query string, rebuilt
    from the validated filter form (``helpdesk.saved_views.saved_view_query``): only the queue's allowlisted filter
    names, sort keys and column names ever reach it. Personal (``team`` empty: the owner only) or a team view (every
    member of ``team``; kept by the team's leads and managers)."""

    name = models.CharField(max_length=60)
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="saved_views")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="saved_views")
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(
        default=1, help_text="Bumped on every change; the API's ETag / If-Match (a stale one is refused)."
    )

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], condition=Q(team__isnull=True), name="unique_personal_view_name"
            ),
            models.UniqueConstraint(fields=["team", "name"], name="unique_team_view_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_team_view(self) -> bool:
        return self.team_id is not None


class BulkActionRun(models.Model):
    """One bulk action as it ran: who, which action, how many tickets were done and refused, and the per-ticket
    report (references and reasons). ``token`` comes from the form, so a resubmitted form finds its run instead of
    running again (a bulk reply must reach each customer once)."""

    token = models.UUIDField(unique=True)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=40)
    label = models.CharField(max_length=200)
    done_count = models.PositiveIntegerField(default=0)
    refused_count = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.label} ({self.done_count} done, {self.refused_count} refused)"
