"""Major incidents: one outage, many tickets. An incident links the tickets it caused, carries the updates posted to
their customers (one public reply per ticket and update, recorded in ``IncidentDelivery``) and, when resolved, the
choice of what happens to its tickets."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Category, Status, Team, Ticket, TicketEvent


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", _("Investigating")
    IDENTIFIED = "identified", _("Identified")
    MONITORING = "monitoring", _("Monitoring")
    RESOLVED = "resolved", _("Resolved")


# Statuses in which the company has acknowledged the cause: reaching one of them the first time acknowledges the
# incident (``Incident.acknowledged_at``), which holds its linked tickets (see ``incidents.services``).
ACKNOWLEDGED_STATUSES = (IncidentStatus.IDENTIFIED, IncidentStatus.MONITORING)


class IncidentResolution(models.TextChoices):
    RESOLVE = "resolve", _("Resolve the linked tickets")
    RETURN = "return", _("Return the linked tickets to their previous status")


class IncidentQuerySet(models.QuerySet["Incident"]):
    def open(self) -> IncidentQuerySet:
        return self.exclude(status=IncidentStatus.RESOLVED)


class Incident(models.Model):
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.INVESTIGATING)
    description = models.TextField(blank=True, help_text="Internal: never shown to a customer.")
    customer_message = models.TextField(help_text="What customers are told; sent with the first update.")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    keywords = models.CharField(
        max_length=200, blank=True, help_text="Words matched against ticket subjects for the suggestions."
    )
    affected_since = models.DateTimeField(help_text="Tickets arriving from this moment are suggested.")
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    declared_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.CharField(max_length=16, choices=IncidentResolution.choices, blank=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-declared_at", "-id"]
        indexes = [models.Index(fields=["status"], name="incident_status")]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"INC-{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status != IncidentStatus.RESOLVED

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None and self.is_open


class IncidentLinkQuerySet(models.QuerySet["IncidentLink"]):
    def active(self) -> IncidentLinkQuerySet:
        return self.filter(released_at__isnull=True)


class IncidentLink(models.Model):
    """A ticket belongs to the incident until the incident is resolved (``released_at``). ``previous_status`` is the
    status it had when the incident held it (``held_at``), to which "return" brings it back."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="links")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="incident_links")
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    linked_at = models.DateTimeField(default=timezone.now)
    previous_status = models.CharField(max_length=24, choices=Status.choices, blank=True)
    previous_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    held_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    objects = IncidentLinkQuerySet.as_manager()

    class Meta:
        ordering = ["linked_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "ticket"], name="incident_link_once"),
            # A ticket belongs to one open incident at a time.
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(released_at__isnull=True), name="incident_link_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} in incident {self.incident_id}"


class IncidentUpdate(models.Model):
    """One update for the customers of every linked ticket. ``idempotency_key`` comes from the form that posted it,
    so a double submit records one update; ``delivered_at`` is set when every linked ticket has had it."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=IncidentStatus.choices)
    message = models.TextField(help_text="Customer-facing words.")
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Update {self.pk} of incident {self.incident_id}"


class IncidentDelivery(models.Model):
    """The update reached this ticket's customer as this public reply: at most one row per update and ticket, written
    in the reply's own transaction, so a re-run or a second worker never replies twice."""

    update = models.ForeignKey(IncidentUpdate, on_delete=models.CASCADE, related_name="deliveries")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(TicketEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    skipped = models.CharField(max_length=200, blank=True, help_text="Why no reply was written (e.g. closed).")
    delivered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["update", "ticket"], name="incident_delivery_once")]

    def __str__(self) -> str:
        return f"Update {self.update_id} → ticket {self.ticket_id}"
