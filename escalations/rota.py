"""Who is on call: ``on_call_at(rota, moment)`` is pure arithmetic on a ``Rota`` (no database), so the paging, the
team page and the tests agree on one answer.

Shifts run from one hand-over to the next. The hand-over is a wall-clock time in the rota's zone (09:00 stays 09:00
across a clock change, so the shift that spans the change is an hour shorter or longer); shift ``n`` is the
``n``-th whole day (or week) after the first hand-over, and belongs to member ``n`` modulo the rota's length. An
override covering the moment wins: its person is on call, and the scheduled person (who is away) is not the backup.
The backup is the next member in order after the scheduled one who is neither on call nor covered for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAILY, WEEKLY = "daily", "weekly"


@dataclass(frozen=True)
class Cover:
    """Someone on call instead of the rota from ``starts_at`` (inclusive) until ``ends_at`` (exclusive)."""

    user_id: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Rota:
    members: tuple[int, ...]
    handover: str
    at: time
    zone: str
    starts_on: date
    weekday: int = 0
    covers: tuple[Cover, ...] = ()


@dataclass(frozen=True)
class OnCall:
    primary: int | None
    backup: int | None
    # The scheduled hand-over that ends this shift (an override may end earlier).
    until: datetime | None
    covering: bool = False


def _handover(day: date, rota: Rota) -> datetime:
    # A wall-clock time in the zone; zoneinfo picks the offset valid on that day, which is what keeps it DST-safe.
    return datetime.combine(day, rota.at, tzinfo=ZoneInfo(rota.zone))


def _shift_start_day(rota: Rota, local: datetime) -> date:
    """The local day of the last hand-over at or before ``local``."""
    day = local.date()
    if rota.handover == WEEKLY:
        day -= timedelta(days=(day.weekday() - rota.weekday) % 7)
        if day == local.date() and local.time() < rota.at:
            day -= timedelta(days=7)
    elif local.time() < rota.at:
        day -= timedelta(days=1)
    return day


def on_call_at(rota: Rota, moment: datetime) -> OnCall:
    """Who is on call at ``moment`` (an aware datetime) and who backs them up; nobody for an empty rota."""
    if moment.tzinfo is None:
        raise ValueError("on_call_at needs an aware datetime.")
    if not rota.members:
        return OnCall(primary=None, backup=None, until=None)
    local = moment.astimezone(ZoneInfo(rota.zone))
    day = _shift_start_day(rota, local)
    length = 7 if rota.handover == WEEKLY else 1
    first = rota.starts_on
    if rota.handover == WEEKLY:
        # The first shift starts at the first hand-over weekday on or after starts_on.
        first += timedelta(days=(rota.weekday - first.weekday()) % 7)
    shift = (day - first).days // length
    count = len(rota.members)
    scheduled = rota.members[shift % count]
    until = _handover(day + timedelta(days=length), rota)
    covers = [cover for cover in rota.covers if cover.starts_at <= moment < cover.ends_at]
    if covers:
        # The latest-starting cover wins when two overlap: it was arranged for the narrower need.
        primary = max(covers, key=lambda cover: cover.starts_at).user_id
        away = {primary, scheduled}
    else:
        primary, away = scheduled, {scheduled}
    after = (rota.members[(shift + step) % count] for step in range(1, count + 1))
    backup = next((user for user in after if user not in away), None)
    return OnCall(primary=primary, backup=backup, until=until, covering=bool(covers))


def next_on_call(rota: Rota, moment: datetime) -> tuple[datetime | None, int | None]:
    """When the person on call at ``moment`` next changes, and who takes over: the earliest of the scheduled
    hand-over, the end of a cover running now and the start of a cover beginning before it. Only covers the rota
    was built with are seen (``oncall_rotas(..., covers_until=...)`` loads those ahead). (None, None): nobody."""
    now = on_call_at(rota, moment)
    if now.until is None:
        return None, None
    changes = [now.until]
    changes += [cover.ends_at for cover in rota.covers if cover.starts_at <= moment < cover.ends_at]
    changes += [cover.starts_at for cover in rota.covers if moment < cover.starts_at < now.until]
    for at in sorted(changes):
        then = on_call_at(rota, at)
        if then.primary != now.primary:
            return at, then.primary
    return now.until, on_call_at(rota, now.until).primary
