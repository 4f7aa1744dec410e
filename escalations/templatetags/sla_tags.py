"""Template tags for other screens: SLA badges on queue rows and the manager's SLA summary.

- ``{% load sla_tags %}{% sla_badges ticket %}``: one badge per live clock (remaining time, colour by state, paused).
  Uses ``ticket.live_sla_clocks`` when the view prefetched it with ``sla_selectors.sla_live_clocks_prefetch()``,
  else one query for the row.
- ``{% sla_manager_summary %}``: the "breaching soon" list and the "SLA breaches today" count for the current user.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import template
from django.utils import timezone

from escalations.sla.selectors import sla_breaches_between, sla_breaching_soon

register = template.Library()


@register.inclusion_tag("escalations/sla/_badges.html")
def sla_badges(ticket) -> dict:
    from escalations.models import SLAClock
    from escalations.sla.wiring import clock_view

    clocks = getattr(ticket, "live_sla_clocks", None)
    if clocks is None:
        clocks = list(
            SLAClock.objects.live()
            .filter(ticket=ticket)
            .select_related("policy__calendar")
            .prefetch_related("policy__calendar__intervals", "policy__calendar__holidays")
        )
    now = timezone.now()
    return {"rows": [clock_view(clock, now=now) for clock in clocks]}


@register.inclusion_tag("escalations/sla/_manager_summary.html", takes_context=True)
def sla_manager_summary(context, limit: int = 10) -> dict:
    user = context["request"].user
    now = timezone.now()
    start = datetime.combine(timezone.localdate(now), time(0), tzinfo=timezone.get_current_timezone())
    return {
        "soon": list(sla_breaching_soon(user=user, now=now)[:limit]),
        "breaches_today": sla_breaches_between(user=user, start=start, end=start + timedelta(days=1)),
        "now": now,
    }
