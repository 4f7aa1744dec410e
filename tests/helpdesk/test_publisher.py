"""The background publisher: a request hands ids over and returns; one bounded daemon thread talks to the broker."""

from __future__ import annotations

import os
import threading
import warnings

from helpdesk.publisher import BackgroundPublisher


class StuckBroker:
    """A publish function that blocks until released (a hung broker) and records what it was given."""

    def __init__(self, *, succeed: bool = True):
        self.release = threading.Event()
        self.entered = threading.Event()
        self.published: list[list[int]] = []
        self.succeed = succeed

    def __call__(self, ids: list[int]) -> bool:
        self.entered.set()
        self.release.wait(timeout=30)
        self.published.append(ids)
        return self.succeed


def test_submit_returns_while_the_broker_hangs_and_the_queue_is_bounded():
    # given a publisher whose broker hangs until released, with room for two waiting items
    broker = StuckBroker()
    publisher = BackgroundPublisher(broker, max_pending=2, name="test-publisher")
    # when four commits hand over their ids (the broker is released only after every submit has returned; its own
    # 30 s wait is a safety net against hanging the suite, not a measure of speed)
    accepted = [publisher.submit([1])]
    assert broker.entered.wait(5)  # the thread has taken [1] and is stuck on it
    accepted += [publisher.submit([2]), publisher.submit([3]), publisher.submit([4])]
    # then every submit returned while the publish was still blocked (a submit that waited for the broker could only
    # return after a publish did), and the one that found the queue full was refused (left pending)
    assert broker.published == []
    assert accepted == [True, True, True, False]
    # when the broker answers again, everything accepted is published in order, by a daemon thread
    assert publisher._thread.daemon
    broker.release.set()
    assert publisher.wait_idle(5)
    assert broker.published == [[1], [2], [3]]


def test_a_failed_publish_leaves_the_backlog_to_the_sweep_and_the_next_commit_is_published():
    # given a broker that hangs and then fails, with two more commits queued behind the first
    broker = StuckBroker(succeed=False)
    publisher = BackgroundPublisher(broker, name="test-publisher")
    publisher.submit([1])
    assert broker.entered.wait(5)
    publisher.submit([2])
    publisher.submit([3])
    # when the publish fails
    broker.release.set()
    assert publisher.wait_idle(5)
    # then the queued ones were not tried one timeout after another (their rows wait for the re-delivery sweep)
    assert broker.published == [[1]]
    # and the next commit is published as usual
    broker.succeed = True
    publisher.submit([4])
    assert publisher.wait_idle(5)
    assert broker.published == [[1], [4]]


def test_an_exception_in_publish_does_not_kill_the_thread():
    calls: list[list[int]] = []

    def explode(ids: list[int]) -> bool:
        calls.append(ids)
        raise RuntimeError("broken broker client")

    publisher = BackgroundPublisher(explode, name="test-publisher")
    publisher.submit([1])
    assert publisher.wait_idle(5)
    publisher.submit([2])
    assert publisher.wait_idle(5)
    assert calls == [[1], [2]]


def test_a_forked_child_publishes_with_its_own_thread():
    # given a publisher whose thread is stuck in the parent (as in a gunicorn master that published before forking)
    broker = StuckBroker()
    publisher = BackgroundPublisher(broker, name="test-publisher")
    publisher.submit([1])
    assert broker.entered.wait(5)
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # "multi-threaded process forked": that is the point
        pid = os.fork()
    if pid == 0:  # the child: a fresh queue and thread; the parent's stuck thread does not exist here
        try:
            child_broker = StuckBroker()
            child_broker.release.set()
            publisher._publish = child_broker
            publisher.submit([2])
            ok = publisher.wait_idle(5) and child_broker.published == [[2]]
            os.write(write_end, b"ok" if ok else b"no")
        finally:
            os._exit(0)
    os.close(write_end)
    # then the child published its own item at once
    assert os.read(read_end, 2) == b"ok"
    os.close(read_end)
    os.waitpid(pid, 0)
    broker.release.set()
    assert publisher.wait_idle(5)
    assert broker.published == [[1]]
