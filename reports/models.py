"""Reports keep almost nothing of their own: every number is computed from the ticket and escalation tables.
The one thing a manager records here is a coaching session held with an agent."""

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
