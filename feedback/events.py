"""One small function per feedback business event, each writing one typed TicketEvent through helpdesk.events.

Scores, follow-ups and root causes are for staff; the customer sees the replies, and one public row when their
survey is first sent (``survey_requested_event``: their ticket page says to look for it, and their open page is
pushed, helpdesk/live/)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext, override

from helpdesk.events import event_record
from helpdesk.locale import in_language_of
from helpdesk.models import EventKind, Ticket, TicketEvent, User


# Event bodies are the audit trail, written in the product's language whatever the actor reads: the choice labels
# they quote are translatable (lazy), so the writers that quote one run under this.
def _in_house_language[**P, R](writer: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(writer)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        with override(settings.LANGUAGE_CODE):
            return writer(*args, **kwargs)

    return wrapped


def resolution_summary_recorded_event(*, ticket: Ticket, actor: User, summary: str) -> TicketEvent:
    return event_record(
        ticket=ticket,
        kind=EventKind.FOLLOW_UP,
        actor=actor,
        is_public=False,
        body=f"Resolution summary recorded:\n{summary}",
        data={"action": "resolution_summary"},
    )


def escalating_team_notified_event(*, ticket: Ticket, actor: User, teams: list) -> TicketEvent:
    names = ", ".join(team.name for team in teams)
    return event_record(
        ticket=ticket,
        kind=EventKind.FOLLOW_UP,
        actor=actor,
        is_public=False,
        body=f"The team that escalated ({names}) was told how it was resolved.",
        data={"action": "team_notified", "team_ids": [team.pk for team in teams]},
    )


def survey_sent_event(*, ticket: Ticket, reminder: bool) -> TicketEvent:
    return event_record(
        ticket=ticket,
        kind=EventKind.SURVEY,
        actor=None,
        is_public=False,
        body="Survey reminder sent to the customer." if reminder else "Satisfaction survey sent to the customer.",
        data={"action": "reminder" if reminder else "sent"},
    )


def survey_requested_event(*, ticket: Ticket) -> TicketEvent:
    """Public: the customer's own line about the survey just emailed to them (in their language; no link, no score)."""
    with in_language_of(ticket.customer):
        body = gettext(
            "We have emailed you a short survey about this request. It takes a minute and needs no sign-in; "
            "the link in the email works once."
        )
    return event_record(
        ticket=ticket, kind=EventKind.SURVEY, actor=None, is_public=True, body=body, data={"action": "requested"}
    )


def survey_answered_event(*, ticket: Ticket, survey) -> TicketEvent:
    parts = [f"CSAT {survey.csat}/5", f"fixed: {'yes' if survey.fixed else 'no'}"]
    parts.append(f"explained {survey.explain_count} time{'s' if survey.explain_count != 1 else ''}")
    if survey.nps is not None:
        parts.append(f"NPS {survey.nps}/10")
    body = "Survey answered: " + " · ".join(parts)
    if survey.comment:
        body += f"\n“{survey.comment}”"
    return event_record(
        ticket=ticket,
        kind=EventKind.SURVEY,
        actor=None,
        is_public=False,
        body=body,
        data={
            "action": "answered",
            "survey_id": survey.pk,
            "csat": survey.csat,
            "fixed": survey.fixed,
            "explain_count": survey.explain_count,
            "nps": survey.nps,
            "is_escalated": survey.is_escalated,
        },
    )


@_in_house_language
def follow_up_created_event(*, ticket: Ticket, task) -> TicketEvent:
    owner = task.owner.display_name if task.owner else "nobody (no team lead or owner found)"
    return event_record(
        ticket=ticket,
        kind=EventKind.FOLLOW_UP,
        actor=None,
        is_public=False,
        body=f"{task.get_kind_display()} task for {owner}, due {timezone.localtime(task.due_at):%a %-d %b %Y, %H:%M}.",
        data={"action": "task_created", "task_id": task.pk, "kind": task.kind},
    )


@_in_house_language
def follow_up_done_event(*, ticket: Ticket, actor: User, task) -> TicketEvent:
    body = f"{task.get_kind_display()}: {task.get_outcome_display()}."
    if task.note:
        body += f"\n{task.note}"
    return event_record(
        ticket=ticket,
        kind=EventKind.FOLLOW_UP,
        actor=actor,
        is_public=False,
        body=body,
        data={"action": "task_done", "task_id": task.pk, "outcome": task.outcome},
    )


@_in_house_language
def rca_recorded_event(*, ticket: Ticket, actor: User, rca) -> TicketEvent:
    preventable = "preventable" if rca.preventable else "not preventable"
    return event_record(
        ticket=ticket,
        kind=EventKind.RCA,
        actor=actor,
        is_public=False,
        body=f"Root cause: {rca.get_cause_category_display()} ({preventable}); "
        f"{rca.actions.count()} corrective action(s).",
        data={"action": "recorded", "rca_id": rca.pk, "cause_category": rca.cause_category},
    )


@_in_house_language
def rca_reviewed_event(*, ticket: Ticket, actor: User, rca, old_category: str) -> TicketEvent:
    if old_category != rca.cause_category:
        from feedback.models import CauseCategory

        body = (
            f"Root cause reclassified from {CauseCategory(old_category).label} to {rca.get_cause_category_display()}."
        )
    else:
        body = f"Root cause reviewed: {rca.get_cause_category_display()} confirmed."
    if rca.review_note:
        body += f"\n{rca.review_note}"
    return event_record(
        ticket=ticket,
        kind=EventKind.RCA,
        actor=actor,
        is_public=False,
        body=body,
        data={"action": "reviewed", "rca_id": rca.pk, "from": old_category, "to": rca.cause_category},
    )
