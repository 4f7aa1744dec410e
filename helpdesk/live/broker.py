"""Redis for push: per-user streams (the catch-up backlog), per-user channels (delivery) and the online set.

The Redis is the Celery broker's (the embedded one on its Unix socket by default, ``CELERY_BROKER_URL`` /
``REDIS_URL`` in production) unless ``LIVE_REDIS_URL`` names another. Keys: ``live:u:<user id>`` (a stream and a
pub/sub channel of the same name) and ``live:online`` (a sorted set: user id -> last time a stream of theirs was open).
"""

from __future__ import annotations

import time
from functools import cache

import redis
from django.conf import settings

ONLINE_KEY = "live:online"
HUB_CHANNEL = "live:hub"

# For each recipient: append to their stream (approximately capped), renew its expiry, publish "<id> <payload>" on
# their channel. One round trip for a whole audience; the stream id is Redis's own (time-seq), so a user's ids say
# nothing about events that went to others.
_PUBLISH_LUA = """
local maxlen, ttl = ARGV[1], ARGV[2]
for i, key in ipairs(KEYS) do
  local payload = ARGV[2 + i]
  local id = redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', 'd', payload)
  redis.call('EXPIRE', key, ttl)
  redis.call('PUBLISH', key, id .. ' ' .. payload)
end
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
    """Write and publish ``(user id, payload JSON)`` pairs; returns how many were written."""
    if not deliveries:
        return 0
    keys = [user_key(user_id) for user_id, _ in deliveries]
    payloads = [payload for _, payload in deliveries]
    conn = client()
    written = 0
    for start in range(0, len(keys), 500):  # a bounded script run: Redis serves nobody else while it runs
        args = [settings.LIVE_BACKLOG_EVENTS, settings.LIVE_BACKLOG_SECONDS, *payloads[start : start + 500]]
        written += int(conn.eval(_PUBLISH_LUA, len(keys[start : start + 500]), *keys[start : start + 500], *args))
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
