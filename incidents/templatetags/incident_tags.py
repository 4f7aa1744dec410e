"""``{% open_incidents_panel %}``: the dashboard's open-incidents panel, included by the reports template (so that
``reports`` imports nothing of this app and this app nothing of ``reports``)."""

from __future__ import annotations

from django import template

from incidents.selectors import incidents_open_with_counts

register = template.Library()


@register.inclusion_tag("incidents/_dashboard_panel.html", takes_context=True)
def open_incidents_panel(context) -> dict:
    user = context["request"].user
    incidents = incidents_open_with_counts(user=user) if user.is_staff_member else []
    return {"incidents": incidents}
