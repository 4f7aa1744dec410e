"""Publishing to the broker off the request thread, so that a web request never waits for the broker.

A hung broker (Redis under ``CLIENT PAUSE``, a stuck proxy or network path) accepts the connection and then answers
nothing, so a publish from the request thread would wait for the socket timeout. After commit the request only puts
the outbox ids on a bounded in-process queue and returns; one daemon thread per process hands them to Celery.

Nothing here needs to be durable: the outbox rows are committed before they are queued here, and beat's re-delivery
sweep re-queues whatever is still pending. A full queue, a failed publish, or a process that exits before the
thread got to an item only delays a notification; it is never lost.

Safe under gunicorn and Celery's prefork pool: the thread starts lazily on first use, and a forked child starts
afresh (a thread does not survive ``fork``, and a lock copied while held would deadlock).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class BackgroundPublisher[T]:
    """A bounded queue drained by one daemon thread that calls ``publish(ids)`` (which returns False on failure).
    With ``coalesce``, what queued up while the thread was busy is handed over in one call (push events: one audience
    computation and one Redis round trip for a burst)."""

    def __init__(
        self,
        publish: Callable[[list[T]], bool],
        *,
        max_pending: int = 1000,
        name: str = "publisher",
        coalesce: bool = False,
    ):
        self._publish = publish
        self._max_pending = max_pending
        self._name = name
        self._coalesce = coalesce
        self._start_afresh()
        os.register_at_fork(after_in_child=self._start_afresh)

    def _start_afresh(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.Queue[list[T]] = queue.Queue(maxsize=self._max_pending)
        self._thread: threading.Thread | None = None

    def submit(self, ids: list[T]) -> bool:
        """Queue ids for publishing and return at once. False when the queue is full: the rows wait for the sweep."""
        self._ensure_thread()
        try:
            self._queue.put_nowait(list(ids))
        except queue.Full:
            logger.warning("%s: queue full, %d notification(s) left pending for re-delivery", self._name, len(ids))
            return False
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until everything submitted so far was published or given up on (process exit, tests)."""
        pending = self._queue
        deadline = time.monotonic() + timeout
        with pending.all_tasks_done:
            while pending.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                pending.all_tasks_done.wait(remaining)
        return True

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, args=(self._queue,), name=self._name, daemon=True)
                self._thread.start()

    def _run(self, pending: queue.Queue[list[T]]) -> None:
        while True:
            ids = pending.get()
            taken = 1
            while self._coalesce and taken < 100:
                try:
                    ids = ids + pending.get_nowait()
                except queue.Empty:
                    break
                taken += 1
            try:
                published = self._publish(ids)
            except Exception:
                logger.exception("%s: publishing %d notification(s) failed", self._name, len(ids))
                published = False
            finally:
                for _ in range(taken):
                    pending.task_done()
            if not published:
                # The broker is down or hung: what queued up behind this item would wait out the same timeout one
                # by one. Leave it all to the re-delivery sweep instead, and be ready for new work at once.
                self._discard_backlog(pending)

    def _discard_backlog(self, pending: queue.Queue[list[T]]) -> None:
        dropped = 0
        while True:
            try:
                ids = pending.get_nowait()
            except queue.Empty:
                break
            dropped += len(ids)
            pending.task_done()
        if dropped:
            logger.warning(
                "%s: broker unavailable, %d queued notification(s) left for re-delivery", self._name, dropped
            )


def flush_at_exit[T](publisher: BackgroundPublisher[T], *, timeout: float) -> None:
    """Give a short-lived process (a management command) a bounded moment to publish what it queued."""
    atexit.register(publisher.wait_idle, timeout)
