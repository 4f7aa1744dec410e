"""Chat's fragments on other apps' pages (through their slots; those apps never import chat)."""

from django import template

from chat.selectors import chat_for_escalation

register = template.Library()


@register.simple_tag(takes_context=True)
def escalation_live_chat(context, escalation):
    """The open chat a warm transfer (``escalation``) brought the viewer into, or ``None``."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return None
    return chat_for_escalation(escalation_id=escalation.pk, user=request.user)
