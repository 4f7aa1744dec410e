"""Linked tickets' SLA clocks pause while the incident is acknowledged, through the SLA engine's one pause rule (the
ticket's status is one of the policy's pause statuses): with the policy's "pause on waiting on third party" on they
pause and resume with the resolution; with it off they keep running."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from escalations.models import BusinessCalendar, ClockState, ClockTarget, SLAClock, SLAPolicy
from incidents.models import IncidentResolution, IncidentStatus
from incidents.services import incident_link_tickets, incident_resolve, incident_update_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy(plans):
    def make(*, pause_on_pending_third_party):
        calendar = BusinessCalendar.objects.create(name="Always", timezone="UTC", is_24x7=True)
        return SLAPolicy.objects.create(
            name="Enterprise normal",
            plan=plans["enterprise"],
            priority="normal",
            calendar=calendar,
            first_response_minutes=60,
            next_response_minutes=120,
            resolution_minutes=480,
            pause_on_pending_third_party=pause_on_pending_third_party,
        )

    return make


def _resolution_clock(ticket):
    return SLAClock.objects.get(ticket=ticket, target=ClockTarget.RESOLUTION)


@pytest.mark.parametrize(("pause_option", "held_state"), [(True, ClockState.PAUSED), (False, ClockState.RUNNING)])
def test_acknowledging_pauses_the_clocks_only_when_the_policy_says_so(
    pause_option, held_state, policy, declare, manager, customer, make_ticket
):
    # given
    policy(pause_on_pending_third_party=pause_option)
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        ticket = make_ticket(customer, subject="Dashboard blank", category="outage")
        incident = declare()
        incident_link_tickets(incident=incident, tickets=[ticket], actor=manager)
    assert _resolution_clock(ticket).state == ClockState.RUNNING

    # when: acknowledged after 10 minutes, resolved (tickets returned) an hour later
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        incident_update_post(incident=incident, actor=manager, message="Found it.", status=IncidentStatus.IDENTIFIED)
    during = _resolution_clock(ticket)
    with time_machine.travel(start + timedelta(minutes=70), tick=False):
        incident_resolve(incident=incident, actor=manager, resolution=IncidentResolution.RETURN)
    after = _resolution_clock(ticket)

    # then
    assert during.state == held_state
    assert after.state == ClockState.RUNNING
    if pause_option:
        # the hour under the incident did not count: due 8 h after creation plus the 60 paused minutes
        assert after.due_at == start + timedelta(minutes=480 + 60)
    else:
        assert after.due_at == start + timedelta(minutes=480)
