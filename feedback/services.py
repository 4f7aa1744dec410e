"""Writes for feedback: resolution criteria, surveys and follow-ups (root-cause analyses are ``feedback/rca.py``).

Every service is keyword-only and atomic. Sweeps take ``now`` and are state-guarded, so re-running them finds
nothing to do. The survey answer is recorded with one conditional UPDATE (``WHERE answered_at IS NULL``): of two
concurrent submits exactly one is recorded.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from escalations.models import Escalation
from feedback import events
from feedback.models import (
    OUTCOMES_BY_KIND,
    FollowUpKind,
    FollowUpOutcome,
    FollowUpTask,
    ResolutionRecord,
    RootCauseAnalysis,
    Survey,
)
from feedback.selectors import (
    SurveyAlreadyAnswered,
    SurveyExpired,
    escalating_teams,
    resolution_checklist,
    resolution_summary,
    survey_from_token,
    survey_token_make,
    ticket_escalations,
    ticket_is_escalated,
)
from helpdesk.customer_time import customer_datetime, customer_timezone
from helpdesk.models import NotificationKind, Plan, Role, Status, TeamMembership, Ticket, User, WebhookEventType
from helpdesk.notifications import notification_enqueue
from helpdesk.services import require_staff, ticket_change_status, ticket_reply, ticket_url
from helpdesk.webhooks import webhook_emit

SURVEYED_STATUSES = (Status.RESOLVED, Status.CLOSED)
# A stopped beat catches up on check-ins this far back; older resolutions are left alone (bounded sweep cost).
CHECKIN_CATCH_UP = timedelta(days=7)


def _team_lead(ticket: Ticket) -> User | None:
    """The lead of the ticket's team; else of the team it was last escalated to; else the first manager."""
    team_ids = [ticket.team_id]
    latest = ticket_escalations(ticket=ticket).first()
    if latest is not None:
        team_ids.append(latest.to_team_id)
    for team_id in team_ids:
        if team_id is None:
            continue
        lead = (
            TeamMembership.objects.filter(team_id=team_id, is_lead=True, user__is_active=True)
            .select_related("user")
            .order_by("pk")
            .first()
        )
        if lead is not None:
            return lead.user
    return User.objects.filter(role=Role.MANAGER, is_active=True).order_by("pk").first()


# --- resolution criteria ------------------------------------------------------------------------------------


def resolution_status_guard(*, ticket: Ticket, status: str, actor: User | None) -> None:
    """Registered with helpdesk.guards: an escalated ticket is resolved only with its checklist complete, and
    closed only with a root-cause analysis. Read-only; raises ValidationError naming everything missing."""
    if status == Status.RESOLVED and ticket.status != Status.RESOLVED:
        checklist = resolution_checklist(ticket=ticket)
        if checklist.escalated and not checklist.complete:
            raise ValidationError({"status": checklist.missing_messages})
    elif (
        status == Status.CLOSED
        and ticket.status != Status.CLOSED
        and ticket_is_escalated(ticket=ticket)
        and not RootCauseAnalysis.objects.filter(ticket=ticket).exists()
    ):
        raise ValidationError(
            {"status": ["An escalated ticket cannot be closed without a root-cause analysis: write the RCA first."]}
        )


@transaction.atomic
def resolution_record(*, ticket: Ticket, actor: User, summary: str) -> ResolutionRecord:
    """Record what was done to fix an escalated problem (the first checklist item). Atomic."""
    require_staff(actor)
    summary = (summary or "").strip()
    if not summary:
        raise ValidationError({"summary": "Write the resolution summary: what was wrong and what was done."})
    if ticket.status == Status.CLOSED:
        raise ValidationError({"summary": "This ticket is closed."})
    record = ResolutionRecord.objects.create(
        ticket=ticket,
        escalation=ticket_escalations(ticket=ticket).first(),
        summary=summary,
        recorded_by=actor,
        recorded_at=timezone.now(),
    )
    events.resolution_summary_recorded_event(ticket=ticket, actor=actor, summary=summary)
    return record


