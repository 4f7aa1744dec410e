from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from escalations.compensation import money as _money
from escalations.forms import MOOD_CHOICES
from escalations.risk_model.explain import reason_in_words
from helpdesk.templatetags.helpdesk_ui import short_duration

register = template.Library()


@register.filter
def money(compensation) -> str:
    """A compensation request's amount as people write it: ``£400.00``."""
    return _money(compensation.amount, compensation.currency)


@register.filter
def risk_reason(reason: dict) -> str:
    """One of the model's stored reasons in the reader's language (stored in the product's)."""
    return reason_in_words(reason)


@register.simple_tag(takes_context=True)
def sort_header(context, key: str, label: str) -> str:
    """A sortable column heading of an escalation list: a link to ``?sort=key`` (``-key`` when the list is already
    sorted by it), keeping the other query parameters (filters), with ``aria-sort`` on the current column."""
    current = context.get("sort", "")
    params = context["request"].GET.copy()
    params["sort"] = f"-{key}" if current == key else key
    for cursor in ("after", "before"):  # a new order starts at its first page
        params.pop(cursor, None)
    state = {key: "ascending", f"-{key}": "descending"}.get(current)
    return format_html(
        '<th scope="col" class="sortable"{}><a href="?{}">{}</a></th>',
        format_html(' aria-sort="{}"', state) if state else "",
        params.urlencode(),
        label,
    )


@register.filter
def countdown(deadline, now) -> str:
    """Time left before ``deadline`` as a list cell says it: "12m left", "1h 5m left", "3m over", "under 1m left"."""
    if deadline is None:
        return ""
    distance = short_duration(deadline, now)
    if deadline <= now:
        return _("due now") if distance == "now" else _("%(distance)s over") % {"distance": distance}
    return _("under 1m left") if distance == "now" else _("%(distance)s left") % {"distance": distance}


RISK_LEVELS = {
    "high": pgettext_lazy("risk level", "High"),
    "medium": pgettext_lazy("risk level", "Medium"),
    "low": pgettext_lazy("risk level", "Low"),
    "none": pgettext_lazy("risk level", "None"),
}


@register.filter
def risk_level(level: str) -> str:
    """A risk level (``RiskAssessment.level``: high, medium, low, none) in the reader's language."""
    return str(RISK_LEVELS.get(level, level))


@register.filter
def mood(value: str) -> str:
    """A dossier's mood (``frustrated``) as the escalate form offered it, in the reader's language."""
    labels = {key: label for key, label in MOOD_CHOICES if key}
    return str(labels[value]) if value in labels else value.capitalize()
