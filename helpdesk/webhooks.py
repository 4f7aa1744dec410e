"""Outgoing webhooks, delivered through the notification outbox (channel ``webhook``).

``webhook_emit`` writes one outbox row per subscribed, active endpoint in the caller's transaction; Celery delivers
after commit and the outbox retries with back-off. Each attempt is logged (WebhookDelivery); an endpoint whose
deliveries fail WEBHOOK_DISABLE_AFTER_FAILURES times in a row is disabled.

Receivers verify ``X-Helpdesk-Signature: sha256=<hex>``, the HMAC-SHA256 with the endpoint's secret over
``<X-Helpdesk-Timestamp>.<raw body>``. ``X-Helpdesk-Delivery`` is the same on every retry of one delivery.

Safety: only http(s); the host is resolved and every address must be public (no loopback, private, link-local,
multicast or reserved address) unless WEBHOOK_ALLOW_PRIVATE_NETWORKS; the connection goes to the address that was
checked (no second DNS lookup to rebind); redirects are not followed; proxies from the environment are ignored.

Restricted (compliance) tickets: every payload, JSON or Slack, of every event type, is shaped by
``webhook_envelope_for`` (at emit, and again at delivery, when the ticket may have become restricted since). An
endpoint not ``cleared_for_restricted`` gets only what says that something happened: the delivery id, the event,
the ticket's reference, status, priority, tier, team and link, ids and timestamps from an allowlist, and
``"restricted": true``; never a subject, text, dossier, survey answer or anyone's name, email or organisation.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, prefetch_related_objects
from django.utils import timezone

from helpdesk.errors import NotAllowed
from helpdesk.models import (
    EventKind,
    Notification,
    NotificationChannel,
    NotificationKind,
    NotificationStatus,
    Status,
    Ticket,
    TicketEvent,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)
from helpdesk.notifications import absolute_url, notifications_enqueue_raw, register_deliverer
from helpdesk.signals import ticket_event_recorded

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Helpdesk-Signature"
TIMESTAMP_HEADER = "X-Helpdesk-Timestamp"
DELIVERY_HEADER = "X-Helpdesk-Delivery"
EVENT_HEADER = "X-Helpdesk-Event"
USER_AGENT = "EscalationHelpdesk-Webhooks/1.0"


class WebhookRefused(NotAllowed):
    """The endpoint may not be called (unsafe address, disabled endpoint)."""


# --- signing -----------------------------------------------------------------------------------------------------


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_signature_verify(
    *, secret: str, timestamp: str, body: bytes, signature: str, tolerance_seconds: int = 300, now: float | None = None
) -> bool:
    """What a receiver does: recompute, compare in constant time, and refuse stale timestamps (replays)."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - sent) > tolerance_seconds:
        return False
    return hmac.compare_digest(webhook_signature(secret=secret, timestamp=timestamp, body=body), signature)


# --- address safety ----------------------------------------------------------------------------------------------


