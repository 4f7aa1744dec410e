"""One definition of "SLA warning": the policy's warn %. The sweep, the queue badge and the dashboard's
"breaching soon" agree on whether a ticket is inside its warning window."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from escalations.sla.selectors import sla_breaching_soon
from escalations.sla.sweep import sla_sweep
from helpdesk.models import Ticket
from reports.dashboard import needs_attention

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("minutes", "inside"),
    [
        (100, False),  # 100 of 480 minutes used: before the 50% warning point, although due within 6 h 20 min
        (250, True),  # past 50% (240 min): inside the window, although still due in almost 4 hours
        (479, True),
    ],
)
def test_queue_badge_dashboard_and_sweep_agree_on_the_warning_window(
    minutes, inside, always, make_policy, make_ticket, customer, agent, manager, login, client
):
    # given an 8-hour resolution target that warns at 50% (no response targets)
    make_policy(always, first=None, nxt=None, resolution=480, warn_percent=50)
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(customer)
    now = T0 + dt.timedelta(minutes=minutes)
    # when the sweep runs and the agent opens the queue and the manager the dashboard's attention panel
    result = sla_sweep(now=now)
    login(agent)
    with time_machine.travel(now, tick=False):
        queue = client.get(reverse("ticket_list"), {"scope": "all"}).content.decode()
    attention = needs_attention(viewer=manager, now=now)
    # then all of them say the same
    badge = 'class="sla sla-warning"' in queue
    on_dashboard = ticket in attention["breaching"]
    assert (badge, on_dashboard, result.warned == 1) == (inside, inside, inside)
    assert (ticket.pk in Ticket.objects.sla_warning(now).values_list("pk", flat=True)) is inside
    assert bool(list(sla_breaching_soon(user=manager, now=now))) is inside
    assert 'class="sla sla-ok"' in queue or inside