def resolution_message_body(*, ticket: Ticket, summary: str) -> str:
    return (
        f"Hello {ticket.customer.display_name},\n\n"
        f"Your request “{ticket.subject}” has been resolved. Here is what we found and what we did:\n\n"
        f"{summary}\n\n"
        "If anything is still not right, just reply to this message and it will come straight back to us."
    )


@transaction.atomic
def resolution_send_to_customer(*, ticket: Ticket, actor: User) -> None:
    """Send the customer the recorded resolution as a public reply (the second checklist item). Atomic."""
    require_staff(actor)
    summary, _ = resolution_summary(ticket=ticket)
    if not summary.strip():
        raise ValidationError("Record the resolution summary first: it is what the customer will be sent.")
    ticket_reply(ticket=ticket, author=actor, body=resolution_message_body(ticket=ticket, summary=summary))


@transaction.atomic
def resolution_notify_escalating_team(*, ticket: Ticket, actor: User) -> list:
    """Tell every team that escalated this ticket how it was resolved (the third checklist item). Atomic."""
    require_staff(actor)
    summary, _ = resolution_summary(ticket=ticket)
    if not summary.strip():
        raise ValidationError("Record the resolution summary first: it is what the team will be told.")
    teams = escalating_teams(ticket=ticket)
    if not teams:
        raise ValidationError("No escalating team is recorded on this ticket's escalations.")
    members = User.objects.filter(memberships__team__in=teams, is_active=True).distinct()
    notification_enqueue(
        kind=NotificationKind.RESOLUTION_TEAM_NOTIFIED,
        subject=f"{ticket.reference} you escalated is resolved",
        body=f"“{ticket.subject}” was resolved:\n\n{summary}",
        recipients=members,
        ticket=ticket,
        url=ticket_url(ticket),
        email=False,
    )
    events.escalating_team_notified_event(ticket=ticket, actor=actor, teams=teams)
    return teams


# --- surveys ------------------------------------------------------------------------------------------------