def _address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def webhook_url_check(url: str, *, resolve: bool = True) -> list[str]:
    """Refuse non-http(s) URLs and, after resolving the host, any non-public address (every one of them).
    Returns the checked addresses, to connect to exactly those."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValidationError({"url": "Only http:// and https:// webhook URLs are allowed."})
    if not parts.hostname:
        raise ValidationError({"url": "The URL has no host."})
    if parts.username or parts.password:
        raise ValidationError({"url": "Put credentials in the secret, not in the URL."})
    if not resolve:
        return []
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationError({"url": f"The host {parts.hostname!r} does not resolve ({exc})."}) from exc
    addresses = sorted({str(info[4][0]) for info in infos})
    if not settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        refused = [address for address in addresses if not _address_is_public(address)]
        if refused:
            raise ValidationError(
                {
                    "url": f"The host {parts.hostname!r} resolves to a loopback, private or link-local address "
                    f"({', '.join(refused)}); webhooks may only call public addresses."
                }
            )
    return addresses


class _PinnedHTTPConnection(http.client.HTTPConnection):
    pinned_address = ""

    def connect(self):
        self.sock = socket.create_connection((self.pinned_address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    pinned_address = ""

    def connect(self):
        # Connect to the checked address; TLS still verifies the certificate against the URL's host name.
        sock = socket.create_connection((self.pinned_address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx status


def _opener(address: str) -> urllib.request.OpenerDirector:
    class Http(urllib.request.HTTPHandler):
        def http_open(self, req):
            conn = type("Conn", (_PinnedHTTPConnection,), {"pinned_address": address})
            return self.do_open(conn, req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req):
            conn = type("Conn", (_PinnedHTTPSConnection,), {"pinned_address": address})
            return self.do_open(conn, req, context=self._context)

    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects, Http, Https)


# --- emitting ----------------------------------------------------------------------------------------------------


# What an endpoint not cleared for restricted data still receives about a restricted ticket. Allowlists, not
# denylists: a key added to a payload later stays out of such deliveries until someone decides it is harmless.
_RESTRICTED_ENVELOPE_KEYS = ("id", "event", "created_at")
_RESTRICTED_TICKET_KEYS = ("reference", "status", "priority", "tier", "team", "url")
_RESTRICTED_DATA_KEYS = frozenset(
    {
        "escalation_id",
        "survey_id",
        "type",
        "mode",
        "level",
        "from_tier",
        "to_tier",
        "to_team",
        "requested_by_kind",
        "automatic",
        "channel",
        "category",
        "from",
        "target",
        "due_at",
        "breached_at",
        "resolved_at",
        "answered_at",
        "is_escalated",
    }
)


def webhook_envelope_for(*, endpoint: WebhookEndpoint, envelope: dict[str, Any], restricted: bool) -> dict[str, Any]:
    """The one place a delivery's content is decided: every envelope says whether its ticket is restricted, and a
    restricted ticket's envelope keeps only the allowlisted keys unless the endpoint is cleared for restricted
    data. Idempotent (a trimmed envelope trims to itself); once restricted, an envelope stays restricted."""
    restricted = bool(restricted or envelope.get("restricted"))
    if not restricted or endpoint.cleared_for_restricted:
        return {**envelope, "restricted": restricted}
    ticket = envelope.get("ticket")
    data = envelope.get("data") or {}
    return {key: envelope[key] for key in _RESTRICTED_ENVELOPE_KEYS if key in envelope} | {
        "restricted": True,
        "ticket": {key: ticket[key] for key in _RESTRICTED_TICKET_KEYS if key in ticket} if ticket else None,
        "data": {key: value for key, value in data.items() if key in _RESTRICTED_DATA_KEYS},
    }


def webhook_document(*, endpoint: WebhookEndpoint, envelope: dict[str, Any], restricted: bool) -> dict[str, Any]:
    """What is POSTed to ``endpoint``: the (trimmed) envelope as JSON, or the Slack ``{"text": …}`` made from it."""
    envelope = webhook_envelope_for(endpoint=endpoint, envelope=envelope, restricted=restricted)
    return {"text": _slack_text(envelope)} if endpoint.slack_format else envelope


def _ticket_summary(ticket: Ticket) -> dict[str, Any]:
    return {
        "reference": ticket.reference,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "tier": ticket.tier,
        "team": ticket.team.slug if ticket.team else None,
        "url": absolute_url(f"/tickets/{ticket.reference}/"),
    }


def webhook_emit(*, event_type: str, ticket: Ticket | None, payload: dict[str, Any]) -> list[Notification]:
    """Queue one signed delivery per active endpoint subscribed to ``event_type``, in the caller's transaction
    (nothing is sent if it rolls back). Not atomic by itself: it joins the caller's transaction."""
    return webhook_emit_many(event_type=event_type, items=[(ticket, payload)])


def webhook_emit_many(*, event_type: str, items: list[tuple[Ticket | None, dict[str, Any]]]) -> list[Notification]:
    """``webhook_emit`` for many tickets at once (the SLA sweep): the endpoints are read once, so an unsubscribed
    event costs one query whatever the number of tickets. Joins the caller's transaction."""
    if event_type not in WebhookEventType.values:
        raise ValueError(f"Unknown webhook event type {event_type!r}.")
    if not items:
        return []
    endpoints = [e for e in WebhookEndpoint.objects.filter(is_active=True) if event_type in (e.event_types or [])]
    if endpoints:
        # The summary names each ticket's team: one query for the batch (none for teams already loaded).
        prefetch_related_objects([ticket for ticket, _ in items if ticket is not None], "team")
    rows = []
    for ticket, payload in items:
        for endpoint in endpoints:
            delivery_id = str(uuid.uuid4())
            envelope = webhook_envelope_for(
                endpoint=endpoint,
                envelope={
                    "id": delivery_id,
                    "event": event_type,
                    "created_at": timezone.now().isoformat(),
                    "ticket": _ticket_summary(ticket) if ticket is not None else None,
                    "data": payload,
                },
                restricted=ticket is not None and ticket.restricted,
            )
            rows.append(
                {
                    "channel": NotificationChannel.WEBHOOK,
                    "kind": NotificationKind.for_webhook(event_type),
                    "subject": f"{WebhookEventType(event_type).label}: {ticket.reference if ticket else ''}".strip(),
                    "to_address": endpoint.url[:254],
                    "ticket": ticket,
                    "data": {"endpoint_id": endpoint.pk, "delivery_id": delivery_id, "payload": envelope},
                }
            )
    # One INSERT for the batch, not one per ticket and endpoint.
    return notifications_enqueue_raw(rows)


def _slack_text(envelope: dict[str, Any]) -> str:
    label = WebhookEventType(envelope["event"]).label
    ticket = envelope.get("ticket")
    if not ticket:
        return label
    subject = ticket.get("subject") or ("(restricted)" if envelope.get("restricted") else "")
    return f"*{label}*: <{ticket['url']}|{ticket['reference']}> {subject} ({ticket['priority']}, {ticket['status']})"


