"""Business-time arithmetic: pure functions over an immutable ``CalendarSpec`` (no database access).

Working intervals are defined in the calendar's local wall-clock time; their *duration* is real elapsed time. So an
interval 00:00–04:00 on the night the clocks go forward lasts three real hours, and one on the night they go back
lasts five. Every datetime in and out is timezone-aware (any zone in, UTC out).

A wall-clock time that does not exist (inside a spring-forward gap) is read with the offset in force before the gap,
as ``zoneinfo`` does with ``fold=0``; an ambiguous one (fall-back) is its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

MAX_SEARCH_DAYS = 3 * 366  # a calendar with no working time in three years is a configuration error


class CalendarHasNoWorkingTime(ValueError):
    pass


@dataclass(frozen=True)
class CalendarSpec:
    """What the arithmetic needs to know about a calendar. ``weekly[weekday]`` holds (start, end) pairs in minutes
    after local midnight, end exclusive and at most 1440; weekday 0 is Monday."""

    timezone: str = "UTC"
    weekly: tuple[tuple[tuple[int, int], ...], ...] = field(default_factory=lambda: ((),) * 7)
    holidays: frozenset[date] = frozenset()
    yearly_holidays: frozenset[tuple[int, int]] = frozenset()  # (month, day)
    is_24x7: bool = False

    @classmethod
    def always(cls) -> CalendarSpec:
        return cls(is_24x7=True)

    @classmethod
    def build(
        cls,
        *,
        timezone: str,
        intervals: Iterable[tuple[int, time, time]] = (),
        holidays: Iterable[tuple[date, bool]] = (),
        is_24x7: bool = False,
    ) -> CalendarSpec:
        """From (weekday, start, end) rows (an end of 00:00 means midnight) and (date, repeats_yearly) rows."""
        ZoneInfo(timezone)  # fail early on an unknown zone
        days: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        for weekday, start, end in intervals:
            start_min = start.hour * 60 + start.minute
            end_min = end.hour * 60 + end.minute or 1440
            if end_min > start_min:
                days[weekday].append((start_min, end_min))
        weekly = tuple(tuple(_merge(sorted(day))) for day in days)
        fixed = frozenset(day for day, yearly in holidays if not yearly)
        yearly = frozenset((day.month, day.day) for day, repeats in holidays if repeats)
        return cls(timezone=timezone, weekly=weekly, holidays=fixed, yearly_holidays=yearly, is_24x7=is_24x7)

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays or (day.month, day.day) in self.yearly_holidays


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _merge(intervals: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    current: tuple[int, int] | None = None
    for start, end in intervals:
        if current and start <= current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current:
            yield current
        current = (start, end)
    if current:
        yield current


def _require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("business-time arithmetic needs timezone-aware datetimes")
    return moment.astimezone(UTC)


def _local_to_utc(spec: CalendarSpec, day: date, minute: int) -> datetime:
    if minute >= 1440:
        local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=spec.zone)
    else:
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=spec.zone)
    return local.astimezone(UTC)


def working_spans(spec: CalendarSpec, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Working spans in UTC, in order, from the local day containing ``start`` (clipped to begin at ``start``)."""
    start = _require_aware(start)
    if spec.is_24x7:
        yield start, datetime.max.replace(tzinfo=UTC)
        return
    day = start.astimezone(spec.zone).date() - timedelta(days=1)  # the previous day may end after start in UTC
    for _ in range(MAX_SEARCH_DAYS):
        if not spec.is_holiday(day):
            for start_min, end_min in spec.weekly[day.weekday()]:
                span_start = _local_to_utc(spec, day, start_min)
                span_end = _local_to_utc(spec, day, end_min)
                if span_end <= start or span_end <= span_start:
                    continue
                yield max(span_start, start), span_end
        day += timedelta(days=1)
    raise CalendarHasNoWorkingTime(f"no working time within {MAX_SEARCH_DAYS} days of {start.isoformat()}")


def add_business_seconds(spec: CalendarSpec, start: datetime, seconds: float) -> datetime:
    """The moment at which ``seconds`` of business time have elapsed after ``start``. With zero seconds: ``start``
    itself if it is working time, else the next working moment."""
    start = _require_aware(start)
    if spec.is_24x7:
        return start + timedelta(seconds=seconds)
    remaining = timedelta(seconds=max(seconds, 0))
    for span_start, span_end in working_spans(spec, start):
        available = span_end - span_start
        if remaining <= available:
            return span_start + remaining
        remaining -= available
    raise CalendarHasNoWorkingTime("unreachable")  # pragma: no cover - working_spans raises first


def business_seconds_between(spec: CalendarSpec, start: datetime, end: datetime) -> int:
    """Whole business seconds between two moments (0 when ``end`` is not after ``start``)."""
    start, end = _require_aware(start), _require_aware(end)
    if end <= start:
        return 0
    if spec.is_24x7:
        return int((end - start).total_seconds())
    total = timedelta()
    for span_start, span_end in working_spans(spec, start):
        if span_start >= end:
            break
        total += min(span_end, end) - span_start
    return int(total.total_seconds())


def is_working(spec: CalendarSpec, moment: datetime) -> bool:
    moment = _require_aware(moment)
    if spec.is_24x7:
        return True
    span_start, _ = next(working_spans(spec, moment))
    return span_start == moment


def next_working_moment(spec: CalendarSpec, moment: datetime) -> datetime:
    """``moment`` itself when it is working time, else the start of the next working span (quiet hours)."""
    moment = _require_aware(moment)
    if spec.is_24x7:
        return moment
    span_start, _ = next(working_spans(spec, moment))
    return span_start
