"""The SLA what-if simulator on three real tickets, built through the real services with the SLA engine running.

Policy "Enterprise normal", 24x7 UTC: first response 60 min, next response 60 min, resolution 240 min, warn at 80%,
paused while pending the customer. Monday 2 Nov 2026:

| ticket | created | story                                                                     | FR    | resolution |
|--------|---------|---------------------------------------------------------------------------|-------|------------|
| A      | 09:00   | agent replies 09:30, resolves 11:30                                       | 30 m  | 150 m      |
| B      | 10:00   | agent replies 10:50, pending customer 11:00, customer replies 14:00,      | 50 m  | 60 + 90 =  |
|        |         | agent replies 14:20 (next response 20 m), resolves 15:30                  |       | 150 m      |
| C      | 12:00   | agent replies 13:30, resolves 17:00                                       | 90 m  | 300 m      |

The sweep runs just after each warning (80%: B's first response 10:48, C's first response 12:48 and resolution 15:12)
and each deadline (C's first response 13:00, resolution 16:00), as the every-minute sweep would: 10:49, 12:49, 13:10,
15:13 and 16:10.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from escalations.models import BusinessCalendar, Escalation, SLAClock, SLAEvent, SLAPolicy
from escalations.sla.sweep import sla_sweep
from helpdesk import services
from helpdesk.models import Status, Ticket, TicketEvent
from reports import simulator
from reports.simulator import Draft
from tests.reports.conftest import at

START, END, NOW = at(2, 0), at(3, 0), at(4, 0)


@pytest.fixture
def replayed(customer, agent, plans, make_ticket, monkeypatch):
    from helpdesk import guards

    monkeypatch.setattr(guards, "_GUARDS", {})
    calendar = BusinessCalendar.objects.create(name="Always", timezone="UTC", is_24x7=True)
    policy = SLAPolicy.objects.create(
        name="Enterprise normal",
        plan=plans["enterprise"],
        priority="normal",
        calendar=calendar,
        first_response_minutes=60,
        next_response_minutes=60,
        resolution_minutes=240,
        warn_percent=80,
    )
    steps = []

    def create(subject, moment):
        with time_machine.travel(moment, tick=False):
            return make_ticket(customer, subject=subject, priority="normal")

    def reply(ticket, moment, author):
        steps.append((moment, lambda: services.ticket_reply(ticket=_fresh(ticket), author=author, body="Hello.")))

    def status(ticket, moment, new):
        steps.append((moment, lambda: services.ticket_change_status(ticket=_fresh(ticket), actor=agent, status=new)))

    def sweep(moment):
        steps.append((moment, lambda: sla_sweep(now=moment)))

    a = create("A", at(2, 9))
    b = create("B", at(2, 10))
    c = create("C", at(2, 12))
    reply(a, at(2, 9, 30), agent)
    status(a, at(2, 11, 30), Status.RESOLVED)
    reply(b, at(2, 10, 50), agent)
    status(b, at(2, 11), Status.PENDING_CUSTOMER)
    reply(b, at(2, 14), customer)
    reply(b, at(2, 14, 20), agent)
    status(b, at(2, 15, 30), Status.RESOLVED)
    reply(c, at(2, 13, 30), agent)
    status(c, at(2, 17), Status.RESOLVED)
    for moment in (at(2, 10, 49), at(2, 12, 49), at(2, 13, 10), at(2, 15, 13)):
        sweep(moment)
    sweep(at(2, 16, 10))
    for moment, step in sorted(steps, key=lambda s: s[0]):
        with time_machine.travel(moment, tick=False):
            step()
    return policy, calendar, a, b, c


def _fresh(ticket):
    ticket.refresh_from_db()
    return ticket


def _counts():
    return {
        model.__name__: model.objects.count()
        for model in (Ticket, TicketEvent, SLAClock, SLAEvent, SLAPolicy, Escalation)
    }


def test_the_data_set_really_breached_what_the_table_says(replayed):
    *_, b, _c = replayed
    breached = set(SLAClock.objects.filter(breached_at__isnull=False).values_list("ticket__subject", "target"))
    assert breached == {("C", "first_response"), ("C", "resolution")}
    assert SLAClock.objects.filter(ticket=b, target="next_response", state="met").count() == 1


def test_replaying_the_current_policy_reproduces_what_happened(replayed, manager):
    policy, *_ = replayed
    # when the current policy is replayed unchanged
    result = simulator.simulate(draft=Draft(policy_id=policy.pk), start=START, end=END, viewer=manager, now=NOW)
    # then every ticket's outcome is the real one
    assert result.tickets == 3
    assert result.changed_count == 0 and result.changed == []
    assert (result.total.actual_breaches, result.total.simulated_breaches) == (2, 2)
    assert (result.total.actual_escalated, result.total.simulated_escalated) == (1, 1)
    assert {t: (v.actual_breaches, v.simulated_breaches) for t, v in result.by_target.items()} == {
        "first_response": (1, 1),
        "next_response": (0, 0),
        "resolution": (1, 1),
    }
    # and the warnings too: B's and C's first response, C's resolution
    assert {t: (v.actual_warned, v.simulated_warned) for t, v in result.by_target.items()} == {
        "first_response": (2, 2),
        "next_response": (0, 0),
        "resolution": (1, 1),
    }


def test_warning_earlier_warns_more_but_breaches_nothing_new(replayed, manager):
    policy, *_ = replayed
    # when the warning comes at 50% instead of 80%
    result = simulator.simulate(
        draft=Draft(policy_id=policy.pk, warn_percent=50), start=START, end=END, viewer=manager, now=NOW
    )
    # then A warns on first response (30 of 60 min) and resolution (150 of 240), B on resolution (150 of 240) too;
    # B's next response (20 of 60) still does not
    assert {t: (v.actual_warned, v.simulated_warned) for t, v in result.by_target.items()} == {
        "first_response": (2, 3),
        "next_response": (0, 0),
        "resolution": (1, 3),
    }
    assert result.changed_count == 0


def test_a_tighter_policy_produces_the_hand_computed_extra_breaches_and_writes_nothing(replayed, manager):
    policy, *_ = replayed
    before = _counts()
    # when first response is tightened to 45 min and resolution to 120 min
    draft = Draft(policy_id=policy.pk, first_response_minutes=45, resolution_minutes=120)
    result = simulator.simulate(draft=draft, start=START, end=END, viewer=manager, now=NOW)
    # then A breaches resolution (150 > 120), B first response (50 > 45) and resolution (150 > 120); C as before
    assert {t: (v.actual_breaches, v.simulated_breaches) for t, v in result.by_target.items()} == {
        "first_response": (1, 2),
        "next_response": (0, 0),
        "resolution": (1, 3),
    }
    assert (result.total.actual_breaches, result.total.simulated_breaches, result.total.change) == (2, 5, 3)
    # three tickets would have been escalated instead of one, all in Frontline on the Enterprise plan
    assert (result.total.actual_escalated, result.total.simulated_escalated) == (1, 3)
    assert {k: (v.actual_breaches, v.simulated_breaches) for k, v in result.by_plan.items()} == {"Enterprise": (2, 5)}
    assert [(c.subject, c.changes) for c in result.changed] == [
        ("A", [("Resolution", False, True)]),
        ("B", [("First response", False, True), ("Resolution", False, True)]),
    ]
    assert "first response 60 → 45 min; resolution 240 → 120 min" in result.description
    # and nothing was written to live data
    assert _counts() == before


def test_the_pause_while_pending_the_customer_counts(replayed, manager):
    policy, *_ = replayed
    # given a resolution target of 140 min: B used 150 business minutes (the three-hour pause does not count)
    draft = Draft(policy_id=policy.pk, resolution_minutes=140)
    result = simulator.simulate(draft=draft, start=START, end=END, viewer=manager, now=NOW)
    # then A (150) and B (150) breach; with the pause counted B would have used 330
    assert [c.subject for c in result.changed] == ["A", "B"]


def test_a_calendar_change_replays_in_the_new_working_hours(replayed, manager):
    from escalations.models import WorkingInterval

    _policy, always, *_ = replayed
    # given an office calendar, Monday 09:00-12:00 only (UTC)
    office = BusinessCalendar.objects.create(name="Mornings", timezone="UTC")
    WorkingInterval.objects.create(calendar=office, weekday=0, start=dt.time(9), end=dt.time(12))
    # when every policy on "Always" would use it
    draft = Draft(replace_calendar_id=always.pk, calendar_id=office.pk)
    result = simulator.simulate(draft=draft, start=START, end=END, viewer=manager, now=NOW)
    # then C, created at 12:00 after hours, used no business time at all: neither target breaches any more
    # (A: FR 30 m, resolution 150 m; B: FR 50 m, resolution 11:00-12:00 = 60 m; all within target as before)
    assert [(c.subject, c.changes) for c in result.changed] == [
        ("C", [("First response", True, False), ("Resolution", True, False)])
    ]
    assert result.total.simulated_breaches == 0


def test_the_simulator_screen_and_applying_a_draft(replayed, client, login, manager, admin_user):
    policy, *_ = replayed
    params = {
        "policy": policy.pk,
        "first_response_minutes": 45,
        "resolution_minutes": 120,
        "start": "2026-11-02",
        "end": "2026-11-02",
    }
    url = reverse("reports_sla_simulator")
    login(manager)
    with time_machine.travel(NOW, tick=False):
        page = client.get(url, params).content.decode()
    assert "Would have breached" in page
    assert a_ref(replayed[2]) in page and a_ref(replayed[3]) in page
    # a manager cannot apply the draft
    assert client.post(url, {**params, "confirm": "on"}).status_code == 403
    client.logout()
    login(admin_user)
    # an admin must confirm
    response = client.post(url, params)
    assert response.status_code == 200
    assert "Tick the box to confirm that the live SLA policy changes." in response.content.decode()
    policy.refresh_from_db()
    assert (policy.first_response_minutes, policy.resolution_minutes) == (60, 240)
    # and, confirmed, the live policy changes
    response = client.post(url, {**params, "confirm": "on"})
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.first_response_minutes, policy.resolution_minutes) == (45, 120)


def a_ref(ticket):
    return ticket.reference


def test_the_replay_reads_in_batches_of_a_constant_number_of_queries(replayed, manager):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    policy, *_ = replayed
    counts = {}
    for size in (1, 2, 3):
        with CaptureQueriesContext(connection) as queries:
            result = simulator.simulate(
                draft=Draft(policy_id=policy.pk), start=START, end=END, viewer=manager, now=NOW, batch_size=size
            )
        counts[size] = (result.batches, len(queries))
    # three tickets: 3, 2 and 1 batches; each batch costs three queries (tickets, events, clock outcomes), plus the
    # policies and calendars (4 queries) and the final empty page of tickets
    assert counts == {1: (3, 4 + 3 * 3 + 1), 2: (2, 4 + 3 * 2 + 1), 3: (1, 4 + 3 * 1 + 1)}


def test_applying_a_draft_recomputes_the_live_clocks(replayed, customer, make_ticket, admin_user, manager):
    from django.core.exceptions import PermissionDenied, ValidationError

    from reports.services import sla_draft_apply

    policy, *_ = replayed
    # given a ticket still waiting for its first response
    with time_machine.travel(NOW, tick=False):
        waiting = make_ticket(customer, subject="D", priority="normal")
    draft = Draft(policy_id=policy.pk, first_response_minutes=45)
    # a manager may not apply, nor an admin without confirming
    with pytest.raises(PermissionDenied):
        sla_draft_apply(draft=draft, actor=manager, confirmed=True)
    with pytest.raises(ValidationError):
        sla_draft_apply(draft=draft, actor=admin_user, confirmed=False)
    # when an admin applies it, confirmed
    sla_draft_apply(draft=draft, actor=admin_user, confirmed=True, now=NOW + dt.timedelta(minutes=10))
    # then the policy and the waiting ticket's live first-response clock use the new target
    policy.refresh_from_db()
    assert policy.first_response_minutes == 45
    clock = SLAClock.objects.get(ticket=waiting, target="first_response")
    assert clock.target_seconds == 45 * 60
    assert clock.due_at == NOW + dt.timedelta(minutes=45)


def test_a_customer_reopening_a_closed_ticket_replays_as_it_happened(customer, agent, plans, make_ticket, manager):
    # given ticket D: resolved after 60 min, closed, reopened by the customer's reply at 11:00 and never resolved
    # again, so its resolution clock resumes with 60 min used and breaches at 14:00 (240 min)
    from helpdesk import guards

    calendar = BusinessCalendar.objects.create(name="Always", timezone="UTC", is_24x7=True)
    policy = SLAPolicy.objects.create(
        name="Enterprise normal",
        plan=plans["enterprise"],
        priority="normal",
        calendar=calendar,
        first_response_minutes=60,
        resolution_minutes=240,
        warn_percent=80,
    )
    with time_machine.travel(at(2, 9), tick=False):
        d = make_ticket(customer, subject="D", priority="normal")
    steps = [
        (at(2, 9, 30), lambda: services.ticket_reply(ticket=_fresh(d), author=agent, body="Hello.")),
        (at(2, 10), lambda: services.ticket_change_status(ticket=_fresh(d), actor=agent, status=Status.RESOLVED)),
        (at(2, 10, 5), lambda: services.ticket_change_status(ticket=_fresh(d), actor=agent, status=Status.CLOSED)),
        (at(2, 11), lambda: services.ticket_reply(ticket=_fresh(d), author=customer, body="Still broken.")),
        (at(2, 14, 10), lambda: sla_sweep(now=at(2, 14, 10))),
    ]
    assert guards._GUARDS  # the real guards run on the reopening
    for moment, step in steps:
        with time_machine.travel(moment, tick=False):
            step()
    assert _fresh(d).status == Status.OPEN
    assert SLAClock.objects.get(ticket=d, target="resolution").breached_at == at(2, 14)
    # when the current policy is replayed
    result = simulator.simulate(draft=Draft(policy_id=policy.pk), start=START, end=END, viewer=manager, now=NOW)
    # then the simulator agrees with the live engine
    assert result.changed_count == 0
    assert (result.total.actual_breaches, result.total.simulated_breaches) == (1, 1)
