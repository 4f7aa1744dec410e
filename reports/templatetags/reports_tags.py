from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext

from reports.charts import format_value

register = template.Library()


@register.filter
def metric_format(value, unit: str) -> str:
    return format_value(value, unit)


@register.filter
def change_format(tile) -> str:
    """``+3.2 pts`` for rates, ``−12%`` for counts and durations, or an em dash when there is nothing to compare."""
    change = tile.change
    if change is None:
        return "—"
    arrow = "▲" if change > 0 else "▼" if change < 0 else "■"
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    amount = number_format(abs(change), 1)
    # Translators: "points" of a rate's change, as in "+3.2 pts".
    return f"{arrow} {sign}{amount} {gettext('pts') if tile.metric.unit == '%' else '%'}"
