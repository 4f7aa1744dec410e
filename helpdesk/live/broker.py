"""Redis for push: per-user streams (the catch-up backlog), per-user channels (delivery) and the online set.

The Redis is the Celery broker's (the embedded one on its Unix socket by default, ``CELERY_BROKER_URL`` /
``REDIS_URL`` in production) unless ``LIVE_REDIS_URL`` names another. Keys: ``live:u:<user id>`` (a user's stream), the
channel ``live:fanout`` and ``live:online`` (a sorted set: user id -> last time a stream of theirs was open).
"""

from __future__ import annotations

import time
from functools import cache

import redis
from django.conf import settings

ONLINE_KEY = "live:online"
FANOUT_CHANNEL = "live:fanout"

# One call per payload: append it to each recipient's stream (approximately capped), renew the stream's expiry, then
# publish once on the fan-out channel "<user>:<their id>,... <payload>", which every ASGI process's hub reads and
# hands to its own open streams of those users. One round trip and one message per audience, not per recipient; the
# ids are Redis's own (time-seq) per stream, so a user's ids say nothing about frames that went to others.
_PUBLISH_LUA = """
local maxlen, ttl, payload = ARGV[1], ARGV[2], ARGV[3]
local routes = {}
for i, key in ipairs(KEYS) do
  local id = redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', 'd', payload)
  redis.call('EXPIRE', key, ttl)
  routes[i] = ARGV[3 + i] .. ':' .. id
end
redis.call('PUBLISH', 'live:fanout', table.concat(routes, ',') .. ' ' .. payload)
return #KEYS
"""


def user_key(user_id: int) -> str:
    return f"live:u:{user_id}"


def redis_url() -> str:
    """The Redis push uses, as a redis-py URL (the broker's ``redis+socket://`` becomes ``unix://``)."""
    if settings.LIVE_REDIS_URL:
        return settings.LIVE_REDIS_URL
    from helpdesk.celery import app

    url = str(app.conf.broker_url or settings.CELERY_BROKER_URL)
    if url.startswith("redis+socket://"):
        return "unix://" + url.removeprefix("redis+socket://")
    return url


@cache
def _client(url: str) -> redis.Redis:
    # Short timeouts: this runs on the publisher thread, and a hung Redis must not hold it for long.
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2, decode_responses=True)


def client() -> redis.Redis:
    return _client(redis_url())


def publish(deliveries: list[tuple[int, str]]) -> int:
    """Write and publish ``(user id, payload JSON)`` pairs (grouped by payload); returns how many were written."""
    groups: dict[str, list[int]] = {}
    for user_id, payload in deliveries:
        groups.setdefault(payload, []).append(user_id)
    conn = client()
    written = 0
    for payload, user_ids in groups.items():
        for start in range(0, len(user_ids), 1000):  # a bounded script run: Redis serves nobody else meanwhile
            part = user_ids[start : start + 1000]
            keys = [user_key(user_id) for user_id in part]
            args = [settings.LIVE_BACKLOG_EVENTS, settings.LIVE_BACKLOG_SECONDS, payload, *part]
            written += int(conn.eval(_PUBLISH_LUA, len(keys), *keys, *args))
    return written


def online_user_ids(*, now: float | None = None) -> list[int]:
    """Users with a stream open now or within the backlog window (they may still catch up)."""
    since = (now or time.time()) - settings.LIVE_BACKLOG_SECONDS
    conn = client()
    conn.zremrangebyscore(ONLINE_KEY, "-inf", since)
    members: list[str] = conn.zrangebyscore(ONLINE_KEY, since, "+inf")  # type: ignore[assignment]  # decode_responses
    return [int(member) for member in members]


def stream_id_key(stream_id: str) -> tuple[int, int]:
    """Stream ids ("<ms>-<seq>") in their order."""
    millis, _, seq = stream_id.partition("-")
    return int(millis), int(seq or 0)


def valid_stream_id(value: str) -> bool:
    millis, dash, seq = value.partition("-")
    return millis.isdigit() and (not dash or seq.isdigit()) and len(value) <= 40
