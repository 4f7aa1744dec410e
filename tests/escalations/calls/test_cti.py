"""Telephony events (CTI): a scripted fake PBX posts signed call events over HTTP; the product pops the caller,
logs the call with its real duration, opens the warm transfer, and takes every event exactly once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from escalations.calls.cti import (
    calls_on_screen_for,
    customer_for_number,
    phone_digits,
    telephony_event_parse,
    telephony_event_receive,
)
from escalations.models import Call, CallOutcome, Escalation, TelephonyEvent
from helpdesk.models import Channel, TicketEvent
from tests.fake_pbx import FakePbx

SECRET = "pbx-shared-secret"


@pytest.fixture
def pbx(live_server, settings):
    settings.TELEPHONY_WEBHOOK_SECRET = SECRET
    return FakePbx(base_url=live_server.url, secret=SECRET)


@pytest.fixture
def caller(customer):
    customer.phone = "+44 20 7946 0101"
    customer.save(update_fields=["phone"])
    return customer


def test_phone_digits_match_a_number_written_differently(caller):
    # then
    assert phone_digits("+44 (0)20 7946-0101") == phone_digits("020 7946 0101") == "079460101"[-9:]
    assert customer_for_number("020 7946 0101") == caller
    assert customer_for_number("020 7946 0199") is None
    assert customer_for_number("12") is None


@pytest.mark.django_db(transaction=True)
def test_ring_answer_end_logs_one_call_with_the_real_duration_and_a_redelivery_changes_nothing(
    pbx, caller, agent, make_ticket
):
    # given
    ticket = make_ticket(caller, subject="Router keeps dropping")
    t0 = timezone.now().replace(microsecond=0)
    # when the phone rings for the agent
    status, body = pbx.send("ringing", call_id="c-1", at=t0, number="020 7946 0101", agent="agent")
    # then the agent's screen pops the caller with their open ticket
    assert (status, body["status"], body["outcome"]) == (200, "processed", "Screen pop for Alex Morgan")
    [pop] = calls_on_screen_for(agent)
    assert (pop["customer"], pop["answered"], [t.reference for t in pop["tickets"]]) == (
        caller,
        False,
        [ticket.reference],
    )
    # when answered 5 s later and ended 3 min 7 s after that
    answered = pbx.event("answered", call_id="c-1", at=t0 + timedelta(seconds=5), agent="agent")
    assert pbx.post(answered)[0] == 200
    ended = pbx.event("ended", call_id="c-1", at=t0 + timedelta(seconds=192))
    status, body = pbx.post(ended)
    # then one call on the caller's open ticket, with the real duration
    assert (status, body["outcome"]) == (200, f"Call on {ticket.reference} updated")
    call = Call.objects.get()
    assert (call.ticket, call.agent, call.outcome, call.duration_seconds, call.external_id) == (
        ticket,
        agent,
        CallOutcome.ANSWERED,
        187,
        "c-1",
    )
    assert call.started_at == t0 + timedelta(seconds=5)
    assert calls_on_screen_for(agent) == []
    # when the PBX delivers the same end event again
    status, body = pbx.post(ended)
    # then it is recognised and nothing changes
    assert (status, body["status"]) == (200, "duplicate")
    assert Call.objects.count() == 1
    assert TelephonyEvent.objects.filter(event_id=ended["event_id"]).count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, kind="call").count() == 2  # logged, then its duration


@pytest.mark.django_db(transaction=True)
def test_events_out_of_order_still_give_the_right_call(pbx, caller, agent):
    # given an end that arrives before the answer
    t0 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    pbx.send("ringing", call_id="c-2", at=t0, number="+44 20 7946 0101", agent="agent")
    _status, body = pbx.send("ended", call_id="c-2", at=t0 + timedelta(seconds=70))
    # then, with no answer known yet, a missed call on a new phone ticket
    call = Call.objects.get(external_id="c-2")
    assert (call.outcome, call.duration_seconds, call.ticket.channel) == (CallOutcome.NO_ANSWER, 0, Channel.PHONE)
    assert body["outcome"] == f"Call logged on {call.ticket.reference}"
    # when the answer arrives late
    pbx.send("answered", call_id="c-2", at=t0 + timedelta(seconds=10), agent="agent")
    # then the same call is corrected: answered, 60 s
    call.refresh_from_db()
    assert (call.outcome, call.duration_seconds, call.started_at) == (
        CallOutcome.ANSWERED,
        60,
        t0 + timedelta(seconds=10),
    )
    assert Call.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_transfer_to_a_team_opens_the_warm_transfer_with_the_caller_waiting(
    pbx, caller, agent, specialist, make_ticket
):
    # given an answered call on the caller's ticket
    ticket = make_ticket(caller, category="outage")
    t0 = timezone.now().replace(microsecond=0)
    pbx.send("answered", call_id="c-3", at=t0, number="02079460101", agent="agent")
    # when the agent transfers it to the technical team on the phone
    status, body = pbx.send(
        "transferred", call_id="c-3", at=t0 + timedelta(seconds=40), to_team="technical", notes="Tried a reboot."
    )
    # then a warm transfer: the caller waits, the technical team has the accept countdown and a dossier
    escalation = Escalation.objects.get(ticket=ticket)
    assert (status, body["escalation"], body["outcome"]) == (
        200,
        escalation.pk,
        f"Warm transfer to Technical opened on {ticket.reference}",
    )
    assert (escalation.caller_waiting, escalation.to_team.slug, escalation.ack_due_at is not None) == (
        True,
        "technical",
        True,
    )
    assert escalation.dossier_tried == "Alex Morgan took the call (02079460101). Tried a reboot."
    # when the transfer event is delivered again
    assert pbx.send("transferred", call_id="c-3", at=t0 + timedelta(seconds=41), to_team="technical")[1][
        "outcome"
    ].startswith("Not escalated: This ticket is already escalated to Technical")
    assert Escalation.objects.filter(ticket=ticket).count() == 1


@pytest.mark.django_db(transaction=True)
def test_bad_signature_unknown_fields_and_bad_values_are_refused_and_nothing_is_stored(pbx, caller, agent, teams):
    t0 = timezone.now()
    # a wrong secret
    status, body = pbx.post(pbx.event("ringing", call_id="x", at=t0, agent="agent"), secret="guess")
    assert (status, body["code"]) == (401, "bad_signature")
    # unknown fields, an unknown agent, a naive time, an unknown team
    cases = [
        ({"colour": "red"}, "Unknown fields: colour."),
        ({"agent": "nobody"}, "agent: no active staff member has the login or email “nobody”."),
        ({"agent": "customer"}, "agent: no active staff member has the login or email “customer”."),
        (
            {"occurred_at": "2026-11-30T10:00:00"},
            "occurred_at: give an ISO 8601 date and time with its offset, e.g. 2026-11-30T14:05:09Z.",
        ),
        ({"type": "hold"}, "type: must be one of ringing, answered, ended, transferred."),
    ]
    for change, message in cases:
        status, body = pbx.post({**pbx.event("ringing", call_id="x", at=t0, agent="agent"), **change})
        assert (status, body["detail"]) == (400, message)
    status, body = pbx.send("transferred", call_id="x", at=t0, agent="agent", to_team="nowhere")
    assert (status, body["detail"]) == (400, "to_team: no team has the slug “nowhere”.")
    assert TelephonyEvent.objects.count() == 0


@pytest.mark.django_db
def test_endpoint_is_off_without_a_secret_and_refuses_non_json(client, settings):
    settings.TELEPHONY_WEBHOOK_SECRET = ""
    response = client.post("/calls/telephony/events/", data=b"{}", content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (503, "not_configured")


@pytest.mark.django_db(transaction=True)
def test_unknown_caller_pops_without_a_customer_and_logs_nothing(pbx, agent, teams):
    t0 = timezone.now()
    pbx.send("ringing", call_id="c-4", at=t0, number="+1 555 0100 999", agent="agent")
    [pop] = calls_on_screen_for(agent)
    assert (pop["customer"], pop["tickets"]) == (None, [])
    _status, body = pbx.send("answered", call_id="c-4", at=t0, agent="agent")
    assert body["outcome"] == "Not logged: no customer has the number +1 555 0100 999; log the call by hand"
    assert Call.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_same_event_delivered_twice_at_once_is_taken_once(pbx, caller, agent):
    # given one event sent by two PBX threads at the same moment
    document = pbx.event("answered", call_id="c-5", at=timezone.now(), number="020 7946 0101", agent="agent")
    results = []
    threads = [threading.Thread(target=lambda: results.append(pbx.post(document))) for _ in range(2)]
    # when
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then
    assert sorted(body["status"] for _, body in results) == ["duplicate", "processed"]
    assert Call.objects.filter(external_id="c-5").count() == 1


@pytest.mark.django_db
def test_screen_pop_fragment_lists_the_agent_s_ringing_calls_only(client, caller, agent, specialist, make_ticket):
    # given a call ringing for the agent (stored as the endpoint stores it)
    ticket = make_ticket(caller)
    TelephonyEvent.objects.create(
        event_id="e1",
        call_ref="c-6",
        kind="ringing",
        occurred_at=timezone.now(),
        number="020 7946 0101",
        agent=agent,
        customer=caller,
    )
    # when the agent and a specialist ask for their screen pops
    client.force_login(agent)
    mine = client.get("/calls/screen-pop/").content.decode()
    client.force_login(specialist)
    theirs = client.get("/calls/screen-pop/").content.decode()
    # then only the agent sees it
    assert "Ringing: 020 7946 0101" in mine and ticket.reference in mine and "Dana Reyes" in mine
    assert "Ringing" not in theirs


@pytest.mark.django_db
def test_every_call_event_tells_the_agents_screens_through_the_push_seam(settings, caller, agent, monkeypatch):
    # given the push seam recorded
    published = []
    monkeypatch.setattr("escalations.calls.cti.live_publish", lambda **kwargs: published.append(kwargs))
    event = telephony_event_parse(
        {
            "event_id": "e-9",
            "type": "ringing",
            "call_id": "c-9",
            "occurred_at": timezone.now().isoformat(),
            "number": "020 7946 0101",
            "agent": "agent",
        }
    )
    # when the phone rings for the agent
    telephony_event_receive(event=event)
    # then one "call" frame for that agent only, carrying the call id and no customer data
    assert published == [{"kind": "call", "payload": {"call": "c-9"}, "users": [agent.pk]}]
