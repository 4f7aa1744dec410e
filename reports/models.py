"""Reports keep little of their own: the daily metric rollups (derived from the facts, rebuildable at any time)
and the one thing a manager records here, a coaching session held with an agent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class CoachingSession(models.Model):
    """A coaching conversation a manager held with an agent, usually prompted by the coaching view."""

    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coaching_sessions")
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    held_on = models.DateField()
    notes = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-held_on", "-id"]
        indexes = [models.Index(fields=["agent", "-held_on"], name="coaching_agent_held")]

    def __str__(self) -> str:
        return f"Coaching of {self.agent} on {self.held_on:%Y-%m-%d}"


class RollupGrain:
    """Which dimensions a rollup row keeps: ``TOTAL`` none, ``FULL`` every dimension of its source, otherwise the
    name of the one dimension it keeps (``team``, ``type``...)."""

    TOTAL = ""
    FULL = "*"


class MetricRollup(models.Model):
    """One UTC day of one metric source, summed over the facts with the same dimension values: the additive
    measures every catalogue metric is computed from (``reports.metrics.rollups``). Derived data, written only by
    ``rollups_refresh_days`` (and ``manage.py metrics_rebuild``); dimension columns are plain ids, not foreign keys, so
    that deleting a team or an agent never cascades into history."""

    source = models.CharField(max_length=16)
    day = models.DateField()
    grain = models.CharField(max_length=16, blank=True)
    team = models.BigIntegerField(null=True)
    tier = models.SmallIntegerField(null=True)
    agent = models.BigIntegerField(null=True)
    category = models.BigIntegerField(null=True)
    plan = models.BigIntegerField(null=True)
    channel = models.CharField(max_length=32, null=True)
    type = models.CharField(max_length=32, null=True)
    target = models.CharField(max_length=32, null=True)
    path = models.BigIntegerField(null=True)
    escalated = models.BooleanField(null=True)
    approver = models.BigIntegerField(null=True)
    rows = models.BigIntegerField(default=0)
    m1 = models.BigIntegerField(default=0)
    m2 = models.BigIntegerField(default=0)
    m3 = models.BigIntegerField(default=0)
    m4 = models.BigIntegerField(default=0)
    m5 = models.BigIntegerField(default=0)
    duration_us = models.BigIntegerField(default=0)
    duration2_us = models.BigIntegerField(default=0)
    duration3_us = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["source", "grain", "day"], name="rollup_source_grain_day")]

    def __str__(self) -> str:
        return f"{self.source} {self.day:%Y-%m-%d} [{self.grain or 'total'}]"


class MetricRollupDirty(models.Model):
    """A (source, day) whose facts changed after its rollup rows were computed; ``marked_at`` tells a refresh that
    ran meanwhile to leave a later mark in place."""

    source = models.CharField(max_length=16)
    day = models.DateField()
    marked_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "day"], name="rollup_dirty_source_day")]

    def __str__(self) -> str:
        return f"{self.source} {self.day:%Y-%m-%d}"


class MetricRollupBuild(models.Model):
    """Written by a complete ``metrics_rebuild``: until one exists the metrics are computed from the facts, so a
    fresh deployment never shows the empty rollup tables as zeros."""

    built_at = models.DateTimeField()
    first_day = models.DateField(null=True)
    last_day = models.DateField(null=True)

    def __str__(self) -> str:
        return f"Rollups built {self.built_at:%Y-%m-%d %H:%M} UTC"
