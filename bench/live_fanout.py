"""Push fan-out: N staff subscribers hold a Server-Sent Events stream each from the real ASGI stack (uvicorn +
Django + the live hub, in a server process of its own: ``bench/support/live_server.py``) on loopback; the clients run
in this process; ticket events committed here through the real services are timed from commit to each subscriber's
receipt (one clock: both ends are in this process).

    python bench/live_fanout.py [--n 1000] [--events 20] [--tracemalloc]

Half the events are on an ordinary ticket (every subscriber may see it), half on a restricted ticket of a small
compliance team (its 20 members and the managers may see it). Every delivered frame is checked against
``tickets_visible_to``: ``leaked`` counts frames that reached someone who may not see the ticket (must be 0), and
``missed`` frames that should have arrived and did not. ``server_rss_mb_per_1000`` is the growth of the SERVER
process's resident memory (``/proc/<pid>/status`` VmRSS) from a warmed-up server (one stream opened and closed) to
all N streams open, per 1,000 streams; the clients' memory is not in it. ``--tracemalloc`` traces the server's
allocations and prints the growth per connection by source line (slower; the RSS figures then include the tracing).

With ``DATABASE_URL=postgres://...`` a fresh database ``<name>_livebench`` is created (and dropped afterwards);
otherwise a temporary SQLite file. With ``CELERY_BROKER_URL``/``REDIS_URL``/``LIVE_REDIS_URL`` set that Redis is used
(its ``live:*`` keys are deleted first), otherwise a private embedded Redis. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from support.scratch_db import scratch_postgres  # bench/support/scratch_db.py (bench/ is on sys.path when run)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _fresh_database() -> tuple[str, callable]:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return scratch_postgres(url, "livebench")
    return f"sqlite:///{os.environ['HELPDESK_VAR_DIR']}/bench.sqlite3", lambda: None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _seed(n: int):
    """N staff (2 % managers, 20 compliance specialists, the rest frontline agents), a customer, two tickets."""
    from django.test import Client

    from helpdesk.models import Category, Organization, Plan, Team, TeamMembership, Ticket, User
    from helpdesk.services import ticket_create

    plan = Plan.objects.create(code="pro", name="Pro", rank=2)
    org = Organization.objects.create(name="Northwind", plan=plan, email_domain="northwind.test")
    category = Category.objects.create(name="Billing", slug="billing")
    frontline = Team.objects.create(name="Frontline", slug="frontline", tier=1)
    compliance = Team.objects.create(name="Compliance", slug="compliance", tier=2)
    managers = max(1, n // 50)
    staff = [
        User(username=f"staff{i}", role="manager" if i < managers else ("specialist" if i < managers + 20 else "agent"))
        for i in range(n)
    ]
    for user in staff:
        user.set_unusable_password()
    User.objects.bulk_create(staff, batch_size=500)
    staff = list(User.objects.filter(username__startswith="staff").order_by("pk"))
    TeamMembership.objects.bulk_create(
        [
            TeamMembership(user=user, team=compliance if user.role == "specialist" else frontline)
            for user in staff
            if user.role != "manager"
        ],
        batch_size=500,
    )
    customer = User.objects.create_user(username="customer", role="customer", organization=org)
    open_ticket = ticket_create(customer=customer, subject="Charged twice", description="Twice.", category=category)
    restricted = ticket_create(customer=customer, subject="Erase my data", description="GDPR.", category=category)
    Ticket.objects.filter(pk=restricted.pk).update(restricted=True, team=compliance)
    restricted.refresh_from_db()
    cookies = {}
    for user in staff:
        client = Client()  # one each: signing a second user into the same session would delete the first's
        client.force_login(user)
        cookies[user.pk] = client.cookies["sessionid"].value
    return staff, open_ticket, restricted, cookies


class Subscriber:
    def __init__(self, user_id: int, cookie: str):
        self.user_id = user_id
        self.cookie = cookie
        self.ready = asyncio.Event()
        self.frames: list[tuple[float, dict]] = []
        self.writer = None

    async def run(self, port: int) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer.write(
            (
                "GET /live/stream/ HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
                f"Cookie: sessionid={self.cookie}\r\n\r\n"
            ).encode()
        )
        await self.writer.drain()
        buffer = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            arrived = time.perf_counter()
            buffer += chunk
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                for line in block.split(b"\n"):
                    if line.startswith(b"data: "):
                        data = json.loads(line[6:])
                        if data.get("kind") == "ready":
                            self.ready.set()
                        else:
                            self.frames.append((arrived, data))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _proc_status(pid: int, field: str = "VmRSS") -> int:
    """A number from /proc/<pid>/status: ``VmRSS`` (resident KiB now), ``VmHWM`` (its peak), ``Threads``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


