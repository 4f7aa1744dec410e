"""Push (helpdesk/live/): who receives a ticket's frames, that nothing is sent before commit or after a rollback, and
catch-up from the last event id through the stream itself."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from django.db import transaction
from django.test import AsyncClient, Client

from helpdesk.live import LiveKind, LiveMessage, broker
from helpdesk.live import publish as live_publish_module
from helpdesk.live.receivers import ticket_frame
from helpdesk.models import Ticket
from helpdesk.selectors import ticket_audiences, tickets_visible_to, users_who_can_see
from helpdesk.services import ticket_add_internal_note


@pytest.fixture
def restricted_ticket(make_ticket, customer, teams):
    ticket = make_ticket(customer, subject="Erase my data", category="data-privacy")
    Ticket.objects.filter(pk=ticket.pk).update(restricted=True, team=teams["compliance"])
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def everyone(agent, agent2, specialist, compliance_officer, manager, admin_user, customer, customer2):
    return [agent, agent2, specialist, compliance_officer, manager, admin_user, customer, customer2]


def test_a_restricted_tickets_audience_is_its_team_tier3_and_admins(restricted_ticket, make_ticket, everyone):
    # given a restricted ticket of the compliance team and an ordinary one
    ordinary = make_ticket(everyone[-2], subject="Charged twice")

    # when the audiences of both are computed for everyone at once
    audiences = ticket_audiences(ticket_ids=[restricted_ticket.pk, ordinary.pk], users=everyone)

    # then the restricted one reaches its team, the manager, the admin and its own customer only
    names = {user.username for user in audiences[restricted_ticket.pk]}
    assert names == {"compliance", "manager", "admin", "customer"}
    assert {user.username for user in audiences[ordinary.pk]} == {
        "agent", "agent2", "specialist", "compliance", "manager", "admin", "customer",
    }  # fmt: skip
    # and it is the same rule, user by user, as the detail page's
    for user in everyone:
        sees = tickets_visible_to(user).filter(pk=restricted_ticket.pk).exists()
        assert (user in audiences[restricted_ticket.pk]) == sees
    assert users_who_can_see(ticket=restricted_ticket, users=everyone) == audiences[restricted_ticket.pk]


def test_a_restricted_tickets_frames_go_only_to_staff_who_may_see_it(
    restricted_ticket, everyone, monkeypatch, django_assert_max_num_queries
):
    # given everyone online
    monkeypatch.setattr(broker, "online_user_ids", lambda **kwargs: [user.pk for user in everyone])
    event = restricted_ticket.events.first()
    message = LiveMessage(
        kind=LiveKind.TICKET,
        payload=ticket_frame(event=event, ticket=restricted_ticket),
        ticket_id=restricted_ticket.pk,
    )

    # when its frame is routed (a constant number of queries whoever is online)
    with django_assert_max_num_queries(3):  # staff, their teams, the rule: whoever is online
        deliveries = live_publish_module.live_deliveries([message])

    # then only the compliance specialist, the manager and the admin get it (no customer payload: staff only)
    by_id = {user.pk: user.username for user in everyone}
    assert sorted(by_id[user_id] for user_id, _ in deliveries) == ["admin", "compliance", "manager"]
    assert json.loads(deliveries[0][1])["ticket"] == restricted_ticket.reference


def test_nothing_is_published_inside_a_transaction_or_for_a_rollback(
    make_ticket, customer, agent, monkeypatch, django_capture_on_commit_callbacks
):
    ticket = make_ticket(customer)
    submitted: list[LiveMessage] = []
    monkeypatch.setattr(live_publish_module.live_publisher, "submit", submitted.extend)

    # when a note is added in a transaction that rolls back
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        ticket_add_internal_note(ticket=ticket, author=agent, body="Never mind.")
        raise RuntimeError("rolled back")
    # then nothing was published
    assert submitted == []

    # when one commits, nothing is published until the commit
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        ticket_add_internal_note(ticket=ticket, author=agent, body="Called the bank.")
        assert submitted == []
    # then one ticket frame, naming the note and its author
    assert [(m.kind, m.payload["event"], m.payload["actor"]) for m in submitted] == [
        ("ticket", "internal_note", "Alex Morgan")
    ]


def _run(coro):
    """``asyncio.run`` on a thread of its own: Playwright's sync API may have left a loop running on this one."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(coro)))
    thread.start()
    thread.join(timeout=30)
    return result[0]