def survey_is_sampled(*, ticket_id: int, rate: float | None = None) -> bool:
    """Whether a non-escalated ticket falls in the survey sample: a stable hash of its id, so the same ticket is
    always in or out and tests are exact."""
    rate = settings.FEEDBACK_SURVEY_SAMPLE_RATE if rate is None else rate
    digest = hashlib.sha256(f"feedback-survey-sample:{ticket_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def survey_path(*, survey: Survey) -> str:
    return reverse("survey_answer", kwargs={"token": survey_token_make(survey=survey)})


@transaction.atomic
def survey_schedule(*, ticket: Ticket, now: datetime) -> Survey | None:
    """At resolution: schedule the survey for ``now + delay`` (every escalated ticket; others when sampled).
    Idempotent: one survey per ticket; a re-resolution before sending only moves ``send_at``. Atomic."""
    latest = ticket_escalations(ticket=ticket).first()
    if latest is None and not survey_is_sampled(ticket_id=ticket.pk):
        return None
    send_at = now + timedelta(minutes=settings.FEEDBACK_SURVEY_DELAY_MINUTES)
    survey, created = Survey.objects.get_or_create(
        ticket=ticket,
        defaults={
            "escalation": latest,
            "is_escalated": latest is not None,
            "nonce": secrets.token_urlsafe(16),
            "send_at": send_at,
            "created_at": now,
        },
    )
    if not created and survey.sent_at is None:
        survey.send_at = send_at
        survey.escalation = latest
        survey.is_escalated = latest is not None
        survey.save(update_fields=["send_at", "escalation", "is_escalated"])
    return survey


@transaction.atomic
def survey_hold(*, ticket: Ticket) -> int:
    """The ticket was reopened: an unsent survey waits for the next resolution. Idempotent. Atomic."""
    return Survey.objects.filter(ticket=ticket, sent_at__isnull=True).update(send_at=None)


def _survey_email(*, survey: Survey, reminder: bool) -> None:
    ticket = survey.ticket
    assert survey.expires_at is not None  # set when the survey is sent, before any email about it
    opener = "A gentle reminder: we would still like to hear" if reminder else "We would like to hear"
    about = "the escalation of your request" if survey.is_escalated else "your request"
    body = (
        f"Hello {ticket.customer.display_name},\n\n"
        f"{opener} how {about} “{ticket.subject}” ({ticket.reference}) went. Five short questions, one minute, "
        f"no sign-in needed. The link works once, until "
        f"{customer_datetime(survey.expires_at, tz=customer_timezone(ticket), year=True)}."
    )
    notification_enqueue(
        kind=NotificationKind.SURVEY_REMINDER if reminder else NotificationKind.SURVEY,
        subject=f"[{ticket.reference}] {'Reminder: ' if reminder else ''}How did we do?",
        body=body,
        recipients=[ticket.customer],
        ticket=ticket,
        url=survey_path(survey=survey),
        in_app=False,
    )


def surveys_send_due(*, now: datetime, batch: int = 200) -> dict[str, int]:
    """Beat sweep: send surveys whose moment has come, and one reminder to those unanswered after N hours.
    Rows are claimed with ``select_for_update(skip_locked)`` and state-guarded, so racing or repeated sweeps send
    each email once. Atomic per batch; idempotent."""
    sent = reminded = held = 0
    with transaction.atomic():
        due = list(
            Survey.objects.due(now)
            .select_for_update(skip_locked=True)
            .select_related("ticket__customer")
            .order_by("send_at", "pk")[:batch]
        )
        for survey in due:
            if survey.ticket.status not in SURVEYED_STATUSES:
                survey.send_at = None  # reopened meanwhile: wait for the next resolution
                survey.save(update_fields=["send_at"])
                held += 1
                continue
            survey.sent_at = now
            survey.expires_at = now + timedelta(days=settings.FEEDBACK_SURVEY_EXPIRY_DAYS)
            survey.save(update_fields=["sent_at", "expires_at"])
            _survey_email(survey=survey, reminder=False)
            events.survey_sent_event(ticket=survey.ticket, reminder=False)
            events.survey_requested_event(ticket=survey.ticket)
            sent += 1
    with transaction.atomic():
        sent_before = now - timedelta(hours=settings.FEEDBACK_SURVEY_REMINDER_HOURS)
        for survey in list(
            Survey.objects.reminder_due(now=now, sent_before=sent_before)
            .select_for_update(skip_locked=True)
            .select_related("ticket__customer")
            .order_by("sent_at", "pk")[:batch]
        ):
            survey.reminder_sent_at = now
            survey.save(update_fields=["reminder_sent_at"])
            _survey_email(survey=survey, reminder=True)
            events.survey_sent_event(ticket=survey.ticket, reminder=True)
            reminded += 1
    return {"sent": sent, "reminded": reminded, "held": held}


@dataclass(frozen=True)
class SurveyAnswers:
    csat: int
    fixed: bool
    explain_count: int
    nps: int | None = None
    comment: str = ""


def survey_answers_validate(answers: SurveyAnswers) -> None:
    errors = {}
    if not isinstance(answers.csat, int) or not 1 <= answers.csat <= 5:
        errors["csat"] = "Choose a score from 1 (very unhappy) to 5 (very happy)."
    if not isinstance(answers.fixed, bool):
        errors["fixed"] = "Tell us whether the problem was fixed: yes or no."
    if not isinstance(answers.explain_count, int) or not 1 <= answers.explain_count <= 20:
        errors["explain_count"] = "Enter how many times you explained the problem, from 1 to 20."
    if answers.nps is not None and (not isinstance(answers.nps, int) or not 0 <= answers.nps <= 10):
        errors["nps"] = "Choose a score from 0 to 10, or leave it blank."
    if len(answers.comment or "") > 4000:
        errors["comment"] = "Please keep the comment under 4,000 characters."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def survey_submit(*, token: str, answers: SurveyAnswers, now: datetime | None = None) -> Survey:
    """Record a customer's answers through a signed link, exactly once and before expiry; a low CSAT opens a
    follow-up for the team lead. Invalid values, a tampered token, expiry or a second answer change nothing.
    Atomic; the single use is one conditional UPDATE."""
    now = now or timezone.now()
    survey = survey_from_token(token=token, now=now)
    survey_answers_validate(answers)
    claimed = Survey.objects.filter(pk=survey.pk, answered_at__isnull=True, expires_at__gt=now).update(
        answered_at=now,
        csat=answers.csat,
        fixed=answers.fixed,
        explain_count=answers.explain_count,
        nps=answers.nps,
        comment=(answers.comment or "").strip(),
    )
    if claimed == 0:
        if Survey.objects.filter(pk=survey.pk, answered_at__isnull=False).exists():
            raise SurveyAlreadyAnswered()
        raise SurveyExpired()
    survey.refresh_from_db()
    assert survey.answered_at is not None and survey.csat is not None  # written by the claim above
    events.survey_answered_event(ticket=survey.ticket, survey=survey)
    webhook_emit(
        event_type=WebhookEventType.SURVEY_ANSWERED,
        ticket=survey.ticket,
        payload={
            "survey_id": survey.pk,
            "csat": survey.csat,
            "fixed": survey.fixed,
            "explain_count": survey.explain_count,
            "nps": survey.nps,
            "comment": survey.comment,
            "is_escalated": survey.is_escalated,
            "answered_at": survey.answered_at.isoformat(),
        },
    )
    if survey.csat <= 2:
        _low_csat_follow_up(survey=survey, now=now)
    return survey


def _low_csat_follow_up(*, survey: Survey, now: datetime) -> FollowUpTask:
    ticket = survey.ticket
    owner = _team_lead(ticket)
    task, created = FollowUpTask.objects.get_or_create(
        ticket=ticket,
        kind=FollowUpKind.LOW_CSAT,
        resolution_at=ticket.resolved_at or survey.sent_at or now,
        defaults={
            "survey": survey,
            "owner": owner,
            "created_at": now,
            "due_at": now + timedelta(hours=settings.FEEDBACK_LOW_CSAT_FOLLOW_UP_HOURS),
        },
    )
    if created:
        _follow_up_announce(task=task)
    return task


def _follow_up_announce(*, task: FollowUpTask) -> None:
    events.follow_up_created_event(ticket=task.ticket, task=task)
    if task.owner is not None:
        what = (
            f"The customer scored {task.survey.csat}/5. Call them back and record the outcome."
            if task.kind == FollowUpKind.LOW_CSAT and task.survey is not None  # a low-CSAT task has its survey
            else "Check with the customer that the solution still works, and record the outcome."
        )
        notification_enqueue(
            kind=NotificationKind.for_follow_up(task.kind),
            subject=f"Follow-up: {task.get_kind_display()} on {task.ticket.reference}",
            body=what,
            recipients=[task.owner],
            ticket=task.ticket,
            url=reverse("follow_up_list"),
            email=task.kind == FollowUpKind.LOW_CSAT,
        )


# --- check-ins ------------------------------------------------------------------------------------------------


def checkin_days_for_plan(code: str) -> int:
    return int(settings.FEEDBACK_CHECKIN_DAYS_BY_PLAN.get(code, settings.FEEDBACK_CHECKIN_DEFAULT_DAYS))


def checkins_create_due(*, now: datetime) -> list[FollowUpTask]:
    """Beat sweep: N days (per plan) after an escalated ticket was resolved, give its owner a check-in task.
    One per resolution (unique constraint), so repeated or racing sweeps create it once. Idempotent."""
    created: list[FollowUpTask] = []
    for code in Plan.objects.values_list("code", flat=True):
        days = checkin_days_for_plan(code)
        cutoff = now - timedelta(days=days)
        existing = FollowUpTask.objects.filter(
            ticket=OuterRef("pk"), kind=FollowUpKind.CHECK_IN, resolution_at=OuterRef("resolved_at")
        )
        tickets = (
            Ticket.objects.filter(
                organization__plan__code=code,
                status__in=SURVEYED_STATUSES,
                resolved_at__lte=cutoff,
                resolved_at__gt=cutoff - CHECKIN_CATCH_UP,
            )
            .filter(Exists(Escalation.objects.filter(ticket=OuterRef("pk"))))
            .exclude(Exists(existing))
            .select_related("assignee", "team")
        )
        for ticket in tickets:
            try:
                assert ticket.resolved_at is not None  # selected by resolved_at__lte
                with transaction.atomic():
                    task = FollowUpTask.objects.create(
                        kind=FollowUpKind.CHECK_IN,
                        ticket=ticket,
                        owner=ticket.assignee or _team_lead(ticket),
                        resolution_at=ticket.resolved_at,
                        created_at=now,
                        due_at=ticket.resolved_at + timedelta(days=days),
                    )
                    _follow_up_announce(task=task)
            except IntegrityError:
                continue  # another sweep created it first
            created.append(task)
    return created


@transaction.atomic
def follow_up_complete(
    *, task: FollowUpTask, actor: User, outcome: str, note: str = "", now: datetime | None = None
) -> FollowUpTask:
    """Record a follow-up's outcome once; "reopened" reopens the ticket through the core service, which keeps its
    timeline and SLA history. Only the owner, a lead of the ticket's team or a manager may. Atomic."""
    require_staff(actor)
    now = now or timezone.now()
    is_lead = (
        task.ticket.team_id is not None
        and TeamMembership.objects.filter(team_id=task.ticket.team_id, user=actor, is_lead=True).exists()
    )
    if actor.pk != task.owner_id and not is_lead and not actor.is_manager:
        raise PermissionDenied("Only the owner of this follow-up, a team lead or a manager can record it.")
    if outcome not in OUTCOMES_BY_KIND[FollowUpKind(task.kind)]:
        raise ValidationError({"outcome": "Choose one of the outcomes offered for this follow-up."})
    ticket = Ticket.objects.select_for_update().get(pk=task.ticket_id)
    if outcome == FollowUpOutcome.REOPENED and ticket.status != Status.RESOLVED:
        raise ValidationError(
            {
                "outcome": f"This ticket is {ticket.get_status_display().lower()} and cannot be reopened here: "
                "open a new request for the customer instead."
            }
        )
    note = (note or "").strip()
    if (
        FollowUpTask.objects.filter(pk=task.pk, done_at__isnull=True).update(
            done_at=now, done_by=actor, outcome=outcome, note=note
        )
        == 0
    ):
        raise ValidationError("This follow-up has already been recorded.")
    task.refresh_from_db()
    if outcome == FollowUpOutcome.REOPENED:
        ticket_change_status(ticket=ticket, actor=actor, status=Status.OPEN)
    events.follow_up_done_event(ticket=ticket, actor=actor, task=task)
    return task


def _ticket_resolution_changed(*, event, ticket: Ticket) -> None:
    """React to the core's status events: resolved schedules the survey; reopened holds it."""
    to, frm = event.data.get("to"), event.data.get("from")
    if to == Status.RESOLVED:
        survey_schedule(ticket=ticket, now=event.created_at)
    elif frm in SURVEYED_STATUSES and to not in SURVEYED_STATUSES:
        survey_hold(ticket=ticket)


def on_ticket_event_recorded(sender, *, event, ticket, **kwargs) -> None:
    from helpdesk.models import EventKind

    if event.kind == EventKind.STATUS_CHANGED:
        _ticket_resolution_changed(event=event, ticket=ticket)
