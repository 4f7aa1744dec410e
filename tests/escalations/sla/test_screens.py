"""The SLA panels on the agent workspace and the customer portal, and the demo seeder."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from escalations.models import Escalation, SLAClock, SLAEvent
from escalations.sla.sweep import sla_sweep
from helpdesk import services

LONDON = ZoneInfo("Europe/London")


def london(*args):
    return datetime(*args, tzinfo=LONDON)


@pytest.fixture
def sla_ticket(office, make_policy, ladder, make_ticket, customer, agent, specialist):
    make_policy(office, first=60, nxt=120, resolution=480)
    with time_machine.travel(london(2026, 11, 23, 10), tick=False):
        ticket = make_ticket(customer)
    return ticket


def test_workspace_shows_clocks_coloured_by_state_and_the_history(sla_ticket, agent, login):
    # given the first response breached and escalated at 11:30
    sla_sweep(now=london(2026, 11, 23, 11, 30))
    client = login(agent)
    # when the agent opens the ticket at 11:30
    with time_machine.travel(london(2026, 11, 23, 11, 30), tick=False):
        response = client.get(reverse("ticket_detail", args=[sla_ticket.reference]))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert '<span class="sla sla-breached">Breached · overdue by 30 min</span>' in html
    assert '<span class="sla sla-ok">On track · 6 h 30 min left</span>' in html
    assert "escalated to level 1" in html
    assert "SLA history (3)" in html  # two clocks started, one breached
    assert "Policy: enterprise normal" in html


def test_paused_and_warning_states(sla_ticket, agent, login):
    client = login(agent)
    with time_machine.travel(london(2026, 11, 23, 10, 50), tick=False):
        html = client.get(reverse("ticket_detail", args=[sla_ticket.reference])).content.decode()
        assert '<span class="sla sla-warning">Due soon · 10 min left</span>' in html
        services.ticket_reply(ticket=sla_ticket, author=agent, body="Please send the logs.")
        services.ticket_change_status(ticket=sla_ticket, actor=agent, status="pending_customer")
        html = client.get(reverse("ticket_detail", args=[sla_ticket.reference])).content.decode()
    assert '<span class="sla sla-paused">Paused · 7 h 10 min left</span>' in html
    assert '<span class="sla sla-met">Met</span>' in html


def test_customer_sees_the_promise_in_plain_words(sla_ticket, customer, login):
    client = login(customer)
    # Monday 10:05: the answer is promised for 11:00 today
    with time_machine.travel(london(2026, 11, 23, 10, 5), tick=False):
        html = client.get(reverse("ticket_detail", args=[sla_ticket.reference])).content.decode()
    assert "We promised an answer by Monday 23 November, 11:00 (Europe/London)." in html
    assert (
        "We promised a resolution by Monday 23 November, 18:00" not in html
    )  # office hours: 8 h from 10:00 is Tuesday
    assert "We promised a resolution by Tuesday 24 November, 10:00 (Europe/London)." in html
    assert "SLA history" not in html and "enterprise normal" not in html


def test_customer_is_told_when_we_are_late(sla_ticket, customer, login):
    sla_sweep(now=london(2026, 11, 23, 12))
    client = login(customer)
    with time_machine.travel(london(2026, 11, 24, 9), tick=False):
        html = client.get(reverse("ticket_detail", args=[sla_ticket.reference])).content.decode()
    assert (
        "We promised an answer by Monday 23 November, 11:00 (Europe/London) and we are running late. "
        "A senior colleague is now looking at it."
    ) in html


@pytest.mark.django_db(transaction=True, reset_sequences=True)  # see FOUNDATION_BUG in conftest
def test_demo_seeder_builds_breached_and_near_breach_clocks():
    from helpdesk.demo import seed_demo

    # when the demo is seeded twice (idempotent)
    seed_demo(password="demo-pass-1")
    counts = (SLAClock.objects.count(), SLAEvent.objects.count(), Escalation.objects.count())
    seed_demo(password="demo-pass-1")
    # then there are running, breached and warned clocks, escalations, and nothing doubled
    assert (SLAClock.objects.count(), SLAEvent.objects.count(), Escalation.objects.count()) == counts
    assert SLAClock.objects.filter(breached_at__isnull=False).exists()
    assert SLAClock.objects.filter(state="running", warned_at__isnull=False, breached_at__isnull=True).exists()
    assert Escalation.objects.filter(mode="automatic").exists()
    assert SLAClock.objects.filter(state="met").exists()


def test_queue_badges_and_manager_summary_tags(sla_ticket, manager, rf):
    from django.template import Context, Template

    from escalations.sla.selectors import sla_live_clocks_prefetch
    from helpdesk.models import Ticket

    sla_sweep(now=london(2026, 11, 23, 11, 30))
    request = rf.get("/")
    request.user = manager
    with time_machine.travel(london(2026, 11, 23, 11, 30), tick=False):
        ticket = Ticket.objects.prefetch_related(sla_live_clocks_prefetch()).get(pk=sla_ticket.pk)
        badges = Template("{% load sla_tags %}{% sla_badges ticket %}").render(Context({"ticket": ticket}))
        summary = Template("{% load sla_tags %}{% sla_manager_summary %}").render(Context({"request": request}))
    # "breaching soon" is the clock's warning window (80% of 480 business minutes: Monday 16:24), not a fixed horizon
    with time_machine.travel(london(2026, 11, 23, 16, 30), tick=False):
        later = Template("{% load sla_tags %}{% sla_manager_summary %}").render(Context({"request": request}))
    assert '<span class="sla sla-breached"' in badges and "First response: Breached · overdue by 30 min" in badges
    assert "Resolution: On track · 6 h 30 min left" in badges
    assert "<strong>1</strong> SLA breach today" in summary
    assert "Resolution due in" not in summary
    assert sla_ticket.reference in later and "Resolution due in 17\xa0hours, 30\xa0minutes" in later


@pytest.mark.parametrize("name", ["businesscalendar", "slapolicy", "teamcalendar", "slaclock", "slaevent"])
def test_admin_pages_for_sla_models(sla_ticket, admin_user, login, name):
    client = login(admin_user)
    response = client.get(reverse(f"admin:escalations_{name}_changelist"))
    assert response.status_code == 200


def test_clocks_and_history_are_read_only_in_admin(sla_ticket, admin_user, login):
    client = login(admin_user)
    clock = SLAClock.objects.filter(ticket=sla_ticket).first()
    assert client.get(reverse("admin:escalations_slaclock_add")).status_code == 403
    response = client.post(reverse("admin:escalations_slaclock_delete", args=[clock.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert SLAClock.objects.filter(pk=clock.pk).exists()
