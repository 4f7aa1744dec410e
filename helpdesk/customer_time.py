"""The one home of a customer-facing date: which time zone it is shown in, and how it is written.

Rule (``customer_timezone``): the customer's own ``User.timezone``, then their ``Organization.timezone``, then the
zone of the ticket's SLA business calendar, then ``settings.TIME_ZONE``. Business calendars live in
``escalations``, which ``helpdesk`` may not import: escalations registers a resolver from its
``AppConfig.ready()`` with ``calendar_timezone_register``. Unknown zone names are skipped, never raised.

Format (``customer_datetime``): ``Tuesday 1 December, 10:00 (Europe/London)``; the zone label tells the customer
which clock the promise is on. Day and month names follow the active language (``mardi 1 décembre, 10:00``).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import dateformat
from django.utils.translation import pgettext

if TYPE_CHECKING:
    from helpdesk.models import Ticket, User

_calendar_timezones: list[Callable[[Ticket], str | None]] = []


def calendar_timezone_register(resolver: Callable[[Ticket], str | None]) -> None:
    """Let an app say which business-calendar zone a ticket runs in (idempotent per resolver)."""
    if resolver not in _calendar_timezones:
        _calendar_timezones.append(resolver)


def _zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    name = (name or "").strip()
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def customer_timezone(subject: Ticket | User) -> zoneinfo.ZoneInfo:
    """The zone a customer reads dates in, for a ticket (its customer) or a customer directly (no calendar then)."""
    from helpdesk.models import Ticket

    ticket: Ticket | None = subject if isinstance(subject, Ticket) else None
    user: User = ticket.customer if ticket is not None else subject  # type: ignore[assignment]  # not a Ticket here
    organization = user.organization if user.organization_id else (ticket.organization if ticket else None)
    names: list[Callable[[], str | None]] = [
        lambda: user.timezone,
        lambda: organization.timezone if organization else None,
    ]
    if ticket is not None:
        names += [partial(resolver, ticket) for resolver in _calendar_timezones]
    for name in names:
        zone = _zone(name())
        if zone is not None:
            return zone
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _day_and_time(local: datetime, *, year: bool = False) -> str:
    # Day and month names in the active language (``helpdesk.locale``); each language orders the parts its own way.
    if year:
        return dateformat.format(local, pgettext("customer date with year", "l j F Y, H:i"))
    return dateformat.format(local, pgettext("customer date", "l j F, H:i"))


def customer_datetime(moment: datetime, *, tz: zoneinfo.ZoneInfo, year: bool = False) -> str:
    """``Tuesday 1 December, 10:00 (Europe/London)``; with ``year``, ``Tuesday 1 December 2026, 10:00 (…)``."""
    return f"{_day_and_time(moment.astimezone(tz), year=year)} ({tz.key})"


def customer_window_bounds(start: datetime, end: datetime, *, tz: zoneinfo.ZoneInfo) -> tuple[str, str]:
    """A window's ends as ``customer_datetime`` writes them, unlabelled: ("Monday 23 November, 14:00", "15:00");
    the end names its day only when it differs from the start's."""
    start, end = start.astimezone(tz), end.astimezone(tz)
    return _day_and_time(start), (f"{end:%H:%M}" if start.date() == end.date() else _day_and_time(end))


def customer_window(start: datetime, end: datetime, *, tz: zoneinfo.ZoneInfo) -> str:
    """``Monday 23 November, 14:00–15:00 (Europe/Paris)``."""
    first, last = customer_window_bounds(start, end, tz=tz)
    return f"{first}–{last} ({tz.key})"
