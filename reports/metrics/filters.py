"""The period and dimension filters every metric takes (``MetricFilters``), read from and written to a query
string."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from helpdesk.models import Channel, Tier

UTC = dt.UTC


@dataclass(frozen=True)
class MetricFilters:
    """A half-open period ``[start, end)`` (aware datetimes) and optional dimension filters."""

    start: dt.datetime
    end: dt.datetime
    team_id: int | None = None
    tier: int | None = None
    category_id: int | None = None
    plan_id: int | None = None
    channel: str | None = None
    agent_id: int | None = None

    @classmethod
    def last_days(cls, *, now: dt.datetime, days: int, **dimensions: Any) -> MetricFilters:
        """The ``days`` whole UTC days ending with today."""
        end = dt.datetime.combine(now.astimezone(UTC).date() + dt.timedelta(days=1), dt.time(), tzinfo=UTC)
        return cls(start=end - dt.timedelta(days=days), end=end, **dimensions)

    @classmethod
    def from_params(cls, params: Mapping[str, str], *, now: dt.datetime, default_days: int = 84) -> MetricFilters:
        """Read filters from a query string (``start``/``end`` as inclusive ISO dates); invalid values are ignored."""
        base = cls.last_days(now=now, days=default_days)
        start, end = base.start, base.end
        start_date, end_date = _parse_date(params.get("start")), _parse_date(params.get("end"))
        if end_date is not None:
            end = dt.datetime.combine(end_date + dt.timedelta(days=1), dt.time(), tzinfo=UTC)
        if start_date is not None:
            start = dt.datetime.combine(start_date, dt.time(), tzinfo=UTC)
        if start >= end:
            start = end - dt.timedelta(days=default_days)
        channel = params.get("channel") or None
        tier = _parse_int(params.get("tier"))
        return cls(
            start=start,
            end=end,
            team_id=_parse_int(params.get("team")),
            tier=tier if tier in Tier.values else None,
            category_id=_parse_int(params.get("category")),
            plan_id=_parse_int(params.get("plan")),
            channel=channel if channel in Channel.values else None,
            agent_id=_parse_int(params.get("agent")),
        )

    def to_params(self) -> dict[str, str]:
        params = {"start": self.start.date().isoformat(), "end": (self.end - dt.timedelta(days=1)).date().isoformat()}
        for name, key in (
            ("team_id", "team"),
            ("tier", "tier"),
            ("category_id", "category"),
            ("plan_id", "plan"),
            ("channel", "channel"),
            ("agent_id", "agent"),
        ):
            value = getattr(self, name)
            if value not in (None, ""):
                params[key] = str(value)
        return params

    def previous(self) -> MetricFilters:
        """The period of the same length just before this one, with the same dimension filters."""
        length = self.end - self.start
        return replace(self, start=self.start - length, end=self.start)

    @property
    def has_origin_filter(self) -> bool:
        return any(value is not None for value in (self.team_id, self.tier, self.agent_id))

    def dimensions(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("start", "end")}


def _parse_int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _parse_date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None
