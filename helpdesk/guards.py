"""Status-change guards contributed by other apps (e.g. feedback's resolution criteria for escalated tickets).

A guard is ``fn(*, ticket, status, actor)`` that raises ``ValidationError`` with a clear message to refuse the move.
Guards run inside the service's transaction, before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable

_GUARDS: dict[str, Callable[..., None]] = {}


def status_guard_register(*, name: str, guard: Callable[..., None]) -> None:
    _GUARDS[name] = guard


def status_guards_check(*, ticket, status: str, actor) -> None:
    for guard in _GUARDS.values():
        guard(ticket=ticket, status=status, actor=actor)
