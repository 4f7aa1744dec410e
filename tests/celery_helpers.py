"""Helpers for tests that run a real Celery worker on the real broker (embedded Redis, or CELERY_BROKER_URL)."""

from __future__ import annotations

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


@contextmanager
def broker_at(url: str):
    """Point the Celery app at another broker URL (e.g. a closed port, to simulate an outage)."""
    original = app.conf.broker_url
    reset_broker_pools()
    app.conf.broker_url = url
    try:
        yield
    finally:
        reset_broker_pools()
        app.conf.broker_url = original


@contextmanager
def real_worker():
    """A real worker thread (solo pool) consuming the real broker, after purging what earlier tests left queued."""
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
