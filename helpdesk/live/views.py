"""``GET /live/stream/``: the Server-Sent Events stream of the signed-in staff member (``?ticket=<reference>`` from a
workspace also marks them as viewing it, for as long as the stream is open) or customer (their portal pages: only the
customer frames of their own tickets, ``helpdesk.live.publish``; ``?ticket=`` is ignored, a customer is never shown as
"viewing").

Frames: ``ready`` first (its id is where a fresh client resumes from), then the user's frames (``id:`` the Redis
stream id, ``data:`` JSON with ``kind``), a ``: keep-alive`` comment every ``LIVE_HEARTBEAT_SECONDS``; ``resync``
when the backlog no longer reaches back to the client's ``Last-Event-ID`` (the screen re-fetches its live parts).
Served only by the ASGI server (``helpdesk.asgi``): under WSGI the view answers 204 at once (an EventSource then stops
without retrying), so a WSGI worker is never held by a stream and the client falls back to its slow poll.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from helpdesk.live import broker
from helpdesk.live.hub import Hub, hub
from helpdesk.selectors import ticket_get_for_user


@require_GET
async def live_stream_view(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    if "asgi" not in request.META and not hasattr(request, "scope"):
        # 204 tells an EventSource to stop (no retry, no console error): this server cannot hold a stream.
        return HttpResponse(status=204, headers={"X-Live": "needs the ASGI server"})
    if not settings.LIVE_ENABLED:
        return HttpResponse("Push is turned off.", status=503, content_type="text/plain")
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse("Sign in first.", status=401, content_type="text/plain")
    if not (user.is_staff_member or user.is_customer):
        return HttpResponse("Push is for staff and customer screens.", status=403, content_type="text/plain")
    ticket_id = await _viewing(request, user) if user.is_staff_member else None
    # The stream holds no database connection: close the one sign-in used before the long wait begins.
    await sync_to_async(connections.close_all)()
    last_id = request.headers.get("Last-Event-ID", "") or request.GET.get("last_id", "")
    if not broker.valid_stream_id(last_id):
        last_id = ""
    try:
        live_hub = await hub()
    except Exception:  # Redis is down: the client says so and polls slowly until it comes back
        return HttpResponse("Push is unavailable.", status=503, content_type="text/plain")
    response = StreamingHttpResponse(_frames(live_hub, user.pk, ticket_id, last_id), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx: pass frames through as they come
    return response


async def _viewing(request: HttpRequest, user) -> int | None:
    reference = request.GET.get("ticket", "")
    if not reference:
        return None
    try:
        ticket = await sync_to_async(ticket_get_for_user)(user=user, reference=reference)
    except Http404:
        return None
    return ticket.pk


def _frame(entry_id: str, data: str, event: str = "") -> str:
    head = f"id: {entry_id}\n" + (f"event: {event}\n" if event else "")
    return f"{head}data: {data}\n\n"


def _release_request_thread() -> None:
    """Let the request's worker thread go for the rest of the stream.

    Django runs each ASGI request in its own ``ThreadSensitiveContext``: the first sync call of the request (the
    session and auth middleware, ``request.auser()``) starts a one-thread executor that lives as long as the request.
    For a stream that is hours, and an idle OS thread (its stack and its malloc arena) costs far more than the
    stream itself: 1,000 open streams held 1,000 threads, most of the server's ~320 KB per connection
    (``bench/live_fanout.py``). By the time the body is iterated the view and the middleware are done, so the
    executor is shut down here; the one sync call left (``response.close()`` at the end) starts a short-lived one,
    which the context's exit shuts down as before. Nothing else in the stream calls sync code from this context (the
    hub's presence writes run in fresh contexts on asgiref's shared thread)."""
    from asgiref.sync import SyncToAsync

    # asgiref's own bookkeeping (3.x): should a release rename it, the stream keeps its thread, as before, rather
    # than fail (the memory test in tests/helpdesk/test_live.py then says so).
    current = getattr(SyncToAsync, "thread_sensitive_context", None)
    executors = getattr(SyncToAsync, "context_to_thread_executor", None)
    context = current.get(None) if current is not None else None
    if context is None or executors is None:
        return
    executor = executors.pop(context, None)
    if executor is not None:
        executor.shutdown(wait=False)


async def _frames(live_hub: Hub, user_id: int, ticket_id: int | None, last_id: str) -> AsyncIterator[str]:
    _release_request_thread()
    conn = await live_hub.connect(user_id, ticket_id)
    try:
        # Subscribed first, then the backlog: whatever is published meanwhile is queued and skipped below if the
        # backlog already had it, so nothing falls between the two.
        yield f"retry: {settings.LIVE_FALLBACK_POLL_SECONDS * 100}\n\n"
        ready = {"fallback_poll_seconds": settings.LIVE_FALLBACK_POLL_SECONDS}
        if last_id:
            backlog = await live_hub.backlog(user_id, last_id)
            if backlog is None:
                last_id = await live_hub.latest_id(user_id)
                yield _frame(last_id, json.dumps({"kind": "resync"}), event="resync")
            else:
                for entry_id, payload in backlog:
                    yield _frame(entry_id, payload)
                    last_id = entry_id
        else:
            last_id = await live_hub.latest_id(user_id)
        yield _frame(last_id, json.dumps({"kind": "ready", **ready}), event="ready")
        last_key = broker.stream_id_key(last_id)
        while True:
            try:
                item = await asyncio.wait_for(conn.queue.get(), timeout=settings.LIVE_HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if item is None:
                return  # too far behind, or the hub lost Redis: the client reconnects and catches up
            entry_id, payload = item
            if broker.stream_id_key(entry_id) <= last_key:
                continue
            last_key = broker.stream_id_key(entry_id)
            yield _frame(entry_id, payload)
    finally:
        await live_hub.disconnect(conn)
