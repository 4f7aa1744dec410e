"""Push to every open screen: Server-Sent Events from the ASGI server, fed after commit, routed per user.

Why Server-Sent Events through an async Django view (and not Django Channels or django-eventstream):
- Everything pushed flows one way, server to browser. What a browser tells us (I am typing) is an ordinary POST
  through the same views, CSRF and session rules as every other write, so no second protocol needs securing.
- SSE has catch-up in the protocol: every frame carries an ``id``, and a reconnecting ``EventSource`` (or our
  client, ``static/js/live.js``) sends ``Last-Event-ID``; we keep a short per-user backlog in Redis to answer it.
- It is a plain HTTP response of Django's own (``StreamingHttpResponse`` over an async iterator, Django 6.1 under
  ASGI), so the session, the staff session timeout, MFA enrolment and the CSP middleware apply to it unchanged, and
  proxies need nothing but ``proxy_buffering off``.
- It needs one new dependency, the ASGI server (uvicorn 0.54, BSD, framework-agnostic, so Django 6.1 support is not
  in question; pure-Python with ``h11``). Channels 4.3.2 lists Django up to 6.0 only and would add channels-redis and
  a WebSocket stack; django-eventstream 5.3.4 routes through Fanout/Pushpin (``django_grip``, ``gripcontrol``) and
  declares no Django 6 support.

The seam (other features, live chat and telephony screen-pops next, publish through it)::

    live_publish(kind=LiveKind.TICKET, payload={...}, ticket=ticket)          # everyone online who may see it
    live_publish(kind=LiveKind.NOTIFICATION, payload={...}, users=[user.pk])  # named users
    live_publish(kind=..., payload={...}, ticket=ticket, users=[...])         # named users, if they may see it
    live_publish(kind=..., payload={...}, ticket=ticket, customer_payload={...})  # and its customers online
    live_publish(kind=..., payload={...}, users=[...], customer_payload={...}, customers=[...])  # named customers,
    # if the kind's customer rule (live_customer_rule_register, the owning app's read rule) allows them at delivery

``live_publish`` only registers ``transaction.on_commit``: nothing is sent for a transaction that rolls back, and
nothing is sent from inside one. After commit a background thread (``helpdesk.publisher.BackgroundPublisher``, so a
request never waits for Redis) computes the audience through ``helpdesk.selectors.ticket_audiences`` (the rule of
``tickets_visible_to``) among the staff online in the last ``LIVE_BACKLOG_SECONDS``, and writes each recipient's copy
to that user's own Redis stream (``live:u:<id>``, capped at ``LIVE_BACKLOG_EVENTS``, expiring after
``LIVE_BACKLOG_SECONDS`` of silence) and publishes it on that user's channel, in one Lua call. A restricted ticket's
event is therefore written only to its audience's streams: nobody else gets a frame, an id or a count.

Ticket activity reaches it from the ``ticket_event_recorded`` signal (``receivers.py``: every service records an
event for each change), in-app notifications from the outbox (``helpdesk.notifications``), presence from the
workspace's stream (``hub.py``). Signed-in customers hold a stream too (the portal's ticket list and ticket page),
which carries only ``customer_payload`` frames of tickets the same rule lets them see: an event of a kind on their
timeline (``TicketEvent.customer_may_see``), as a bare "this ticket changed". Pushed frames carry facts (a reference, a kind, a name), never text: screens
re-fetch what changed through their normal, authorised views.
"""

from helpdesk.live.publish import LiveKind, LiveMessage, live_publish

__all__ = ["LiveKind", "LiveMessage", "live_publish"]
