"""A chat's warm transfer to a specialist team (through the one ``escalation_create``), the specialist joining by
accepting it (through the one ``escalation_accept``), converting a chat into a callback (through the calls'
``callback_create``), and typing both ways. Refusals are the application's errors (a clear 4xx), never a 500."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from chat.models import ChatMessage, ChatParticipant, ChatSession, ChatStatus, MessageKind
from chat.selectors import chat_is_participant, chat_staff_ids, chat_typing_names
from chat.services import (
    chat_accept,
    chat_convert_to_callback,
    chat_end,
    chat_escalate,
    chat_post,
    chat_specialist_join,
    chat_transfer_pending,
    chat_typing,
)
from escalations.models import Callback, Escalation, EscalationStatus
from escalations.services import escalation_accept
from helpdesk.errors import Conflict, Invalid, NotAllowed
from helpdesk.models import Channel, Ticket

pytestmark = pytest.mark.django_db


def exact(message: str) -> str:
    return f"^{re.escape(message)}$"


@pytest.fixture
def live_chat(start_chat, customer, agent):
    """A chat the agent took and answered."""
    session = chat_accept(session=start_chat(customer), agent=agent)
    chat_post(session=session, author=agent, body="Let me look.")
    return session


def test_escalating_a_chat_opens_its_ticket_and_the_warm_transfer(live_chat, agent, teams, frames):
    # when the agent asks the technical team to join
    escalation = chat_escalate(session=live_chat, actor=agent, team=teams["technical"], note="Gateway logs needed.")

    # then the chat's ticket exists now, with the transcript so far, and carries a caller-waiting escalation to them
    live_chat.refresh_from_db()
    ticket = live_chat.ticket
    assert (ticket.channel, ticket.customer_id) == (Channel.CHAT, live_chat.customer_id)
    assert "Let me look." in ticket.description
    assert (escalation.ticket_id, escalation.to_team, escalation.caller_waiting, escalation.status) == (
        ticket.pk,
        teams["technical"],
        True,
        EscalationStatus.OPEN,
    )
    assert escalation.ack_due_at is not None  # the accept countdown of a warm transfer
    assert "Gateway logs needed." in escalation.dossier_tried
    assert live_chat.escalation == escalation and chat_transfer_pending(live_chat)


def test_accepting_the_transfer_joins_the_specialist_who_then_reads_and_writes(
    live_chat, agent, specialist, customer, teams, frames, django_capture_on_commit_callbacks
):
    # given a chat escalated to the technical team
    escalation = chat_escalate(session=live_chat, actor=agent, team=teams["technical"])
    assert not chat_is_participant(user=specialist, session=live_chat)
    with pytest.raises(NotAllowed, match=exact("Only the people in this chat can write in it.")):
        chat_post(session=live_chat, author=specialist, body="Hello?")

    # when a specialist of that team accepts it in their inbox (the escalations' own service)
    frames.clear()
    with django_capture_on_commit_callbacks(execute=True):
        escalation_accept(escalation=escalation, actor=specialist)

    # then they are in the chat, the customer's log says so, and both staff get the frame
    live_chat.refresh_from_db()
    assert chat_staff_ids(live_chat) == sorted([agent.pk, specialist.pk])
    joined = ChatMessage.objects.get(session=live_chat, kind=MessageKind.JOINED)
    assert (joined.author, joined.from_staff) == (specialist, True)
    assert ("chat", {"chat": live_chat.pk, "change": "joined"}, tuple(sorted([agent.pk, specialist.pk]))) in frames
    assert not chat_transfer_pending(live_chat)

    # and when the specialist posts, the customer reads it and the message is staff's
    message = chat_post(session=live_chat, author=specialist, body="I have the logs open.")
    assert message.from_staff


def test_a_staff_member_outside_the_chat_can_neither_post_nor_end_it(live_chat, agent2):
    with pytest.raises(NotAllowed, match=exact("Only the people in this chat can write in it.")):
        chat_post(session=live_chat, author=agent2, body="Me too")
    with pytest.raises(NotAllowed, match=exact("Only the people in this chat can end it.")):
        chat_end(session=live_chat, actor=agent2)
    with pytest.raises(NotAllowed, match=exact("Only the people in this chat can write in it.")):
        chat_typing(session=live_chat, user=agent2)


def test_a_second_accept_of_the_transfer_is_refused_and_joins_nobody(
    live_chat, agent, specialist, teams, django_user_model
):
    # given the transfer accepted by one specialist
    from helpdesk.models import TeamMembership

    other = django_user_model.objects.create_user(username="spec2", password="x", role="specialist", first_name="Kim")
    TeamMembership.objects.create(team=teams["technical"], user=other)
    escalation = chat_escalate(session=live_chat, actor=agent, team=teams["technical"])
    escalation_accept(escalation=escalation, actor=specialist)

    # when a colleague accepts the same escalation, then it is refused, naming the winner, and they are not in
    with pytest.raises(Conflict, match=r"^Priya Shah accepted this escalation at"):
        escalation_accept(escalation=Escalation.objects.get(pk=escalation.pk), actor=other)
    assert chat_staff_ids(live_chat) == sorted([agent.pk, specialist.pk])
    assert ChatMessage.objects.filter(kind=MessageKind.JOINED).count() == 1


def test_joining_twice_changes_nothing_and_an_ended_chat_cannot_be_joined(live_chat, agent, specialist, customer):
    assert chat_specialist_join(session=live_chat, specialist=specialist) is True
    assert chat_specialist_join(session=live_chat, specialist=specialist) is False
    assert ChatParticipant.objects.filter(session=live_chat).count() == 2
    chat_end(session=live_chat, actor=customer)
    with pytest.raises(Conflict, match=exact("This chat has ended.")):
        chat_specialist_join(session=live_chat, specialist=agent)


def test_escalating_is_refused_clearly_when_it_cannot_happen(live_chat, start_chat, customer2, agent, agent2, teams):
    # not the chat's agent
    with pytest.raises(NotAllowed, match=exact("Only the chat's agent can bring in a specialist.")):
        chat_escalate(session=live_chat, actor=agent2, team=teams["technical"])
    # not a specialist team
    with pytest.raises(Invalid, match=r"^Choose a specialist \(tier 2\) team.$"):
        chat_escalate(session=live_chat, actor=agent, team=teams["frontline"])
    # a transfer already waiting
    chat_escalate(session=live_chat, actor=agent, team=teams["technical"])
    with pytest.raises(
        Conflict, match=exact("Technical was already asked to join this chat; wait for them to accept.")
    ):
        chat_escalate(session=live_chat, actor=agent, team=teams["compliance"])
    assert Escalation.objects.count() == 1
    # a waiting chat
    waiting = start_chat(customer2)
    with pytest.raises(Conflict, match=exact("Accept this chat first.")):
        chat_escalate(session=waiting, actor=agent, team=teams["technical"])


def test_ending_an_escalated_chat_writes_the_whole_transcript_on_the_same_ticket(
    live_chat, agent, specialist, customer, teams
):
    # given an escalated chat the specialist joined and spoke in
    escalation = chat_escalate(session=live_chat, actor=agent, team=teams["technical"])
    escalation_accept(escalation=escalation, actor=specialist)
    chat_post(session=live_chat, author=specialist, body="Refund issued from the gateway.")

    # when the customer ends it
    ticket = chat_end(session=live_chat, actor=customer)

    # then it is the chat's one ticket, and its description is the whole transcript, the specialist's lines included
    ticket.refresh_from_db()
    assert Ticket.objects.count() == 1 and ticket.pk == ChatSession.objects.get().ticket_id
    assert "Let me look." in ticket.description
    assert "Priya Shah (specialist) joined the chat." in ticket.description
    assert "Priya Shah: Refund issued from the gateway." in ticket.description


@override_settings(CALLBACK_WINDOW_MINUTES=60)
def test_converting_to_a_callback_ends_the_chat_into_one_ticket_and_one_callback(live_chat, agent, customer):
    # when the agent converts the chat, twice (a double submit)
    before = timezone.now()
    callback = chat_convert_to_callback(
        session=live_chat,
        actor=agent,
        reason="Needs the account owner.",
        number="+44 20 7946 0101",
        starts_in_minutes=60,
    )
    with pytest.raises(Conflict, match=exact("This chat has ended.")):
        chat_convert_to_callback(session=live_chat, actor=agent, reason="again")

    # then there is one ticket with the transcript and one callback on it, with the window promised
    live_chat.refresh_from_db()
    assert (live_chat.status, live_chat.callback) == (ChatStatus.ENDED, callback)
    assert Ticket.objects.count() == 1 and Callback.objects.count() == 1
    assert callback.ticket == live_chat.ticket and "Let me look." in live_chat.ticket.description
    assert (callback.owner, callback.number, callback.reason) == (agent, "+44 20 7946 0101", "Needs the account owner.")
    assert callback.window_start >= before + timedelta(minutes=60)
    assert callback.window_end - callback.window_start == timedelta(minutes=60)


def test_converting_is_refused_for_someone_outside_the_chat_and_for_a_bad_window(live_chat, agent, agent2):
    with pytest.raises(NotAllowed, match=exact("Only the staff in this chat can convert it into a callback.")):
        chat_convert_to_callback(session=live_chat, actor=agent2, reason="x")
    with pytest.raises(Invalid, match=exact("The window must start within a week.")):
        chat_convert_to_callback(session=live_chat, actor=agent, reason="x", starts_in_minutes=-5)
    # then nothing changed: no callback, the chat's own ticket only, and the chat still going
    live_chat.refresh_from_db()
    assert (Ticket.objects.count(), Callback.objects.count()) == (1, 0)
    assert live_chat.status == ChatStatus.ACTIVE


def test_typing_shows_to_the_other_side_and_tells_the_staff_once(
    live_chat, agent, customer, frames, django_capture_on_commit_callbacks
):
    # when the customer types twice in a row
    with django_capture_on_commit_callbacks(execute=True):
        assert chat_typing(session=live_chat, user=customer) is True
        assert chat_typing(session=live_chat, user=customer) is False

    # then the agent got one frame and sees them typing; the customer does not see themselves
    assert frames == [("chat", {"chat": live_chat.pk, "change": "typing"}, (agent.pk,))]
    live_chat = ChatSession.objects.get(pk=live_chat.pk)
    assert chat_typing_names(session=live_chat, viewer=agent) == ["Dana Reyes"]
    assert chat_typing_names(session=live_chat, viewer=customer) == []

    # when the agent types, then the customer sees it; and once the agent sends, it stops
    chat_typing(session=live_chat, user=agent)
    assert chat_typing_names(session=ChatSession.objects.get(pk=live_chat.pk), viewer=customer) == ["Alex"]
    chat_post(session=live_chat, author=agent, body="Done.")
    assert chat_typing_names(session=ChatSession.objects.get(pk=live_chat.pk), viewer=customer) == []


@override_settings(PRESENCE_TYPING_SECONDS=8)
def test_typing_goes_stale_after_the_typing_window(live_chat, agent, customer):
    chat_typing(session=live_chat, user=customer)
    ChatSession.objects.filter(pk=live_chat.pk).update(customer_typing_at=timezone.now() - timedelta(seconds=9))
    assert chat_typing_names(session=ChatSession.objects.get(pk=live_chat.pk), viewer=agent) == []


def test_typing_in_an_ended_chat_is_refused(live_chat, customer):
    chat_end(session=live_chat, actor=customer)
    with pytest.raises(Conflict, match=f"^{re.escape('This chat has ended.')}$"):
        chat_typing(session=ChatSession.objects.get(pk=live_chat.pk), user=customer)
