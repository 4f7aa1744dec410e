"""Small presentation helpers for the ticket screens (labels for stored codes, plain-words status for customers)."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from helpdesk.customer_time import customer_datetime as _customer_datetime
from helpdesk.customer_time import customer_timezone
from helpdesk.models import Priority, Status

register = template.Library()

_CUSTOMER_NEXT_STEP = {
    Status.NEW: gettext_lazy("We have your request and will reply soon."),
    Status.OPEN: gettext_lazy("We are working on it."),
    Status.PENDING_CUSTOMER: gettext_lazy("We are waiting for your reply."),
    Status.PENDING_THIRD_PARTY: gettext_lazy(
        "We are waiting on a partner and will update you as soon as we hear back."
    ),
    Status.RESOLVED: gettext_lazy(
        "We believe this is solved. Reply if anything is still wrong and we will pick it up again."
    ),
    Status.CLOSED: gettext_lazy("This request is closed. Open a new request if you need more help."),
}


@register.filter
def status_label(value: str | None) -> str:
    """'pending_customer' -> 'Waiting on customer' (unknown codes are shown as they are)."""
    if not value:
        return gettext("none")
    return str(Status(value).label) if value in Status.values else str(value)


@register.filter
def priority_label(value: str | None) -> str:
    if not value:
        return gettext("none")
    return str(Priority(value).label) if value in Priority.values else str(value)


@register.filter
def customer_next_step(ticket) -> str:
    if ticket.status == Status.CLOSED and ticket.customer_may_reopen(now=timezone.now()):
        return gettext("This request is closed. Reply if anything is still wrong and we will pick it up again.")
    return str(_CUSTOMER_NEXT_STEP.get(ticket.status, ""))


@register.filter
def short_duration(value, now=None) -> str:
    """The distance between ``value`` and ``now`` in at most two units: '2d 4h', '3h 20m', '12m', 'now'."""
    if value is None:
        return ""
    now = now or timezone.now()
    seconds = int(abs((now - value).total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    # The units are translated ("2 j 4 h" in French); "now" stays a code that callers compare against.
    if days:
        if hours and days < 7:
            return gettext("%(days)dd %(hours)dh") % {"days": days, "hours": hours}
        return gettext("%(days)dd") % {"days": days}
    if hours:
        if minutes:
            return gettext("%(hours)dh %(minutes)dm") % {"hours": hours, "minutes": minutes}
        return gettext("%(hours)dh") % {"hours": hours}
    return gettext("%(minutes)dm") % {"minutes": minutes} if minutes else "now"


@register.filter
def customer_datetime(moment, ticket_or_user) -> str:
    """``{{ moment|customer_datetime:ticket }}``: the one customer-facing date, in the customer's zone, labelled."""
    if moment is None:
        return ""
    return _customer_datetime(moment, tz=customer_timezone(ticket_or_user))


@register.filter
def customer_datetime_year(moment, ticket_or_user) -> str:
    """As ``customer_datetime``, with the year (for dates that may be months away)."""
    if moment is None:
        return ""
    return _customer_datetime(moment, tz=customer_timezone(ticket_or_user), year=True)