async def _wait_listening(port: int, server: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server process exited ({server.returncode})")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise RuntimeError("the server did not start listening")


async def _snapshot(server: subprocess.Popen, base: str, name: str) -> None:
    """Have the server dump a tracemalloc snapshot (to ``base``), then keep it as ``name``."""
    done = Path(base + ".done")
    done.unlink(missing_ok=True)
    server.send_signal(signal.SIGUSR1)
    while not done.exists():
        await asyncio.sleep(0.1)
    Path(base).rename(name)


def _snapshot_diff(before: str, after: str, n: int, top: int = 25) -> list[str]:
    """The tracemalloc growth between the two snapshots by source line, per connection, largest first."""
    import tracemalloc

    old, new = tracemalloc.Snapshot.load(before), tracemalloc.Snapshot.load(after)
    lines = []
    for stat in new.compare_to(old, "lineno")[:top]:
        frame = stat.traceback[0]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        lines.append(f"{stat.size_diff / n:9.0f} B/conn {stat.count_diff / n:6.1f} blocks/conn  {where}")
    total = sum(stat.size_diff for stat in new.compare_to(old, "filename"))
    lines.append(f"{total / n:9.0f} B/conn traced in all")
    return lines


async def _bench(args, staff, open_ticket, restricted, cookies, allowed) -> dict:
    port = _free_port()
    snapshot = str(Path(os.environ["HELPDESK_VAR_DIR"]) / "server.tracemalloc") if args.tracemalloc else ""
    command = [sys.executable, str(ROOT / "bench" / "support" / "live_server.py"), str(port)]
    server = subprocess.Popen([*command, *([snapshot] if snapshot else [])], cwd=ROOT)
    try:
        return await _bench_against(args, server, port, snapshot, staff, open_ticket, restricted, cookies, allowed)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


async def _bench_against(args, server, port, snapshot, staff, open_ticket, restricted, cookies, allowed) -> dict:
    await _wait_listening(port, server)
    # Warm up: one stream opened and closed, so Django, the hub and its Redis pool are loaded before the baseline.
    warm = Subscriber(staff[0].pk, cookies[staff[0].pk])
    warm_task = asyncio.create_task(warm.run(port))
    await asyncio.wait_for(warm.ready.wait(), 60)
    warm.writer.close()
    warm_task.cancel()
    await asyncio.gather(warm_task, return_exceptions=True)
    await asyncio.sleep(1)
    if snapshot:
        await _snapshot(server, snapshot, snapshot + ".before")
    server_before = _proc_status(server.pid)
    subscribers = [Subscriber(user.pk, cookies[user.pk]) for user in staff]
    tasks = []
    opened = time.perf_counter()
    for start in range(0, len(subscribers), 100):  # in waves, as a shift's screens open
        tasks += [asyncio.create_task(s.run(port)) for s in subscribers[start : start + 100]]
        await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in subscribers[start : start + 100])), 60)
    connect_seconds = time.perf_counter() - opened
    await asyncio.sleep(1)
    server_connected = _proc_status(server.pid)
    server_threads = _proc_status(server.pid, "Threads")
    trimmed = None
    if args.diagnose:  # what a full garbage collection and malloc_trim(0) give back: garbage and freed memory
        marker = Path(os.environ["HELPDESK_VAR_DIR"]) / f"live_server_{port}.trim"
        server.send_signal(signal.SIGUSR2)
        while not marker.exists():
            await asyncio.sleep(0.1)
        marker.unlink()
        trimmed = _proc_status(server.pid)
    profile = []
    if snapshot:
        await _snapshot(server, snapshot, snapshot + ".after")
        profile = _snapshot_diff(snapshot + ".before", snapshot + ".after", args.n)
    commits: dict[int, float] = {}

    def write_events() -> None:
        from django.db import transaction

        from helpdesk.services import ticket_add_internal_note

        author = staff[0]  # a manager: may see both tickets
        for index in range(args.events):
            ticket = restricted if index % 2 else open_ticket
            with transaction.atomic():
                event = ticket_add_internal_note(ticket=ticket, author=author, body=f"Note {index}.")
            commits[event.pk] = time.perf_counter()
            time.sleep(args.gap)

    await asyncio.to_thread(write_events)
    await asyncio.sleep(2)
    latencies, leaked, delivered = [], 0, 0
    expected = {
        (user.pk, event_id)
        for event_id in commits
        for user in staff
        if (open_ticket.pk if _ticket_of(event_id) == open_ticket.pk else restricted.pk) in allowed[user.pk]
    }
    received = set()
    for sub in subscribers:
        for arrived, frame in sub.frames:
            if frame.get("kind") != "ticket" or frame.get("event_id") not in commits:
                continue
            delivered += 1
            ticket_pk = open_ticket.pk if frame["ticket"] == open_ticket.reference else restricted.pk
            if ticket_pk not in allowed[sub.user_id]:
                leaked += 1
            received.add((sub.user_id, frame["event_id"]))
            latencies.append((arrived - commits[frame["event_id"]]) * 1000)
    held = sum(1 for s in subscribers if s.writer is not None and not s.writer.is_closing())
    server_after = _proc_status(server.pid)
    server_peak = _proc_status(server.pid, "VmHWM")
    for sub in subscribers:
        sub.writer.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for line in profile:
        print(line, file=sys.stderr)
    growth_mb = (server_connected - server_before) / 1024
    return {
        "bench": "live_fanout",
        "n": args.n,
        "events": args.events,
        "connections_held": held,
        "connect_all_ms": round(connect_seconds * 1000, 1),
        "frames_delivered": delivered,
        "frames_expected": len(expected),
        "missed": len(expected - received),
        "leaked": leaked,
        "latency_p50_ms": round(_percentile(latencies, 0.5), 1) if latencies else None,
        "latency_p95_ms": round(_percentile(latencies, 0.95), 1) if latencies else None,
        "latency_max_ms": round(max(latencies), 1) if latencies else None,
        "latency_mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "server_threads_connected": server_threads,
        "server_rss_before_mb": round(server_before / 1024, 1),
        "server_rss_connected_mb": round(server_connected / 1024, 1),
        "server_rss_after_events_mb": round(server_after / 1024, 1),
        "server_rss_peak_mb": round(server_peak / 1024, 1),
        "server_rss_growth_mb": round(growth_mb, 1),
        "server_rss_mb_per_1000": round(growth_mb / args.n * 1000, 1),
        "server_rss_gc_trim_mb_per_1000": round((trimmed - server_before) / 1024 / args.n * 1000, 1)
        if trimmed
        else None,
        "server_rss_after_events_mb_per_1000": round((server_after - server_before) / 1024 / args.n * 1000, 1),
    }


