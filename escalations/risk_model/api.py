"""The escalation risk on the staff view of a ticket in the API: ``risk_score`` (0-100, the combined score),
``risk_level``, ``risk_model_version`` (null: rules only) and ``risk_explanations`` (the model's top reasons in
words). Registered with ``helpdesk.api.registry`` from ``EscalationsConfig.ready``: the ticket itself is fetched
through the visibility selectors, so a restricted ticket's risk reaches exactly those who may see the ticket."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

_READING = "_risk_reading"


def _reading(ticket):
    """The ticket's assessment as of now (faded), computed once per ticket object and response."""
    if not hasattr(ticket, _READING):
        try:
            stored = ticket.risk_assessment
        except AttributeError:  # no assessment yet (RelatedObjectDoesNotExist is an AttributeError)
            stored = None
        setattr(ticket, _READING, stored.as_of(timezone.now()) if stored is not None else None)
    return getattr(ticket, _READING)


class RiskScoreField(serializers.IntegerField):
    def get_attribute(self, instance):
        reading = _reading(instance)
        return reading.score if reading is not None else 0


class RiskLevelField(serializers.CharField):
    def get_attribute(self, instance):
        reading = _reading(instance)
        return reading.level if reading is not None else "none"


class RiskModelVersionField(serializers.IntegerField):
    def get_attribute(self, instance):
        reading = _reading(instance)
        return reading.model_version if reading is not None else None


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"text": {"type": "string"}, "weight": {"type": "number"}},
            "required": ["text", "weight"],
        },
    }
)
class RiskExplanationsField(serializers.JSONField):
    def get_attribute(self, instance):
        reading = _reading(instance)
        if reading is None or not reading.model_version:
            return []
        return [{"text": reason["text"], "weight": reason["weight"]} for reason in reading.explanations]


def risk_api_fields() -> dict:
    return {
        "risk_score": RiskScoreField(read_only=True, help_text="Escalation risk 0-100 (rules and model combined)."),
        "risk_level": RiskLevelField(read_only=True, help_text="none, low, medium or high."),
        "risk_model_version": RiskModelVersionField(
            read_only=True, allow_null=True, help_text="The model version that scored it; null: rules only."
        ),
        "risk_explanations": RiskExplanationsField(
            read_only=True, help_text="The model's top reasons, in words, with their weight (log-odds)."
        ),
    }
