import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from helpdesk import services
from helpdesk.models import EventKind, Status, Ticket, TicketEvent


def test_ticket_reference_is_human_and_unique(customer, make_ticket):
    first = make_ticket(customer)
    second = make_ticket(customer)
    assert first.reference != second.reference
    assert first.reference == f"HD-{first.created_at.year}-{first.pk:06d}"


def test_ticket_create_requires_subject_and_description(customer, teams):
    with pytest.raises(ValidationError) as exc:
        services.ticket_create(customer=customer, subject="  ", description="")
    assert exc.value.message_dict == {
        "subject": ["Please give the request a subject."],
        "description": ["Please describe the problem."],
    }
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ([Status.OPEN, Status.PENDING_CUSTOMER, Status.OPEN, Status.RESOLVED, Status.CLOSED], Status.CLOSED),
        ([Status.RESOLVED, Status.OPEN], Status.OPEN),
        ([Status.PENDING_THIRD_PARTY, Status.RESOLVED], Status.RESOLVED),
    ],
)
def test_legal_status_paths(customer, agent, make_ticket, path, expected):
    ticket = make_ticket(customer)
    for status in path:
        services.ticket_change_status(ticket=ticket, actor=agent, status=status)
    ticket.refresh_from_db()
    assert ticket.status == expected
    assert ticket.events.filter(kind=EventKind.STATUS_CHANGED).count() == len(path)


@pytest.mark.parametrize(
    ("setup", "target", "message"),
    [
        ([Status.RESOLVED, Status.CLOSED], Status.OPEN, "A ticket cannot go from “Closed” to “Open”."),
        ([], Status.CLOSED, "A ticket cannot go from “New” to “Closed”."),
        ([Status.OPEN], Status.NEW, "A ticket cannot go from “Open” to “New”."),
        ([Status.RESOLVED], Status.PENDING_CUSTOMER, "A ticket cannot go from “Resolved” to “Waiting on customer”."),
    ],
)
def test_illegal_transitions_are_clear_errors_and_change_nothing(customer, agent, make_ticket, setup, target, message):
    # given a ticket in some state
    ticket = make_ticket(customer)
    for status in setup:
        services.ticket_change_status(ticket=ticket, actor=agent, status=status)
    ticket.refresh_from_db()
    before = (ticket.status, ticket.version, ticket.events.count())
    # when an illegal move is attempted
    with pytest.raises(services.InvalidTransition) as exc:
        services.ticket_change_status(ticket=ticket, actor=agent, status=target)
    # then the error says so in words and nothing changed
    assert exc.value.messages == [message]
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version, ticket.events.count()) == before


def test_unknown_status_is_refused(customer, agent, make_ticket):
    ticket = make_ticket(customer)
    with pytest.raises(services.InvalidTransition) as exc:
        services.ticket_change_status(ticket=ticket, actor=agent, status="exploded")
    assert exc.value.messages == ["Unknown status 'exploded'."]


def test_customer_cannot_change_status(customer, make_ticket):
    ticket = make_ticket(customer)
    with pytest.raises(PermissionDenied):
        services.ticket_change_status(ticket=ticket, actor=customer, status=Status.RESOLVED)


def test_stale_edit_is_a_conflict_and_overwrites_nothing(customer, agent, agent2, make_ticket, categories):
    # given two agents who loaded the ticket at version v
    ticket = make_ticket(customer)
    seen_version = ticket.version
    first_view = Ticket.objects.get(pk=ticket.pk)
    second_view = Ticket.objects.get(pk=ticket.pk)
    # when the first saves a priority change and the second then saves with the version they saw
    services.ticket_change_priority(ticket=first_view, actor=agent, priority="urgent", expected_version=seen_version)
    with pytest.raises(services.TicketConflict) as exc:
        services.ticket_update(
            ticket=second_view,
            actor=agent2,
            expected_version=seen_version,
            status=Status.OPEN,
            priority="low",
            category=categories["outage"],
            team=None,
            assignee=None,
        )
    # then the second gets a clear message naming who changed it, and the first agent's change stands
    assert str(exc.value) == (
        "This ticket was changed by Alex Morgan while you were editing it. "
        "Nothing of yours was saved: review the current state and try again."
    )
    assert exc.value.ticket.priority == "urgent"
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.status, ticket.category.slug) == ("urgent", Status.NEW, "billing")
    assert ticket.version == seen_version + 1


def test_customer_reply_reopens_resolved_ticket(customer, agent, make_ticket):
    ticket = make_ticket(customer)
    services.ticket_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
    services.ticket_reply(ticket=ticket, author=customer, body="Still broken")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.resolved_at is None


def test_internal_note_is_not_public_and_replies_are(customer, agent, make_ticket):
    ticket = make_ticket(customer)
    note = services.ticket_add_internal_note(ticket=ticket, author=agent, body="VIP")
    reply = services.ticket_reply(ticket=ticket, author=agent, body="On it")
    assert (note.kind, note.is_public) == (EventKind.INTERNAL_NOTE, False)
    assert (reply.kind, reply.is_public) == (EventKind.AGENT_REPLY, True)


def test_events_are_append_only(customer, make_ticket):
    ticket = make_ticket(customer)
    event = ticket.events.get()
    event.body = "rewritten history"
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    with pytest.raises(TypeError, match="append-only"):
        TicketEvent.objects.filter(pk=event.pk).update(body="x")
    with pytest.raises(TypeError, match="append-only"):
        TicketEvent.objects.filter(pk=event.pk).delete()
    assert TicketEvent.objects.get(pk=event.pk).body == "It is on fire."


def test_registered_status_guard_refuses_with_its_message(customer, agent, make_ticket):
    from helpdesk import guards

    def no_resolving_on_fridays(*, ticket, status, actor):
        if status == Status.RESOLVED:
            raise ValidationError("Not today.")

    ticket = make_ticket(customer)
    guards.status_guard_register(name="test-guard", guard=no_resolving_on_fridays)
    try:
        with pytest.raises(ValidationError) as exc:
            services.ticket_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
        assert exc.value.messages == ["Not today."]
        ticket.refresh_from_db()
        assert (ticket.status, ticket.version) == (Status.NEW, 1)
    finally:
        guards._GUARDS.pop("test-guard")


def test_a_colleagues_note_does_not_make_a_pending_reply_conflict(customer, agent, agent2, make_ticket):
    # given an agent who opened the ticket at version v
    ticket = make_ticket(customer)
    seen = ticket.version
    # when a colleague adds an internal note, and the agent then replies with the version they saw
    services.ticket_add_internal_note(ticket=ticket, author=agent2, body="FYI: VIP")
    services.ticket_reply(ticket=ticket, author=agent, body="On it", expected_version=seen)
    # then the reply went through
    assert ticket.events.filter(kind=EventKind.AGENT_REPLY, body="On it").exists()


def test_status_guards_run_once_per_change(customer, agent, make_ticket, monkeypatch):
    from helpdesk import guards

    calls = []
    monkeypatch.setattr(guards, "_GUARDS", {"count": lambda *, ticket, status, actor: calls.append(status)})
    ticket = make_ticket(customer)
    services.ticket_change_status(ticket=ticket, actor=agent, status=Status.OPEN)
    services.ticket_update(
        ticket=ticket,
        actor=agent,
        expected_version=ticket.version,
        status=Status.RESOLVED,
        priority=ticket.priority,
        category=ticket.category,
        team=ticket.team,
        assignee=ticket.assignee,
    )
    assert calls == [Status.OPEN, Status.RESOLVED]
