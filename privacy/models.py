"""Data-protection requests (export or erasure of one customer's personal data, approved by a second person) and
the marker of tickets whose personal data is already anonymised (by an erasure or the retention sweep)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Ticket


class RequestKind(models.TextChoices):
    EXPORT = "export", _("Export everything we hold")
    ERASURE = "erasure", _("Erase (anonymise) the person")


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a second person's approval")
    REJECTED = "rejected", _("Rejected")
    RUNNING = "running", _("Approved, being carried out")
    READY = "ready", _("Archive ready to download (once)")
    DOWNLOADED = "downloaded", _("Archive downloaded and deleted")
    DONE = "done", _("Carried out")


class DataRequest(models.Model):
    """One data-subject request about one customer. It is carried out only after a second person (a manager or an
    administrator, never the requester) approves it. The customer link survives an erasure: the row then points at
    the anonymised account, so the request itself holds no personal data."""

    kind = models.CharField(max_length=16, choices=RequestKind.choices)
    status = models.CharField(
        max_length=16, choices=RequestStatus.choices, default=RequestStatus.PENDING, db_index=True
    )
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    escalation = models.ForeignKey(
        "escalations.Escalation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True, help_text="Why (e.g. the customer's request reference); no personal data.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    archive_name = models.CharField(max_length=200, blank=True, help_text="The export archive in private storage.")
    archive_size = models.PositiveBigIntegerField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_status_display()})"


class AnonymisedTicket(models.Model):
    """A ticket whose personal data is anonymised. Written in the same transaction as the anonymisation, so a
    sweep killed mid-batch leaves neither, and a rerun skips exactly the tickets already done."""

    class Cause(models.TextChoices):
        ERASURE = "erasure", _("Customer erasure")
        RETENTION = "retention", _("Retention period over")

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, primary_key=True, related_name="+")
    cause = models.CharField(max_length=16, choices=Cause.choices)
    anonymised_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} anonymised ({self.cause})"
