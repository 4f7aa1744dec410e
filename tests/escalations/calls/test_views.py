"""The call panel, the escalate form pre-filled from call notes, my callbacks, the queue banner and the inbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from escalations.calls.services import callback_create
from escalations.forms import dossier_from_notes
from escalations.models import Call, Callback, CallbackStatus

pytestmark = pytest.mark.django_db

NOTES = "Internet drops every ten minutes.\nTried: rebooted the router\nWants: a stable line today\nMood: angry"


def test_dossier_from_notes_splits_prefixed_lines():
    # when
    fields = dossier_from_notes(NOTES)
    # then
    assert fields == {
        "dossier_problem": "Internet drops every ten minutes.",
        "dossier_tried": "rebooted the router",
        "dossier_desired_outcome": "a stable line today",
        "dossier_mood": "angry",
    }


def test_call_panel_starts_a_call_on_request(make_ticket, customer, agent, login):
    # given
    ticket = make_ticket(customer)
    client = login(agent)
    # when
    closed = client.get(f"/tickets/{ticket.reference}/")
    opened = client.get(f"/tickets/{ticket.reference}/?call=1")
    # then
    assert "Start a call" in closed.content.decode()
    body = opened.content.decode()
    assert 'id="call-timer"' in body
    assert "Escalate with caller waiting" in body


def test_escalate_with_caller_waiting_opens_the_prefilled_form(make_ticket, customer, agent, login):
    # given
    ticket = make_ticket(customer, category="outage")
    client = login(agent)
    # when
    response = client.post(
        f"/tickets/{ticket.reference}/calls/",
        {
            "action": "escalate",
            "direction": "inbound",
            "number": "+44 20 7946 0000",
            "started_at": timezone.now().isoformat(),
            "notes": NOTES,
            "escalation_type": "technical",
        },
        follow=True,
    )
    # then
    form = response.context["form"]
    assert form.initial["caller_waiting"] is True
    assert form.initial["escalation_type"] == "technical"
    assert form.initial["dossier_problem"] == "Internet drops every ten minutes."
    assert form.initial["dossier_mood"] == "angry"
    assert not Call.objects.exists()


def test_logging_a_call_with_a_promised_callback(make_ticket, customer, agent, login, org):
    # given
    org.timezone = "Europe/Paris"
    org.save(update_fields=["timezone"])
    ticket = make_ticket(customer)
    client = login(agent)
    # when
    response = client.post(
        f"/tickets/{ticket.reference}/calls/",
        {
            "action": "log",
            "direction": "inbound",
            "number": "+33 1 23 45 67 89",
            "started_at": (timezone.now() - timedelta(seconds=150)).isoformat(),
            "notes": "Needs the refund confirmed by finance.",
            "outcome": "callback_promised",
            "callback_start": "2030-01-07T10:00",
            "callback_minutes": "30",
        },
        follow=True,
    )
    # then
    text = response.content.decode()
    assert (
        "Call logged. Callback promised for Monday 7 January, 10:00–10:30 (Europe/Paris); the customer has been "
        "emailed." in text
    )
    call = Call.objects.get()
    assert 149 <= call.duration_seconds <= 160
    callback = Callback.objects.get()
    assert callback.window_start.isoformat() == "2030-01-07T09:00:00+00:00"


def test_my_callbacks_lists_overdue_first_and_logs_the_outcome(make_ticket, customer, agent, login):
    # given
    now = timezone.now()
    ticket = make_ticket(customer)
    later = callback_create(
        ticket=ticket,
        actor=agent,
        window_start=now + timedelta(hours=3),
        window_end=now + timedelta(hours=4),
        reason="Later one.",
    )
    overdue = callback_create(
        ticket=ticket,
        actor=agent,
        window_start=now - timedelta(hours=2),
        window_end=now + timedelta(minutes=1),
        reason="Overdue one.",
        now=now - timedelta(hours=3),
    )
    Callback.objects.filter(pk=overdue.pk).update(window_end=now - timedelta(minutes=5))
    client = login(agent)
    # when
    page = client.get("/calls/callbacks/")
    done = client.post(
        f"/calls/callbacks/{overdue.pk}/complete/",
        {"outcome": "resolved", "summary": "Sorted.", "duration_seconds": 40, "number": "+44 20 7946 0003"},
        follow=True,
    )
    # then
    assert [cb.pk for cb in page.context["callbacks"]] == [overdue.pk, later.pk]
    assert "Callback to Dana Reyes logged as a call." in done.content.decode()
    overdue.refresh_from_db()
    assert overdue.status == CallbackStatus.DONE


def test_queue_shows_due_callbacks_and_hides_others(make_ticket, customer, agent, agent2, login):
    # given
    now = timezone.now()
    ticket = make_ticket(customer)
    callback_create(
        ticket=ticket,
        actor=agent,
        window_start=now + timedelta(minutes=20),
        window_end=now + timedelta(minutes=80),
        reason="Due soon.",
    )
    # when
    mine = login(agent).get("/tickets/").content.decode()
    theirs = login(agent2).get("/tickets/").content.decode()
    # then
    assert "Callbacks due" in mine
    assert "Call Dana Reyes on" in mine
    assert "Callbacks due" not in theirs


def test_another_users_callback_cannot_be_completed(make_ticket, customer, customer2, agent, login, teams):
    # given: a ticket of another organisation, invisible to a customer... and a customer is not staff at all
    ticket = make_ticket(customer)
    now = timezone.now()
    callback = callback_create(
        ticket=ticket, actor=agent, window_start=now, window_end=now + timedelta(hours=1), reason="x"
    )
    # when
    response = login(customer2).post(f"/calls/callbacks/{callback.pk}/complete/", {"outcome": "resolved"})
    # then
    assert response.status_code in (403, 404)
    callback.refresh_from_db()
    assert callback.status == CallbackStatus.PENDING


def test_manager_dashboard_shows_due_and_overdue_callbacks(make_ticket, customer, agent, manager, login):
    # given one callback due soon, one overdue and breached
    from escalations.calls.services import callbacks_breach_missed

    now = timezone.now()
    ticket = make_ticket(customer)
    callback_create(
        ticket=ticket,
        actor=agent,
        window_start=now + timedelta(minutes=10),
        window_end=now + timedelta(hours=1),
        reason="Due.",
    )
    callback_create(
        ticket=ticket,
        actor=agent,
        window_start=now - timedelta(hours=2),
        window_end=now - timedelta(minutes=5),
        reason="Overdue.",
        now=now - timedelta(hours=3),
    )
    callbacks_breach_missed(now=now)
    # when
    response = login(manager).get("/reports/attention/")
    # then
    callbacks = response.context["attention"]["callbacks"]
    assert (callbacks["due_count"], callbacks["overdue_count"], callbacks["missed_28d"]) == (1, 1, 1)
    page = response.content.decode()
    assert "Callbacks overdue" in page
    assert "Callback windows missed in the last 28 days: <strong>1</strong>" in page
