from django import template

from escalations.compensation import money as _money

register = template.Library()


@register.filter
def money(compensation) -> str:
    """A compensation request's amount as people write it: ``£400.00``."""
    return _money(compensation.amount, compensation.currency)
