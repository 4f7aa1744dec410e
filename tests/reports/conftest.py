"""A small hand-built data set for the metrics: seven tickets in two ISO weeks (Mon 2 Nov – Sun 15 Nov 2026), one
before and one after, built through the real helpdesk and escalation services with the clock moved.

| ticket | created        | customer (plan)       | category     | handled by | story                                              |
|--------|----------------|-----------------------|--------------|------------|----------------------------------------------------|
| T1     | Mon 2 Nov 09:00 | customer (enterprise) | billing      | agent      | 1 reply, resolved 10:00 -> first-contact resolution |
| T2     | Tue 3 Nov 09:00 | customer (enterprise) | billing      | agent      | 1 reply, resolved 10:00, customer reopens 12:00, resolved again 13:00 |
| T3     | Wed 4 Nov 09:00 | customer2 (basic)     | outage       | agent2     | reply, E1 technical 13:00, accepted 14:00, resolved 20:00, ticket resolved |
| T4     | Mon 9 Nov 10:00 | customer2 (basic)     | outage       | agent2     | reply, E2 technical 12:00 accepted 12:30 returned 13:30; E3 technical 15:00 open |
| T5     | Tue 10 Nov 10:00| customer (enterprise) | data-privacy | agent      | reply, E4 compliance 16:00 accepted 17:00; restricted, now with Compliance |
| T6     | Wed 11 Nov 09:00| customer (enterprise), phone | billing | agent2     | 2 replies, resolved 11:00                          |
| T7     | Thu 12 Nov 09:00| customer (enterprise) | billing      | nobody     | new, untouched                                     |
| T0     | Fri 30 Oct      | customer              | outage       | agent      | escalated 31 Oct (outside the period)             |
| T8     | Tue 17 Nov      | customer              | outage       | agent      | escalated 17 Nov (outside the period)             |
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine

from helpdesk import services
from helpdesk.models import Channel, Status

UTC = dt.UTC


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def dossier():
    return {
        "reason": "Needs a specialist.",
        "dossier_problem": "The problem.",
        "dossier_tried": "Restarted it.",
        "dossier_desired_outcome": "A fix.",
        "dossier_mood": "calm",
    }


@pytest.fixture
def escalate(escalate):
    """``escalate(ticket, when=, by=)``: ``by`` escalates the ticket at ``when`` through the real service; then, each
    at its moment, ``accepted=(person, moment)`` accepts it, ``returned=moment`` returns it with guidance and
    ``resolved=moment`` resolves it (and the ticket) as the person who accepted it."""
    from escalations.services import escalation_accept, escalation_resolve, escalation_return

    def make(ticket, *, when, by, escalation_type="technical", accepted=None, returned=None, resolved=None):
        with time_machine.travel(when, tick=False):
            ticket.refresh_from_db()
            escalation = escalate(ticket, by, escalation_type)
        if accepted is None:
            return escalation
        receiver, moment = accepted
        with time_machine.travel(moment, tick=False):
            escalation_accept(escalation=escalation, actor=receiver)
        if returned is not None:
            with time_machine.travel(returned, tick=False):
                escalation_return(escalation=escalation, actor=receiver, guidance="Tier 1 can do this: see the KB.")
        if resolved is not None:
            with time_machine.travel(resolved, tick=False):
                escalation_resolve(escalation=escalation, actor=receiver, summary="Fixed the cause.")
        escalation.refresh_from_db()
        return escalation

    return make


@pytest.fixture
def dataset(
    customer,
    customer2,
    agent,
    agent2,
    specialist,
    compliance_officer,
    manager,
    teams,
    make_ticket,
    escalate,
):
    def create(moment, who, **kwargs):
        with time_machine.travel(moment, tick=False):
            return make_ticket(who, **kwargs)

    def reply(ticket, moment, author, body="Looking into it."):
        with time_machine.travel(moment, tick=False):
            ticket.refresh_from_db()
            services.ticket_reply(ticket=ticket, author=author, body=body)

    def status(ticket, moment, actor, new):
        with time_machine.travel(moment, tick=False):
            ticket.refresh_from_db()
            services.ticket_change_status(ticket=ticket, actor=actor, status=new)

    t0 = create(at(30, 9, month=10), customer, category="outage", subject="T0")
    reply(t0, at(30, 10, month=10), agent)
    escalate(t0, when=at(31, 9, month=10), by=agent)

    t1 = create(at(2, 9), customer, category="billing", subject="T1")
    reply(t1, at(2, 9, 30), agent)
    status(t1, at(2, 10), agent, Status.RESOLVED)

    t2 = create(at(3, 9), customer, category="billing", subject="T2")
    reply(t2, at(3, 9, 30), agent)
    status(t2, at(3, 10), agent, Status.RESOLVED)
    reply(t2, at(3, 12), customer, body="Still broken.")  # reopens: resolved -> open
    status(t2, at(3, 13), agent, Status.RESOLVED)

    t3 = create(at(4, 9), customer2, category="outage", subject="T3")
    reply(t3, at(4, 10), agent2)
    escalate(t3, when=at(4, 13), by=agent2, accepted=(specialist, at(4, 14)), resolved=at(4, 20))

    t4 = create(at(9, 10), customer2, category="outage", subject="T4")
    reply(t4, at(9, 11), agent2)
    escalate(t4, when=at(9, 12), by=agent2, accepted=(specialist, at(9, 12, 30)), returned=at(9, 13, 30))
    escalate(t4, when=at(9, 15), by=agent2)

    t5 = create(at(10, 10), customer, category="data-privacy", subject="T5 restricted")
    reply(t5, at(10, 11), agent)
    # the compliance escalation restricts T5 to the Compliance team, where the compliance officer accepts it
    escalate(
        t5,
        when=at(10, 16),
        by=agent,
        escalation_type="compliance",
        accepted=(compliance_officer, at(10, 17)),
    )

    t6 = create(at(11, 9), customer, category="billing", subject="T6", channel=Channel.PHONE)
    reply(t6, at(11, 9, 30), agent2)
    reply(t6, at(11, 10), agent2, body="Try this instead.")
    status(t6, at(11, 11), agent2, Status.RESOLVED)

    t7 = create(at(12, 9), customer, category="billing", subject="T7")

    t8 = create(at(17, 9), customer, category="outage", subject="T8")
    reply(t8, at(17, 10), agent)
    escalate(t8, when=at(17, 11), by=agent)

    return SimpleNamespace(t0=t0, t1=t1, t2=t2, t3=t3, t4=t4, t5=t5, t6=t6, t7=t7, t8=t8)
