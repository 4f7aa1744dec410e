from django import template

from privacy.selectors import escalation_requests_context

register = template.Library()


@register.simple_tag(takes_context=True)
def escalation_data_requests(context, escalation):
    """The data-protection box of a compliance escalation (``None`` for other types)."""
    return escalation_requests_context(user=context["request"].user, escalation=escalation)
