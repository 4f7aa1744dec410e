"""``live_publish``: after commit, to everyone online who may see the ticket (or to named users), through Redis."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from django.conf import settings
from django.db import close_old_connections, transaction

from helpdesk.live import broker
from helpdesk.models import Ticket, User
from helpdesk.publisher import BackgroundPublisher
from helpdesk.selectors import notification_unread_count, ticket_audiences

logger = logging.getLogger(__name__)


class LiveKind(StrEnum):
    """What a frame is about; ``static/js/live.js`` dispatches a DOM event ``live-<kind>`` for each."""

    TICKET = "ticket"  # something happened on a ticket (a TicketEvent): payload reference, event kind, actor
    PRESENCE = "presence"  # who has the ticket's workspace open, or is typing in it, changed
    NOTIFICATION = "notification"  # an in-app notification arrived: payload carries the unread count
    CALL = "call"  # the phone system rang, answered or ended a call for this agent (escalations.calls.cti)
    CHAT = "chat"  # a live chat waits, was taken, got a message or ended (chat.services): payload chat id, change


@dataclass(frozen=True)
class LiveMessage:
    kind: str
    payload: dict
    ticket_id: int | None = None
    user_ids: tuple[int, ...] | None = None
    customer_payload: dict | None = None  # what the ticket's customers online receive instead; None: staff only
    customer_ids: tuple[int, ...] | None = None  # named customers (no ticket): routed by the kind's customer rule


CustomerRule = Callable[[dict, list[User]], list[User]]
_customer_rules: dict[str, CustomerRule] = {}


def live_customer_rule_register(*, kind: str, rule: CustomerRule) -> None:
    """The rule that decides, at delivery time, which of the named customers of a ``kind`` frame without a ticket
    may still receive it: ``rule(customer_payload, customers) -> the customers allowed``. It is the owning app's own
    read rule (chat: ``chat.selectors.chat_customer_audience``), registered from its ``AppConfig.ready()`` so that
    helpdesk never imports the app. A kind with no rule reaches no customer."""
    _customer_rules[str(kind)] = rule


def live_publish(
    *,
    kind: str,
    payload: dict,
    ticket: Ticket | None = None,
    users: Iterable[int] | None = None,
    customer_payload: dict | None = None,
    customers: Iterable[int] | None = None,
) -> None:
    """Push ``payload`` after the current transaction commits (at once outside one; never for a rollback).

    Audience: with ``users``, those users; otherwise every staff member online. With ``ticket``, only those of them
    who may see it (``tickets_visible_to``). Payloads are small JSON facts; screens re-fetch the rest.
    ``customer_payload`` (with ``ticket`` only) also reaches the customers online who may see the ticket, by the same
    rule; without it no customer receives anything, so a frame reaches a customer only when its caller says so.
    ``customers`` (with ``customer_payload``, without ``ticket``): named customers, each of whom receives it only if
    the rule registered for ``kind`` (``live_customer_rule_register``) still allows them when it is delivered."""
    if not settings.LIVE_ENABLED:
        return
    if customers is not None and (ticket is not None or customer_payload is None):
        raise ValueError("Named customers take customer_payload= and no ticket=.")
    if customer_payload is not None and ticket is None and customers is None:
        raise ValueError("A customer frame is about one ticket or named customers: pass ticket= or customers=.")
    message = LiveMessage(
        kind=str(kind),
        payload=payload,
        ticket_id=ticket.pk if ticket is not None else None,
        user_ids=tuple(users) if users is not None else None,
        customer_payload=customer_payload,
        customer_ids=tuple(customers) if customers is not None else None,
    )
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        live_publisher.submit([message])
        return
    _pending_for(connection).messages.append(message)


@dataclass
class _Pending:
    """The messages queued at one savepoint level of a transaction: submitted together, in order, after commit (one
    callback, not one per message), and dropped together with that savepoint if it rolls back."""

    messages: list[LiveMessage] = field(default_factory=list)
    savepoints: tuple[str, ...] = ()
    slot: int = 0  # where ``submit`` sits in the connection's ``run_on_commit`` (its length once registered)

    def submit(self) -> None:
        live_publisher.submit(self.messages)


_local = threading.local()


def _pending_for(connection) -> _Pending:
    """This transaction's pending messages at the current savepoint level, registering them for after the commit if
    they are not yet. Found at the slot they were registered in, not by scanning every callback: callbacks are only
    appended, or dropped with a rolled-back savepoint (then the slot no longer holds this ``submit``)."""
    pending: _Pending | None = getattr(_local, "pending", None)
    savepoints = tuple(connection.savepoint_ids)
    callbacks = connection.run_on_commit
    if (
        pending is not None
        and pending.savepoints == savepoints
        and 0 < pending.slot <= len(callbacks)
        and callbacks[pending.slot - 1][1] == pending.submit
    ):
        return pending
    pending = _Pending(savepoints=savepoints)
    transaction.on_commit(pending.submit)
    pending.slot = len(callbacks)
    _local.pending = pending
    return pending


def live_deliver(messages: list[LiveMessage]) -> bool:
    """Resolve each message's audience and write it to their streams (the publisher thread's work; tests call it)."""
    close_old_connections()  # a long-lived thread: drop a connection the database closed meanwhile
    deliveries = live_deliveries(messages)
    broker.publish(deliveries)
    return True


def live_deliveries(messages: list[LiveMessage]) -> list[tuple[int, str]]:
    """``(user id, frame JSON)`` for every recipient of every message, in order: the audience rule in one place."""
    wanted: set[int] = set()
    broadcast = any(message.user_ids is None for message in messages)
    if broadcast:
        wanted.update(broker.online_user_ids())
    for message in messages:
        wanted.update(message.user_ids or ())
        wanted.update(message.customer_ids or ())
    if not wanted:
        return []
    active = list(User.objects.filter(pk__in=wanted, is_active=True))
    users = {user.pk: user for user in active if user.is_staff_member}
    ticket_ids = {message.ticket_id for message in messages if message.ticket_id is not None}
    customers = _customer_candidates(messages, [user for user in active if user.is_customer])
    named_customers = {user.pk: user for user in active if user.is_customer}
    online = [users[pk] for pk in broker.online_user_ids() if pk in users] if broadcast else []
    candidates = [users[pk] for pk in sorted(wanted) if pk in users] + list(customers.values())
    audiences = ticket_audiences(ticket_ids=ticket_ids, users=candidates) if ticket_ids else {}
    deliveries: list[tuple[int, str]] = []
    unread: dict[int, int] = {}
    for message in messages:
        named = [users[pk] for pk in message.user_ids if pk in users] if message.user_ids is not None else online
        if message.customer_payload is not None:
            pool = message.user_ids if message.user_ids is not None else customers
            named = named + [customers[pk] for pk in pool if pk in customers]
        if message.ticket_id is not None:
            allowed = {user.pk for user in audiences.get(message.ticket_id, [])}
            named = [user for user in named if user.pk in allowed]
        elif message.customer_ids is not None and message.customer_payload is not None:
            rule = _customer_rules.get(message.kind)
            asked = [named_customers[pk] for pk in message.customer_ids if pk in named_customers]
            named = named + (rule(message.customer_payload, asked) if rule is not None and asked else [])
        for user in named:
            if user.is_customer:
                if message.customer_payload is None:
                    continue
                # Only the customer payload, and only for what the rule lets them see (checked just above).
                deliveries.append(
                    (
                        user.pk,
                        json.dumps({"kind": message.kind, **message.customer_payload}, separators=(",", ":")),
                    )
                )
                continue
            payload = {"kind": message.kind, **message.payload}
            if message.kind == LiveKind.NOTIFICATION:
                if user.pk not in unread:
                    unread[user.pk] = notification_unread_count(user)
                payload["unread"] = unread[user.pk]
            deliveries.append((user.pk, json.dumps(payload, separators=(",", ":"))))
    return deliveries


def _customer_candidates(messages: list[LiveMessage], customers: list[User]) -> dict[int, User]:
    """The online customers worth asking the visibility rule about: those of the tickets' organisations or who
    raised them (one query). A shortcut only: ``ticket_audiences`` still decides who of them may see each ticket."""
    ticket_ids = {
        message.ticket_id
        for message in messages
        if message.customer_payload is not None and message.ticket_id is not None
    }
    if not ticket_ids or not customers:
        return {}
    owners = list(Ticket.objects.filter(pk__in=ticket_ids).values_list("customer_id", "organization_id"))
    people = {customer_id for customer_id, _ in owners}
    organisations = {organization_id for _, organization_id in owners if organization_id is not None}
    return {user.pk: user for user in customers if user.pk in people or user.organization_id in organisations}


live_publisher: BackgroundPublisher[LiveMessage] = BackgroundPublisher(
    live_deliver, max_pending=10_000, name="live-publisher", coalesce=True
)
