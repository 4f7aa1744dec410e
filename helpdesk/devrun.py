"""``make run``'s launcher: the embedded broker (unless CELERY_BROKER_URL is set), the web server, one Celery
worker and exactly one beat, in the foreground. Ctrl-C (or any child dying) stops all of them, broker included.

The web server is the ASGI server (uvicorn over ``helpdesk.asgi``): it serves every page and the push stream
(``/live/stream/``, helpdesk/live/) on the one port, so the demo needs no proxy. Production uses the Procfile instead
(gunicorn for pages, uvicorn for the stream, workers, one beat) with real PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from helpdesk import embedded_broker

BASE_DIR = Path(__file__).resolve().parent.parent


def _wait_for_web(port: str, children, timeout: float = 30.0) -> None:
    """Print the banner once the web server answers (and after the worker's start-up chatter)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and all(child.poll() is None for _, child in children):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2):
                break
        except OSError:
            time.sleep(0.5)
    time.sleep(1.5)


def _banner(port: str, *, embedded_broker: bool) -> str:
    import django

    django.setup()
    from helpdesk.demo import DEMO_LOGINS

    password = os.environ.get("DEMO_PASSWORD", "demo1234")
    lines = [
        "",
        "=" * 78,
        f"  Escalation Helpdesk is running at http://localhost:{port}/",
        f"  Demo logins (password {password}):",
        *(f"    {login.username:<11} {login.description}" for login in DEMO_LOGINS),
        "  Running: web (uvicorn: pages and live push), a Celery worker, beat"
        + (", the embedded Redis" if embedded_broker else "")
        + ". Ctrl-C stops them all.",
        "=" * 78,
        "",
    ]
    return "\n".join(lines)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)  # also when started with SIGINT ignored (background jobs)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.local")
    port = os.environ.get("PORT", "8000")
    var_dir = Path(os.environ.get("HELPDESK_VAR_DIR", BASE_DIR / "var"))
    python = sys.executable
    celery = str(Path(python).with_name("celery"))
    children: list[tuple[str, subprocess.Popen]] = []
    broker = None
    if not (os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL")):
        socket_path = var_dir / "redis.sock"
        broker = embedded_broker.start(socket_path)
        print(f"embedded broker: redis on {socket_path}", flush=True)
    try:
        commands = {
            # Pages and the push stream on one port; open streams are cut after 3 s on Ctrl-C (browsers reconnect).
            "web": [
                python,
                "-m",
                "uvicorn",
                "helpdesk.asgi:application",
                "--host",
                "0.0.0.0",  # noqa: S104  # as runserver 0.0.0.0 did
                "--port",
                port,
                "--timeout-graceful-shutdown",
                "3",
            ],
            "worker": [celery, "-A", "helpdesk", "worker", "--loglevel", "info", "--concurrency", "2"],
            "beat": [
                celery,
                "-A",
                "helpdesk",
                "beat",
                "--loglevel",
                "info",
                "--schedule",
                str(var_dir / "celerybeat-schedule"),
            ],
        }
        for name, command in commands.items():
            # Own sessions: Ctrl-C reaches only this launcher, which then stops web, worker and beat, and the broker last.
            children.append((name, subprocess.Popen(command, cwd=BASE_DIR, start_new_session=True)))  # noqa: S603
        _wait_for_web(port, children)
        print(_banner(port, embedded_broker=broker is not None), flush=True)
        while True:
            for name, child in children:
                if child.poll() is not None:
                    print(f"{name} exited with {child.returncode}; stopping everything.", flush=True)
                    return child.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    finally:
        for _, child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for _, child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        embedded_broker.stop(broker)


if __name__ == "__main__":
    sys.exit(main())