def _read_frames(client: AsyncClient, *, headers: dict, until: str) -> list[str]:
    async def read() -> list[str]:
        response = await client.get("/live/stream/", headers=headers)
        assert response.status_code == 200
        assert response["Content-Type"] == "text/event-stream"
        frames: list[str] = []
        chunks = response.streaming_content.__aiter__()
        while not frames or until not in frames[-1]:
            frames.append((await asyncio.wait_for(chunks.__anext__(), 10)).decode())
        await chunks.aclose()
        return frames

    return _run(read())


@pytest.mark.django_db(transaction=True)
def test_a_reconnecting_stream_catches_up_from_its_last_event_id(agent, clean_live):
    # given three frames in the agent's backlog
    broker.publish([(agent.pk, json.dumps({"kind": "ticket", "n": n})) for n in range(3)])
    ids = [entry_id for entry_id, _ in clean_live.xrange(broker.user_key(agent.pk))]
    signed_in = Client()
    signed_in.force_login(agent)
    client = AsyncClient()
    client.cookies["sessionid"] = signed_in.cookies["sessionid"].value

    # when the stream reconnects after the first
    frames = _read_frames(client, headers={"Last-Event-ID": ids[0]}, until="event: ready")

    # then it gets the two it missed, in order, each with its id, and then "ready" at the last of them
    assert frames[1:] == [
        f'id: {ids[1]}\ndata: {{"kind": "ticket", "n": 1}}\n\n',
        f'id: {ids[2]}\ndata: {{"kind": "ticket", "n": 2}}\n\n',
        f'id: {ids[2]}\nevent: ready\ndata: {{"kind": "ready", "fallback_poll_seconds": 30}}\n\n',
    ]

    # and a stream whose backlog expired is told to resync
    clean_live.delete(broker.user_key(agent.pk))
    frames = _read_frames(client, headers={"Last-Event-ID": ids[0]}, until="event: ready")
    assert "event: resync" in frames[1]


@pytest.mark.django_db(transaction=True)
def test_the_stream_is_for_signed_in_staff_and_customers(customer, clean_live):
    # given a customer and an anonymous visitor
    signed_in = Client()
    signed_in.force_login(customer)
    client = AsyncClient()

    async def status() -> int:
        client.cookies.clear()
        return (await client.get("/live/stream/")).status_code

    # then the visitor gets none
    assert _run(status()) == 401
    # and the customer gets their own (what it carries: tests/helpdesk/test_live_customer.py)
    client.cookies["sessionid"] = signed_in.cookies["sessionid"].value
    frames = _read_frames(client, headers={}, until="event: ready")
    assert "event: ready" in frames[-1]


def test_an_open_stream_lets_its_requests_worker_thread_go():
    # given a request's thread-sensitive context (Django's ASGI handler runs each request in one) whose middleware
    # started the request's own worker thread
    from asgiref.sync import ThreadSensitiveContext, sync_to_async

    from helpdesk.live.views import _release_request_thread

    async def scenario() -> tuple[str, int, int, str]:
        async with ThreadSensitiveContext():
            request_thread = await sync_to_async(lambda: threading.current_thread().name)()
            before = threading.active_count()
            # when the stream's body starts
            _release_request_thread()
            for _ in range(250):
                if threading.active_count() < before:
                    break
                await asyncio.sleep(0.02)
            after = threading.active_count()
            # a later sync call of the request (Django's response.close()) still runs, on a fresh thread
            closing_thread = await sync_to_async(lambda: threading.current_thread().name)()
        return request_thread, before, after, closing_thread

    request_thread, before, after, closing_thread = _run(scenario())
    # then that thread has ended: an open stream holds no thread of its own
    assert after == before - 1
    assert closing_thread != request_thread
