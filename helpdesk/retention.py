"""Retention purges contributed by other apps: rows about someone who never became a customer (e.g. a guest chat
whose email was never confirmed), deleted once their app's retention window has passed.

A purge is ``fn(*, now) -> int`` (rows deleted, idempotent: a rerun finds nothing). The data-protection retention
sweep (``privacy.retention.retention_sweep``, beat hourly) runs every registered purge and audits what each deleted;
apps register here (the core) because nothing may import ``privacy``.
"""

from __future__ import annotations

from collections.abc import Callable

_PURGES: dict[str, Callable[..., int]] = {}


def retention_purge_register(*, name: str, purge: Callable[..., int]) -> None:
    _PURGES[name] = purge


def retention_purges() -> list[tuple[str, Callable[..., int]]]:
    """The registered purges, by name."""
    return sorted(_PURGES.items())
