"""Not a benchmark: the server process of ``bench/live_fanout.py``, uvicorn over ``helpdesk.asgi`` (Django and the
live hub) on 127.0.0.1:<port>, run as its own process so that its memory is measured apart from the clients'.

    python bench/support/live_server.py <port> [<tracemalloc snapshot path>]

With a snapshot path, ``tracemalloc`` runs from the start and SIGUSR1 writes a snapshot there (the bench takes one
before and one after opening the streams and prints the difference by line). SIGUSR2 runs a full garbage collection
and glibc's ``malloc_trim(0)`` (the bench's ``--diagnose``: how much of the growth is memory freed but kept)."""

from __future__ import annotations

import os
import signal
import sys
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    port = int(sys.argv[1])
    snapshot_path = sys.argv[2] if len(sys.argv) > 2 else ""
    if snapshot_path:
        tracemalloc.start(12)

        def dump(signum, frame) -> None:
            tracemalloc.take_snapshot().dump(snapshot_path)
            Path(snapshot_path + ".done").touch()

        signal.signal(signal.SIGUSR1, dump)

    def collect(signum, frame) -> None:  # diagnosis: what a full collection and malloc_trim(0) give back
        import ctypes
        import gc

        gc.collect()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        (Path(os.environ["HELPDESK_VAR_DIR"]) / f"live_server_{port}.trim").touch()

    signal.signal(signal.SIGUSR2, collect)
    import uvicorn

    from helpdesk.asgi import application

    uvicorn.run(
        application,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="critical",  # streams cut at shutdown are expected, not news
        backlog=4096,
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()
