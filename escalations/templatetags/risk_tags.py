from django import template

from escalations.panels import likely_to_escalate_for_lead

register = template.Library()


@register.simple_tag
def likely_to_escalate_for_lead_of(user) -> dict | None:
    """The team lead's "likely to escalate" panel on top of the queue (None hides it)."""
    return likely_to_escalate_for_lead(user=user)
