"""Live chat services: start, accept (capacity), post (participants only, rate limit), end (one ticket with the
transcript, idempotent)."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from chat.models import ChatMessage, ChatStatus
from chat.selectors import chat_queue_position
from chat.services import ChatRateLimited, chat_accept, chat_end, chat_post
from helpdesk.errors import Conflict, Invalid, NotAllowed
from helpdesk.models import Channel, Ticket

pytestmark = pytest.mark.django_db


def test_a_started_chat_waits_in_the_queue_and_tells_the_chat_takers(
    start_chat, customer, customer2, agent, agent2, specialist, frames, django_capture_on_commit_callbacks
):
    # given a chat already waiting
    first = start_chat(customer2)

    # when another customer starts one
    with django_capture_on_commit_callbacks(execute=True):
        session = start_chat(customer)

    # then it waits behind the first, with the first message, and the frontline agents were told
    assert (session.status, chat_queue_position(first), chat_queue_position(session)) == (ChatStatus.WAITING, 1, 2)
    assert list(session.messages.values_list("body", flat=True)) == ["My invoice shows a double charge."]
    chat_frames = [frame for frame in frames if frame[0] == "chat"]
    assert chat_frames == [("chat", {"chat": session.pk, "change": "waiting"}, tuple(sorted([agent.pk, agent2.pk])))]


def test_a_customer_has_one_open_chat_at_a_time(start_chat, customer):
    start_chat(customer)
    with pytest.raises(Conflict, match=f"^{re.escape('You already have a chat open.')}$"):
        start_chat(customer)


def test_a_message_longer_than_2000_characters_is_refused(start_chat, customer):
    with pytest.raises(Invalid, match=f"^{re.escape('A message can be at most 2000 characters long.')}$"):
        start_chat(customer, message="x" * 2001)


@override_settings(CHAT_MAX_CONCURRENT_PER_AGENT=2)
def test_an_agent_at_capacity_cannot_take_another_chat(start_chat, customer, customer2, agent, org, django_user_model):
    # given an agent holding two chats with a capacity of two
    third = django_user_model.objects.create_user(username="c3", password="x", role="customer", organization=org)
    chat_accept(session=start_chat(customer), agent=agent)
    chat_accept(session=start_chat(customer2), agent=agent)
    waiting = start_chat(third)

    # when they take a third, then it is refused and the chat still waits
    with pytest.raises(Conflict, match=r"^You are at your chat capacity \(2 at once\)\. End a chat before taking"):
        chat_accept(session=waiting, agent=agent)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.agent) == (ChatStatus.WAITING, None)


def test_a_chat_taken_by_one_agent_cannot_be_taken_by_another(start_chat, customer, agent, agent2):
    session = start_chat(customer)
    chat_accept(session=session, agent=agent)
    with pytest.raises(Conflict, match=f"^{re.escape('This chat was already taken.')}$"):
        chat_accept(session=session, agent=agent2)


def test_a_customer_cannot_take_a_chat(start_chat, customer, customer2):
    with pytest.raises(NotAllowed, match=f"^{re.escape('Only staff take chats.')}$"):
        chat_accept(session=start_chat(customer), agent=customer2)


def test_only_the_chats_customer_and_agent_may_post(start_chat, customer, customer2, agent, agent2, frames):
    # given an active chat between the customer and the agent
    session = chat_accept(session=start_chat(customer), agent=agent)

    # when both write, then both messages are kept, the agent's marked as staff
    chat_post(session=session, author=agent, body="Hello Dana, let me look.")
    chat_post(session=session, author=customer, body="Thanks!")
    assert list(session.messages.values_list("from_staff", flat=True)) == [False, True, False]

    # and another customer or another agent may not write in it
    for outsider in (customer2, agent2):
        with pytest.raises(NotAllowed, match=f"^{re.escape('Only the people in this chat can write in it.')}$"):
            chat_post(session=session, author=outsider, body="Hi")


@override_settings(CHAT_RATE_LIMIT_MESSAGES=3, CHAT_RATE_LIMIT_SECONDS=10)
def test_a_customer_sending_too_fast_is_refused(start_chat, customer, agent):
    # given a chat whose customer has sent 3 messages (the first included) within 10 s
    session = chat_accept(session=start_chat(customer), agent=agent)
    chat_post(session=session, author=customer, body="two")
    chat_post(session=session, author=customer, body="three")

    # when they send a fourth, then it is refused and not kept; the agent is not limited
    with pytest.raises(
        ChatRateLimited, match=f"^{re.escape('You are sending messages too quickly. Please wait a few seconds.')}$"
    ):
        chat_post(session=session, author=customer, body="four")
    chat_post(session=session, author=agent, body="Slow down, I am here.")
    assert ChatMessage.objects.filter(session=session, author=customer).count() == 3


def test_ending_a_chat_opens_one_ticket_with_the_transcript_even_on_a_double_submit(
    start_chat, customer, agent, frames, django_capture_on_commit_callbacks
):
    # given an active chat with messages from both sides
    session = chat_accept(session=start_chat(customer), agent=agent)
    chat_post(session=session, author=agent, body="I have refunded the duplicate.")

    # when the agent ends it twice (a double submit)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = chat_end(session=session, actor=agent)
    again = chat_end(session=session, actor=agent)

    # then one chat ticket holds the transcript, assigned to the agent, and the chat points at it
    assert again.pk == ticket.pk
    assert Ticket.objects.filter(customer=customer).count() == 1
    assert (ticket.channel, ticket.subject, ticket.assignee) == (
        Channel.CHAT,
        "Chat: My invoice shows a double charge.",
        agent,
    )
    assert "Dana Reyes: My invoice shows a double charge." in ticket.description
    assert "Alex Morgan: I have refunded the duplicate." in ticket.description
    assert " UTC] " in ticket.description
    session.refresh_from_db()
    assert (session.status, session.ticket) == (ChatStatus.ENDED, ticket)
    assert [frame for frame in frames if frame[0] == "chat"][-1] == (
        "chat",
        {"chat": session.pk, "change": "ended"},
        (agent.pk,),
    )
    with pytest.raises(Conflict, match=f"^{re.escape('This chat has ended.')}$"):
        chat_post(session=session, author=customer, body="one more thing")


def test_another_customer_cannot_end_a_chat(start_chat, customer, customer2):
    with pytest.raises(NotAllowed, match=f"^{re.escape('Only the people in this chat can end it.')}$"):
        chat_end(session=start_chat(customer), actor=customer2)
