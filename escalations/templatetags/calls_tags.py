from django import template
from django.utils import timezone

from escalations.calls.selectors import callbacks_due_for_queue
from escalations.calls.services import window_words

register = template.Library()


@register.simple_tag
def callbacks_due_for(user) -> list:
    """The queue banner's callbacks: mine, overdue or starting within the hour."""
    return callbacks_due_for_queue(user=user, now=timezone.now())


@register.filter
def customer_window(callback) -> str:
    """The promised window in the customer's own timezone."""
    return window_words(callback)
