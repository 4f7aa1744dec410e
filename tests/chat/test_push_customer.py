"""The chat's customer on the push stream (README "Live chat", "Push to open screens"): a bare ``chat`` frame for
their own chat only, routed at delivery time by chat's own read rule (``chat_customer_audience``)."""

from __future__ import annotations

import json

import pytest

from chat.selectors import chat_customer_audience
from chat.services import chat_accept, chat_post, chat_typing
from helpdesk.live import LiveMessage, broker
from helpdesk.live import publish as live_publish_module

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch):
    messages: list[LiveMessage] = []
    monkeypatch.setattr(live_publish_module.live_publisher, "submit", messages.extend)
    return messages


def _wire(deliveries, users) -> dict[str, list[dict]]:
    names = {user.pk: user.username for user in users}
    frames: dict[str, list[dict]] = {user.username: [] for user in users}
    for user_id, data in deliveries:
        frame = json.loads(data)
        if frame["kind"] == "chat":  # (the chat's ticket has frames of its own, README "Push to open screens")
            frames[names[user_id]].append(frame)
    return frames


def test_a_customer_gets_a_bare_chat_frame_for_their_chat_and_none_for_anothers(
    start_chat, customer, customer2, agent, monkeypatch, published, django_capture_on_commit_callbacks
):
    # given Dana's chat taken by the agent and Sam's chat waiting, everyone online
    mine = start_chat(customer)
    theirs = start_chat(customer2, message="Router offline")
    chat_accept(session=mine, agent=agent)
    online = [customer, customer2, agent]
    monkeypatch.setattr(broker, "online_user_ids", lambda **kwargs: [user.pk for user in online])

    # when the agent writes in Dana's chat and types there
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        chat_post(session=mine, author=agent, body="We are refunding the duplicate charge of GBP 40.")
        chat_typing(session=mine, user=agent)
    frames = _wire(live_publish_module.live_deliveries(published), online)

    # then Dana's raw stream carries the bare facts of her chat, no word of the text; Sam's carries nothing
    assert frames["customer"] == [
        {"kind": "chat", "chat": mine.pk, "change": "message"},
        {"kind": "chat", "chat": mine.pk, "change": "typing"},
    ]
    assert frames["customer2"] == []
    assert "refunding" not in str(frames)
    # and the agent, the typist, gets the message frame but not their own typing
    assert frames["agent"] == [{"kind": "chat", "chat": mine.pk, "change": "message"}]
    assert theirs.pk not in {frame["chat"] for got in frames.values() for frame in got}


def test_a_frame_named_for_another_customer_is_dropped_at_delivery_by_the_chats_rule(
    start_chat, customer, customer2, monkeypatch, django_capture_on_commit_callbacks
):
    # given Dana's chat, and a frame about it naming both customers (as a faulty caller might)
    mine = start_chat(customer)
    monkeypatch.setattr(broker, "online_user_ids", lambda **kwargs: [customer.pk, customer2.pk])
    frame = {"chat": mine.pk, "change": "message"}
    message = LiveMessage(
        kind="chat", payload=frame, user_ids=(), customer_payload=frame, customer_ids=(customer.pk, customer2.pk)
    )

    # when it is delivered, then only the chat's own customer receives it: the rule the chat's pages read by
    deliveries = live_publish_module.live_deliveries([message])
    assert [user_id for user_id, _ in deliveries] == [customer.pk]
    assert chat_customer_audience(frame, [customer, customer2]) == [customer]
    # and a kind with no customer rule reaches no customer
    other = LiveMessage(kind="call", payload={}, user_ids=(), customer_payload={"x": 1}, customer_ids=(customer.pk,))
    assert live_publish_module.live_deliveries([other]) == []


def test_when_a_chat_is_taken_the_customers_behind_it_are_told_their_place_moved(
    start_chat, customer, customer2, agent, monkeypatch, published, django_capture_on_commit_callbacks
):
    first = start_chat(customer)
    second = start_chat(customer2, message="Router offline")
    monkeypatch.setattr(broker, "online_user_ids", lambda **kwargs: [customer.pk, customer2.pk])
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        chat_accept(session=first, agent=agent)
    frames = _wire(live_publish_module.live_deliveries(published), [customer, customer2, agent])
    assert frames["customer"] == [{"kind": "chat", "chat": first.pk, "change": "accepted"}]
    assert frames["customer2"] == [{"kind": "chat", "chat": second.pk, "change": "queue"}]
