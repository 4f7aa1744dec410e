"""The per-process hub of the ASGI server: one Redis pub/sub connection for every open stream of this process.

Every process subscribes the one fan-out channel; a message names its recipients with their stream ids, and the
reader task hands it to the open streams of those recipients that are connected here. A background task marks the users online (``live:online``,
which ``live_publish`` reads to find its audience) and keeps the workspace presence of open streams fresh, so an
open workspace needs no poll of its own. Presence writes run on asgiref's single sync thread (one database
connection for the whole process), never on a request's thread. A stream that falls more than ``MAX_QUEUED``
frames behind, or a hub that lost Redis, ends its streams; the browsers reconnect and catch up from their last id.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings

from helpdesk.live import broker

logger = logging.getLogger(__name__)

MAX_QUEUED = 500


@dataclass(eq=False)
class Connection:
    user_id: int
    ticket_id: int | None = None
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)

    def offer(self, item: tuple[str, str]) -> None:
        if self.queue.qsize() >= MAX_QUEUED:
            self.queue.put_nowait(None)  # too far behind: end the stream, the client catches up from its last id
        else:
            self.queue.put_nowait(item)


class Hub:
    def __init__(self, url: str) -> None:
        self.url = url
        # A blocking pool: a burst of streams opening at once waits for a connection rather than failing.
        pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=32, timeout=20, decode_responses=True)
        self.redis: Any = aioredis.Redis(connection_pool=pool)  # str replies (decode_responses)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.connections: dict[int, set[Connection]] = defaultdict(set)
        self._tasks: list[asyncio.Task] = []
        self.broken = False

    async def start(self) -> None:
        await self.pubsub.subscribe(broker.FANOUT_CHANNEL)
        # Fresh contexts: tasks started from inside a request must not inherit its thread-sensitive executor.
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._read(), context=contextvars.Context()),
            loop.create_task(self._keep_alive(), context=contextvars.Context()),
        ]

    async def connect(self, user_id: int, ticket_id: int | None = None) -> Connection:
        conn = Connection(user_id=user_id, ticket_id=ticket_id)
        self.connections[user_id].add(conn)
        await self.redis.zadd(broker.ONLINE_KEY, {str(user_id): time.time()})
        if ticket_id is not None:
            self._spawn(_presence_enter(ticket_id=ticket_id, user_id=user_id))
        return conn

    async def disconnect(self, conn: Connection) -> None:
        mine = self.connections.get(conn.user_id, set())
        mine.discard(conn)
        if not mine:
            self.connections.pop(conn.user_id, None)
        if conn.ticket_id is not None and not self._is_viewing(conn.user_id, conn.ticket_id):
            self._spawn(_presence_leave(ticket_id=conn.ticket_id, user_id=conn.user_id))

    async def backlog(self, user_id: int, after: str) -> list[tuple[str, str]] | None:
        """The user's frames after ``after``, or None when some may have been trimmed or expired (resync)."""
        key = broker.user_key(user_id)
        first = await self.redis.xrange(key, "-", "+", count=1)
        if not first:
            return None
        trimmed = await self.redis.xlen(key) >= settings.LIVE_BACKLOG_EVENTS
        if trimmed and broker.stream_id_key(first[0][0]) > broker.stream_id_key(after):
            return None
        entries = await self.redis.xrange(key, f"({after}", "+")
        return [(entry_id, fields["d"]) for entry_id, fields in entries]

    async def latest_id(self, user_id: int) -> str:
        """Where a fresh stream starts: the user's newest frame, or just before now."""
        last = await self.redis.xrevrange(broker.user_key(user_id), "+", "-", count=1)
        if last:
            return last[0][0]
        seconds, micros = await self.redis.time()
        return f"{int(seconds) * 1000 + int(micros) // 1000 - 1}-0"

    def _is_viewing(self, user_id: int, ticket_id: int) -> bool:
        return any(conn.ticket_id == ticket_id for conn in self.connections.get(user_id, ()))

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro, context=contextvars.Context())
        self._tasks.append(task)
        task.add_done_callback(lambda done: self._tasks.remove(done) if done in self._tasks else None)

    async def _read(self) -> None:
        try:
            async for message in self.pubsub.listen():
                routes, _, payload = message["data"].partition(" ")
                for route in routes.split(","):
                    user_id, _, entry_id = route.partition(":")
                    for conn in list(self.connections.get(int(user_id), ())):
                        conn.offer((entry_id, payload))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("live hub: lost Redis; ending every stream of this process (clients reconnect)")
        self.broken = True
        for conns in list(self.connections.values()):
            for conn in conns:
                conn.queue.put_nowait(None)

    async def _keep_alive(self) -> None:
        interval = max(1, min(settings.LIVE_HEARTBEAT_SECONDS, settings.PRESENCE_POLL_SECONDS))
        while not self.broken:
            await asyncio.sleep(interval)
            users = list(self.connections)
            try:
                if users:
                    now = time.time()
                    await self.redis.zadd(broker.ONLINE_KEY, {str(pk): now for pk in users})
                viewing = sorted(
                    {(c.ticket_id, c.user_id) for conns in self.connections.values() for c in conns if c.ticket_id}
                )
                if viewing:
                    await sync_to_async(_presences_refresh)(viewing)
            except Exception:
                logger.exception("live hub: keep-alive failed")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await self.pubsub.aclose()
            await self.redis.aclose()


_hubs: dict[int, Hub] = {}
_hub_locks: dict[int, asyncio.Lock] = {}


async def hub() -> Hub:
    """This event loop's hub, started on first use (and afresh after it lost Redis)."""
    loop_key = id(asyncio.get_running_loop())
    current = _hubs.get(loop_key)
    if current is not None and not current.broken:
        return current
    async with _hub_locks.setdefault(loop_key, asyncio.Lock()):
        current = _hubs.get(loop_key)
        if current is None or current.broken:
            if current is not None:
                await current.close()
            current = Hub(broker.redis_url())
            await current.start()
            _hubs[loop_key] = current
    return current


def _presences_refresh(viewing: list[tuple[int, int]]) -> None:
    from helpdesk.services import ticket_presences_refresh

    ticket_presences_refresh(pairs=viewing)


async def _presence_enter(*, ticket_id: int, user_id: int) -> None:
    from helpdesk.services import ticket_presence_enter

    try:
        await sync_to_async(ticket_presence_enter)(ticket_id=ticket_id, user_id=user_id)
    except Exception:
        logger.exception("live hub: presence enter failed")


async def _presence_leave(*, ticket_id: int, user_id: int) -> None:
    from helpdesk.services import ticket_presence_leave

    try:
        await sync_to_async(ticket_presence_leave)(ticket_id=ticket_id, user_id=user_id)
    except Exception:
        logger.exception("live hub: presence leave failed")
