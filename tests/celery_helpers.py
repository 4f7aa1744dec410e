"""Helpers for tests that run a real Celery worker on the real broker (embedded Redis, or CELERY_BROKER_URL)."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

import kombu.pools
from celery.contrib.testing.worker import start_worker

from helpdesk.celery import app


def reset_broker_pools() -> None:
    """Forget pooled broker connections (Celery's and kombu's global pools) so the next publish reconnects."""
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    kombu.pools.reset()


def publisher_idle(timeout: float = 15.0) -> None:
    """Wait until the outbox publisher thread has published (or given up on) everything queued so far."""
    from helpdesk.notifications import outbox_publisher

    assert outbox_publisher.wait_idle(timeout), "the outbox publisher thread is still busy"


@contextmanager
def broker_at(url: str):
    """Point the Celery app at another broker URL (e.g. a closed port, to simulate an outage)."""
    original = app.conf.broker_url
    publisher_idle()  # what was queued before goes to the broker it was meant for
    reset_broker_pools()
    app.conf.broker_url = url
    try:
        yield
    finally:
        # The URL first: a publish racing this block then reconnects to the original broker, never the other one.
        app.conf.broker_url = original
        reset_broker_pools()


@contextmanager
def real_worker():
    """A real worker thread (solo pool) consuming the real broker, after purging what earlier tests left queued."""
    publisher_idle()
    reset_broker_pools()
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=15, loglevel="WARNING"):
        yield


def wait_until(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@contextmanager
def hanging_broker():
    """A hung Redis: a TCP server on loopback that accepts connections and never answers a byte.

    Yields its ``redis://`` URL. Leaving the block closes every accepted connection, so a client still waiting on
    it fails at once instead of at its socket timeout.
    """
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    server.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_forever() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(conn)

    thread = threading.Thread(target=accept_forever, name="hanging-broker", daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        server.close()
