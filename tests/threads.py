"""Races on purpose: start calls at the same instant, each on its own thread and its own database connection."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def run_together(*calls: Callable[[], object], timeout: float = 60) -> list:
    """Start every call at the same instant (a barrier), each on its own thread and connection, and wait for all.
    Returns each call's result, or the exception it raised, in the order given."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)  # every thread is started well within this
            results[index] = call()
        except BaseException as exc:  # handed back to the test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results


def run_threads(*calls: Callable[[], object], timeout: float = 60) -> None:
    """:func:`run_together`, failing the test if any call raised."""
    errors = [result for result in run_together(*calls, timeout=timeout) if isinstance(result, BaseException)]
    assert not errors, errors
