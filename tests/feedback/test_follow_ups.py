"""Check-ins N days (per plan) after an escalated ticket is resolved, and recording follow-up outcomes."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from feedback.models import FollowUpTask
from feedback.services import checkins_create_due, follow_up_complete
from helpdesk.models import Status, TicketEvent
from helpdesk.services import ticket_change_status


@pytest.fixture
def resolved_at(escalated_ticket, resolve):
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        resolve(escalated_ticket)
    escalated_ticket.refresh_from_db()
    return moment


def test_check_in_is_created_after_the_plan_days_once(escalated_ticket, resolved_at, agent, settings):
    # given the customer's plan (Enterprise) checks in after 1 day, others after the default 3
    settings.FEEDBACK_CHECKIN_DAYS_BY_PLAN = {"enterprise": 1}
    # the sweep before a day has passed creates nothing
    assert checkins_create_due(now=resolved_at + timedelta(hours=23)) == []
    # after a day the assignee gets one task, and repeated sweeps add nothing
    created = checkins_create_due(now=resolved_at + timedelta(days=1, minutes=1))
    assert checkins_create_due(now=resolved_at + timedelta(days=1, minutes=6)) == []
    task = FollowUpTask.objects.get()
    assert created == [task]
    assert (task.kind, task.owner, task.due_at, task.resolution_at) == (
        "check_in",
        agent,
        resolved_at + timedelta(days=1),
        resolved_at,
    )


def test_default_days_apply_to_plans_not_listed(customer2, agent, specialist, make_ticket, escalate, resolve, settings):
    settings.FEEDBACK_CHECKIN_DAYS_BY_PLAN = {"enterprise": 1}
    settings.FEEDBACK_CHECKIN_DEFAULT_DAYS = 3
    ticket = make_ticket(customer2, category="outage")  # Basic plan
    escalate(ticket, agent)
    moment = timezone.now()
    with time_machine.travel(moment, tick=False):
        resolve(ticket)
    assert checkins_create_due(now=moment + timedelta(days=2)) == []
    assert len(checkins_create_due(now=moment + timedelta(days=3, seconds=1))) == 1


def test_non_escalated_tickets_get_no_check_in(customer, agent, make_ticket):
    ticket = make_ticket(customer)
    ticket_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
    assert checkins_create_due(now=timezone.now() + timedelta(days=4)) == []


def test_recording_fine_closes_the_task(escalated_ticket, resolved_at, agent):
    checkins_create_due(now=resolved_at + timedelta(days=4))
    task = FollowUpTask.objects.get()
    follow_up_complete(task=task, actor=agent, outcome="fine", note="Customer confirms all good.")
    task.refresh_from_db()
    assert (task.outcome, task.done_by, task.is_done) == ("fine", agent, True)
    escalated_ticket.refresh_from_db()
    assert escalated_ticket.status == Status.RESOLVED
    event = TicketEvent.objects.filter(ticket=escalated_ticket, data__action="task_done").get()
    assert event.body == "Check-in after resolution: Still working: all fine.\nCustomer confirms all good."
    # a second recording is refused
    with pytest.raises(ValidationError) as caught:
        follow_up_complete(task=task, actor=agent, outcome="reopened")
    assert caught.value.messages == ["This follow-up has already been recorded."]


def test_recording_reopened_reopens_the_ticket_and_keeps_its_history(escalated_ticket, resolved_at, agent):
    checkins_create_due(now=resolved_at + timedelta(days=4))
    events_before = TicketEvent.objects.filter(ticket=escalated_ticket).count()
    follow_up_complete(task=FollowUpTask.objects.get(), actor=agent, outcome="reopened", note="Broken again.")
    escalated_ticket.refresh_from_db()
    assert escalated_ticket.status == Status.OPEN and escalated_ticket.resolved_at is None
    # the old resolution stays in the timeline, followed by the reopening
    kinds = list(TicketEvent.objects.filter(ticket=escalated_ticket).values_list("kind", "data"))
    assert len(kinds) > events_before
    assert ("status_changed", {"from": "resolved", "to": "open"}) in kinds
    assert ("status_changed", {"from": "open", "to": "resolved"}) in kinds


def test_only_the_owner_a_lead_or_a_manager_may_record(escalated_ticket, resolved_at, agent2, manager):
    checkins_create_due(now=resolved_at + timedelta(days=4))
    task = FollowUpTask.objects.get()
    with pytest.raises(PermissionDenied):
        follow_up_complete(task=task, actor=agent2, outcome="fine")
    follow_up_complete(task=task, actor=manager, outcome="no_response")


def test_an_outcome_must_fit_the_kind_and_a_closed_ticket_cannot_reopen(escalated_ticket, resolved_at, agent):
    checkins_create_due(now=resolved_at + timedelta(days=4))
    task = FollowUpTask.objects.get()
    with pytest.raises(ValidationError) as caught:
        follow_up_complete(task=task, actor=agent, outcome="contacted")
    assert caught.value.message_dict == {"outcome": ["Choose one of the outcomes offered for this follow-up."]}
    from feedback.rca import rca_create

    rca_create(ticket=escalated_ticket, actor=agent, cause_category="customer_side", preventable=False, five_whys="x")
    ticket_change_status(ticket=escalated_ticket, actor=agent, status=Status.CLOSED)
    with pytest.raises(ValidationError) as caught:
        follow_up_complete(task=task, actor=agent, outcome="reopened")
    assert caught.value.message_dict == {
        "outcome": ["This ticket is closed and cannot be reopened here: open a new request for the customer instead."]
    }
    assert FollowUpTask.objects.get().done_at is None


def test_my_follow_ups_page_lists_and_records(escalated_ticket, resolved_at, agent, agent2, client, login):
    checkins_create_due(now=resolved_at + timedelta(days=4))
    task = FollowUpTask.objects.get()
    login(agent2)
    assert "No open follow-ups" in client.get("/follow-ups/").content.decode()
    assert client.post(f"/follow-ups/{task.pk}/complete/", {"outcome": "fine"}).status_code == 403
    assert FollowUpTask.objects.get().done_at is None  # refused: not theirs
    client.logout()
    login(agent)
    html = client.get("/follow-ups/").content.decode()
    assert escalated_ticket.reference in html and "Check-in after resolution" in html
    client.post(f"/follow-ups/{task.pk}/complete/", {"outcome": "fine", "note": "All good"})
    assert FollowUpTask.objects.get().outcome == "fine"


def test_the_sweep_command_drives_time(escalated_ticket, resolved_at, capsys):
    from django.core.management import CommandError, call_command

    at = (resolved_at + timedelta(days=4)).isoformat()
    call_command("feedback_sweep", "--at", at)
    call_command("feedback_sweep", "--at", at)
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "Surveys sent: 1, reminders: 0, held: 0; check-ins created: 1.",
        "Surveys sent: 0, reminders: 0, held: 0; check-ins created: 0.",
    ]
    with pytest.raises(CommandError, match=re.escape("--at must be an ISO-8601 date and time, not 'monday'.")):
        call_command("feedback_sweep", "--at", "monday")
