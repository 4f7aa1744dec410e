"""The account-level audit trail: what happened outside any one ticket's timeline.

Ticket work is audited by ``TicketEvent`` (the timeline). Everything else a security or data-protection review asks
about lands here: sign-ins (and refused ones), MFA enrolment, single sign-on, role and team changes, configuration
changes made in Django admin, data exports, erasures and retention sweeps. Rows are written only through
``helpdesk.audit.record`` and are append-only.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from helpdesk.models.accounts import User


class AuditAction(models.TextChoices):
    # The model field carries no ``choices``: a new action is a code change here, not a migration.
    SIGN_IN = "sign_in", "Signed in"
    SIGN_IN_FAILED = "sign_in_failed", "Sign-in refused"
    SIGN_OUT = "sign_out", "Signed out"
    MFA_ENROLLED = "mfa_enrolled", "Second factor enrolled"
    MFA_REMOVED = "mfa_removed", "Second factor removed"
    MFA_FAILED = "mfa_failed", "Second factor refused"
    RECOVERY_CODE_USED = "recovery_code_used", "Recovery code used"
    SSO_SIGN_IN = "sso_sign_in", "Signed in with single sign-on"
    SSO_REFUSED = "sso_refused", "Single sign-on refused"
    ROLE_CHANGED = "role_changed", "Role or team changed"
    USER_DEACTIVATED = "user_deactivated", "Account deactivated"
    CONFIG_CHANGED = "config_changed", "Configuration changed"
    APPROVAL = "approval", "Approval given"
    DATA_EXPORT = "data_export", "Personal data exported"
    ERASURE = "erasure", "Personal data erased"
    RETENTION = "retention", "Retention sweep anonymised data"
    AUDIT_EXPORT = "audit_export", "Audit trail exported"


class AuditEvent(models.Model):
    """One append-only row of the account-level audit trail.

    ``actor_label`` keeps who acted as text, so the row still says who it was after the account is deactivated or
    anonymised; ``target_type``/``target_id`` name what was acted on (``"user"``/``"42"``, ``"plan"``/``"3"``...).
    """

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=40)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=200, blank=True)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["action", "created_at"], name="audit_action_created")]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label or 'system'} at {self.created_at:%Y-%m-%d %H:%M} UTC"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise TypeError("Audit events are append-only: they are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit events are append-only: they are never deleted.")
