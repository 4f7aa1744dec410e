"""The likely-to-escalate model's versions (``escalations.risk_model``): each training writes one row with its
evaluation and the fitted pipeline; the newest good one is active and scores tickets."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

__all__ = ["RiskModel"]


class RiskModel(models.Model):
    """One trained version of the likely-to-escalate model.

    ``artefact`` is the fitted scikit-learn pipeline serialised with joblib (a pickle). Unpickling runs code, so the
    trust boundary is this column: only ``escalations.risk_model.train`` writes it (the admin shows it read-only and
    no interface accepts an uploaded model), and ``escalations.risk_model.scoring`` loads nothing else. Anyone who can
    write to this table can already run code as the application."""

    version = models.PositiveIntegerField(unique=True)
    trained_at = models.DateTimeField(default=timezone.now)
    seed = models.IntegerField()
    data_until = models.DateTimeField(help_text="The training data's clock: tickets closed before this moment.")
    feature_names = models.JSONField(default=list, help_text="The pipeline's output features, in order.")
    evaluation = models.JSONField(default=dict, help_text="Hold-out figures (the newest 20% of closed tickets).")
    artefact = models.BinaryField(help_text="The fitted pipeline (joblib). Written only by the training service.")
    library_versions = models.JSONField(default=dict, help_text="scikit-learn, numpy, scipy at training time.")
    is_active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="one_active_risk_model")
        ]

    def __str__(self) -> str:
        return f"Risk model v{self.version}{' (active)' if self.is_active else ''}"
