"""``escalations.bulk._unsaved``: the sweep's fast constructor builds what ``Model(**values)`` builds."""

from __future__ import annotations

import time_machine
from django.utils import timezone

from escalations.bulk import _unsaved
from escalations.models import SLAClock, SLAEvent
from helpdesk.models import EventKind, TicketEvent


def _same(a, b) -> None:
    def plain(obj):
        return {k: v for k, v in obj.__dict__.items() if k != "_state"}

    assert plain(a) == plain(b)
    assert (a._state.adding, a._state.db) == (b._state.adding, b._state.db)
    assert a._state.fields_cache == b._state.fields_cache


def test_an_unsaved_event_equals_the_constructors(make_ticket, customer, agent):
    ticket = make_ticket(customer)
    now = timezone.now()
    values = {
        "ticket": ticket,
        "actor": agent,
        "kind": EventKind.SLA,
        "is_public": False,
        "body": "x",
        "created_at": now,
    }
    _same(_unsaved(TicketEvent, **values), TicketEvent(**values))
    _same(_unsaved(TicketEvent, **values | {"actor": None}), TicketEvent(**values | {"actor": None}))
    # each instance gets its own default JSON value, as the constructor gives
    first, second = _unsaved(TicketEvent, ticket=ticket), _unsaved(TicketEvent, ticket=ticket)
    assert first.data == TicketEvent(ticket=ticket).data and first.data is not second.data
    assert first.ticket is ticket


def test_an_unsaved_history_row_equals_the_constructors(make_ticket, customer):
    ticket = make_ticket(customer)
    clock = SLAClock.objects.filter(ticket=ticket).first()
    values = {"clock": clock, "ticket_id": ticket.pk, "kind": "breached", "at": timezone.now(), "detail": "d"}
    with time_machine.travel(timezone.now(), tick=False):  # the default ``created_at`` is the same moment for both
        _same(_unsaved(SLAEvent, **values), SLAEvent(**values))
