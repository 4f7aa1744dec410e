"""Helpers shared by the management commands of every app."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import CommandError
from django.utils import timezone


def command_moment(value: str | None, *, option: str = "--at") -> datetime:
    """The moment a sweep or training command runs as: now when ``value`` is empty, else ``value`` read as an
    ISO-8601 date and time, a naive one meaning UTC (the zone everything is stored in). Every command that takes a
    moment reads it here, so ``--at`` means the same for the SLA, calls, feedback and retention sweeps."""
    if not value:
        return timezone.now()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{option} must be an ISO-8601 date and time, not {value!r}.") from exc
    return moment.replace(tzinfo=UTC) if timezone.is_naive(moment) else moment
