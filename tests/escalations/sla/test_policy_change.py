"""One policy change: the API, the Django admin and the what-if "apply" all save a policy through
``sla_policy_save``, which recomputes the running clocks; the same change moves the same clocks the same way."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from escalations.models import SLAClock

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
CHANGED_AT = T0 + dt.timedelta(minutes=10)


def _via_api(client, policy):
    return client.patch(
        f"/api/sla-policies/{policy.pk}/",
        {"first_response_minutes": 30, "warn_percent": 50},
        content_type="application/json",
    )


def _via_admin(client, policy):
    form = {
        "name": policy.name,
        "plan": policy.plan_id,
        "priority": policy.priority,
        "category": "",
        "calendar": policy.calendar_id,
        "first_response_minutes": 30,
        "next_response_minutes": policy.next_response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        "warn_percent": 50,
        "pause_on_pending_customer": "on",
        "is_active": "on",
    }
    return client.post(reverse("admin:escalations_slapolicy_change", args=[policy.pk]), form)


def _via_apply(client, policy):
    form = {
        "policy": policy.pk,
        "first_response_minutes": 30,
        "warn_percent": 50,
        "start": "2026-11-01",
        "end": "2026-11-22",
        "confirm": "on",
    }
    return client.post(reverse("reports_sla_simulator"), form)


ROUTES = {"api": (_via_api, 200), "admin": (_via_admin, 302), "apply": (_via_apply, 302)}


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_policy_change_moves_the_running_clocks_the_same_way_on_every_route(
    route, always, make_policy, make_ticket, customer, admin_user, manager, login, client
):
    # given a 24x7 policy (first response 60 min, warn at 80%) and a ticket waiting for its first response since T0
    policy = make_policy(always, first=60, nxt=120, resolution=480, warn_percent=80)
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(customer)
    send, ok = ROUTES[route]
    # a manager may not change it on any route, even one let into the Django admin with the model permission
    from django.contrib.auth.models import Permission

    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    manager.user_permissions.add(Permission.objects.get(codename="change_slapolicy"))
    login(manager)
    with time_machine.travel(CHANGED_AT, tick=False):
        assert send(client, policy).status_code == 403
    client.logout()
    # when an administrator changes it to 30 minutes, warning at 50%, ten minutes in
    login(admin_user)
    with time_machine.travel(CHANGED_AT, tick=False):
        response = send(client, policy)
    # then the policy changed and the running first-response clock moved: due at T0+30, warned at T0+15
    assert response.status_code == ok, response.content[:500]
    policy.refresh_from_db()
    assert (policy.first_response_minutes, policy.warn_percent) == (30, 50)
    clocks = {c.target: c for c in SLAClock.objects.filter(ticket=ticket)}
    first = clocks["first_response"]
    assert (first.target_seconds, first.due_at, first.warn_at, first.next_check_at) == (
        30 * 60,
        T0 + dt.timedelta(minutes=30),
        T0 + dt.timedelta(minutes=15),
        T0 + dt.timedelta(minutes=15),
    )
    # and the resolution clock keeps its target but warns at the new share (50% of 480 minutes)
    resolution = clocks["resolution"]
    assert (resolution.due_at, resolution.warn_at) == (T0 + dt.timedelta(minutes=480), T0 + dt.timedelta(minutes=240))
    ticket.refresh_from_db()
    assert ticket.sla_due_at == T0 + dt.timedelta(minutes=30)