def _webhook_rows_restrict(*, ticket: Ticket) -> int:
    """A ticket just became restricted (a compliance escalation, in the same transaction that queued its
    ``ticket.escalated``): trim its undelivered rows for uncleared endpoints, so the outbox holds nothing they may
    not receive. Delivery trims again whatever this misses. Joins the caller's transaction."""
    rows = Notification.objects.filter(channel=NotificationChannel.WEBHOOK, ticket=ticket).exclude(
        status=NotificationStatus.SENT
    )
    endpoints = {endpoint.pk: endpoint for endpoint in WebhookEndpoint.objects.all()}
    trimmed = 0
    for row in rows:
        endpoint = endpoints.get(row.data.get("endpoint_id"))
        if endpoint is None:
            continue
        envelope = webhook_envelope_for(endpoint=endpoint, envelope=row.data["payload"], restricted=True)
        if envelope != row.data["payload"]:
            row.data = {**row.data, "payload": envelope}
            row.save(update_fields=["data"])
            trimmed += 1
    return trimmed


# --- delivering --------------------------------------------------------------------------------------------------


def _deliver_webhook(notification: Notification) -> None:
    """The outbox deliverer: one POST; raises on failure so the outbox backs off and retries."""
    endpoint = WebhookEndpoint.objects.filter(pk=notification.data.get("endpoint_id")).first()
    if endpoint is None:
        raise WebhookRefused("the endpoint was deleted")
    if not endpoint.is_active:
        raise WebhookRefused(f"endpoint {endpoint.name!r} is disabled")
    envelope = notification.data["payload"]
    # The ticket as it is now: it may have become restricted after this row was queued.
    restricted = (
        notification.ticket_id is not None
        and Ticket.objects.filter(pk=notification.ticket_id, restricted=True).exists()
    )
    document = webhook_document(endpoint=endpoint, envelope=envelope, restricted=restricted)
    body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: webhook_signature(secret=endpoint.secret, timestamp=timestamp, body=body),
        TIMESTAMP_HEADER: timestamp,
        DELIVERY_HEADER: notification.data["delivery_id"],
        EVENT_HEADER: envelope["event"],
    }
    started = time.monotonic()
    status_code, error = None, ""
    try:
        addresses = webhook_url_check(endpoint.url)
        request = urllib.request.Request(endpoint.url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked above
        with _opener(addresses[0]).open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            status_code = response.status
    except urllib.error.HTTPError as exc:
        status_code, error = exc.code, f"HTTP {exc.code}"
    except ValidationError as exc:
        error = "refused: " + " ".join(exc.messages)
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
    succeeded = status_code is not None and 200 <= status_code < 300 and not error
    _record_attempt(
        endpoint=endpoint,
        notification=notification,
        envelope=envelope,
        status_code=status_code,
        error=error,
        succeeded=succeeded,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    if not succeeded:
        raise WebhookRefused(error or f"HTTP {status_code}")


@transaction.atomic
def _record_attempt(
    *,
    endpoint: WebhookEndpoint,
    notification: Notification,
    envelope: dict,
    status_code: int | None,
    error: str,
    succeeded: bool,
    duration_ms: int,
) -> None:
    """Log the attempt; count consecutive failures (an atomic F() update) and disable the endpoint at the limit."""
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        notification=notification,
        delivery_id=notification.data["delivery_id"],
        event_type=envelope["event"],
        attempt=notification.attempts,
        succeeded=succeeded,
        status_code=status_code,
        error=error[:2000],
        duration_ms=duration_ms,
    )
    if succeeded:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failure_count=0)
        return
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failure_count=F("failure_count") + 1)
    disabled = WebhookEndpoint.objects.filter(
        pk=endpoint.pk, is_active=True, failure_count__gte=settings.WEBHOOK_DISABLE_AFTER_FAILURES
    ).update(is_active=False, disabled_at=timezone.now())
    if disabled:
        logger.warning("webhook endpoint %s disabled after repeated failures", endpoint.pk)


register_deliverer(NotificationChannel.WEBHOOK, _deliver_webhook)


# --- wiring: the events the core already records ------------------------------------------------------------------


def _on_ticket_event(sender, *, event: TicketEvent, ticket: Ticket, **kwargs) -> None:
    if event.kind == EventKind.RESTRICTED:
        _webhook_rows_restrict(ticket=ticket)
    elif event.kind == EventKind.CREATED:
        webhook_emit(
            event_type=WebhookEventType.TICKET_CREATED,
            ticket=ticket,
            payload={"channel": ticket.channel, "category": ticket.category.slug if ticket.category else None},
        )
    elif event.kind == EventKind.STATUS_CHANGED and event.data.get("to") == Status.RESOLVED:
        webhook_emit(
            event_type=WebhookEventType.TICKET_RESOLVED,
            ticket=ticket,
            payload={
                "from": event.data.get("from"),
                "resolved_at": ticket.resolved_at and ticket.resolved_at.isoformat(),
            },
        )


ticket_event_recorded.connect(_on_ticket_event, dispatch_uid="helpdesk.webhooks.ticket_event")