_EVENT_TICKET: dict[int, int] = {}


def _ticket_of(event_id: int) -> int:
    if event_id not in _EVENT_TICKET:
        from helpdesk.models import TicketEvent

        _EVENT_TICKET[event_id] = TicketEvent.objects.values_list("ticket_id", flat=True).get(pk=event_id)
    return _EVENT_TICKET[event_id]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="subscribers (default 1000)")
    parser.add_argument("--events", type=int, default=20, help="ticket events to commit (default 20)")
    parser.add_argument("--gap", type=float, default=0.25, help="seconds between events (default 0.25)")
    parser.add_argument(
        "--diagnose", action="store_true", help="also report the server's RSS after gc.collect() and malloc_trim(0)"
    )
    parser.add_argument(
        "--tracemalloc", action="store_true", help="trace the server's allocations; print the growth per connection"
    )
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="livebench-")
    os.environ["HELPDESK_VAR_DIR"] = tmp
    db_url, drop = _fresh_database()
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.test")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # seeding runs before the loop; checks stay off
    from helpdesk import embedded_broker

    broker = None
    external = os.environ.get("LIVE_REDIS_URL") or os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL")
    if not external:
        broker = embedded_broker.start(Path(tmp) / "redis.sock")
    import django

    django.setup()
    from django.core.management import call_command

    from helpdesk.live import broker as live_broker
    from helpdesk.selectors import tickets_visible_to

    try:
        call_command("migrate", verbosity=0)
        for key in live_broker.client().scan_iter("live:*"):
            live_broker.client().delete(key)
        print(f"seeding {args.n} staff…", file=sys.stderr)
        staff, open_ticket, restricted, cookies = _seed(args.n)
        allowed = {
            user.pk: set(
                tickets_visible_to(user).filter(pk__in=[open_ticket.pk, restricted.pk]).values_list("pk", flat=True)
            )
            for user in staff
        }
        from django.db import connections

        connections.close_all()
        print(f"opening {args.n} streams…", file=sys.stderr)
        result = asyncio.run(_bench(args, staff, open_ticket, restricted, cookies, allowed))
    finally:
        drop()
        embedded_broker.stop(broker)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
