"""Push to customers (helpdesk/live/): a signed-in customer's stream carries a bare "this ticket changed" frame for an
event they may see on a ticket they may see, and nothing else; and the portal timeline and the push decide "may see"
by one rule (``CUSTOMER_EVENT_KINDS`` / ``TicketEvent.customer_may_see``)."""

from __future__ import annotations

import json

import pytest

from helpdesk.events import event_record
from helpdesk.live import LiveMessage, broker
from helpdesk.live import publish as live_publish_module
from helpdesk.live.receivers import customer_ticket_frame
from helpdesk.models import CUSTOMER_EVENT_KINDS, EventKind, Role, Status, Ticket, User
from helpdesk.selectors import ticket_events_visible_to
from helpdesk.services import ticket_add_internal_note, ticket_change_status, ticket_reply


@pytest.fixture
def colleague(org):
    """Another contact of Dana's organisation: shares its ordinary tickets, never a restricted one Dana raised."""
    return User.objects.create_user(
        username="colleague", password="pw-colleague", role=Role.CUSTOMER, organization=org, first_name="Kim"
    )


@pytest.fixture
def published(monkeypatch):
    """Every message ``live_publish`` hands to the publisher thread (after commit)."""
    messages: list[LiveMessage] = []
    monkeypatch.setattr(live_publish_module.live_publisher, "submit", messages.extend)
    return messages


def test_the_portal_timeline_and_the_push_share_one_rule(make_ticket, customer, agent):
    # given a ticket with events of every sort: public and internal, customer kinds and staff-only kinds, and a
    # staff-only kind written public by mistake
    ticket = make_ticket(customer, subject="Charged twice")
    ticket_reply(ticket=ticket, author=agent, body="We are refunding the duplicate.")
    ticket_add_internal_note(ticket=ticket, author=agent, body="Card ends 4242; bank says fraud flag.")
    ticket_change_status(ticket=ticket, actor=agent, status=Status.PENDING_CUSTOMER)
    event_record(ticket=ticket, kind=EventKind.RISK, actor=None, is_public=True, body="Risk 0.91: angry words.")
    event_record(ticket=ticket, kind=EventKind.SURVEY, actor=None, is_public=False, body="Survey answered: CSAT 1/5")
    events = list(ticket.events.all())
    assert {event.kind for event in events} >= {"agent_reply", "internal_note", "status_changed", "risk", "survey"}

    # when the portal lists the customer's timeline and the push decides which events reach the customer
    timeline = {event.pk for event in ticket_events_visible_to(user=customer, ticket=ticket)}
    pushed = {event.pk for event in events if customer_ticket_frame(event=event, ticket=ticket) is not None}

    # then they are the same events: public ones of a customer kind, whatever else was written
    assert timeline == pushed
    assert {event.kind for event in events if event.pk in pushed} == {"created", "agent_reply", "status_changed"}
    assert all(event.kind in CUSTOMER_EVENT_KINDS and event.is_public for event in events if event.pk in pushed)
    assert EventKind.INTERNAL_NOTE not in CUSTOMER_EVENT_KINDS
    assert EventKind.RISK not in CUSTOMER_EVENT_KINDS


def test_a_customer_gets_a_bare_frame_for_a_public_reply_and_none_for_a_note_or_anothers_ticket(
    make_ticket,
    customer,
    customer2,
    colleague,
    agent,
    manager,
    monkeypatch,
    published,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    # given Dana's ticket, a restricted one Dana raised, and Sam's (another organisation), and everyone online
    mine = make_ticket(customer, subject="Charged twice")
    restricted = make_ticket(customer, subject="Erase my data")
    Ticket.objects.filter(pk=restricted.pk).update(restricted=True)
    restricted.refresh_from_db()
    theirs = make_ticket(customer2, subject="Router offline")
    online = [customer, customer2, colleague, agent, manager]
    monkeypatch.setattr(broker, "online_user_ids", lambda **kwargs: [user.pk for user in online])

    # when staff reply publicly to Dana, add an internal note on her ticket, and reply to Sam and on the restricted one
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=mine, author=agent, body="We are refunding the duplicate charge of GBP 40.")
        ticket_add_internal_note(ticket=mine, author=agent, body="Card ends 4242; fraud flag on the account.")
        ticket_reply(ticket=theirs, author=agent, body="Please restart the router.")
        ticket_reply(ticket=restricted, author=manager, body="We erased your data.")
    with django_assert_max_num_queries(6):  # users, the tickets' owners, teams, the rule, two unread counts
        deliveries = live_publish_module.live_deliveries(published)

    # then Dana receives a bare frame for each reply on her tickets (and not for the note), her colleague only for the
    # ordinary one, and Sam only for his; no customer frame names an actor or carries a word of staff text
    frames: dict[str, list[dict]] = {user.username: [] for user in online}
    names = {user.pk: user.username for user in online}
    for user_id, data in deliveries:
        frames[names[user_id]].append(json.loads(data))
    ticket_frames = {name: [f for f in got if f["kind"] == "ticket"] for name, got in frames.items()}
    # (a first staff reply also opens a new ticket: a status change the customer sees too)
    said = {name: {(f["ticket"], f["event"]) for f in got} for name, got in ticket_frames.items()}
    public = {"agent_reply", "status_changed"}
    assert said["customer"] == {(t.reference, kind) for t in (mine, restricted) for kind in public}
    assert said["colleague"] == {(mine.reference, kind) for kind in public}
    assert said["customer2"] == {(theirs.reference, kind) for kind in public}
    for name in ("customer", "colleague", "customer2"):
        assert all(f["kind"] == "ticket" for f in frames[name])  # no notification, presence or other staff kind
        for frame in frames[name]:
            assert set(frame) == {"kind", "ticket", "event", "event_id", "at"}
        wire = str(frames[name])
        for staff_text in ("refunding", "4242", "restart", "erased", "Alex", "internal_note", "Morgan"):
            assert staff_text not in wire
    # and staff still get the full frames, the note included (the agent is in the restricted ticket's team)
    assert said["agent"] == {(t.reference, kind) for t in (mine, theirs, restricted) for kind in public} | {
        (mine.reference, "internal_note")
    }
