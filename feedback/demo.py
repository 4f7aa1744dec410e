"""Demo data for feedback: answered surveys (a mix of scores, low ones with call-back tasks) on resolved tickets,
and RCAs with corrective actions on a few closed ones. Built through the services with the clock moved back.
Idempotent: it does nothing once any answered survey exists."""

from __future__ import annotations

import secrets
from datetime import timedelta

import time_machine
from django.conf import settings

from feedback import services
from feedback.models import CauseCategory, FollowUpOutcome, FollowUpTask, RootCauseAnalysis, Survey
from feedback.selectors import survey_token_make
from helpdesk.models import Status, Ticket

COMMENTS = {
    5: ["Fixed on the first call. Great.", "Quick and friendly, thank you.", ""],
    4: ["Took a while, but the specialist really knew the product.", ""],
    3: ["It works now, but it took three days.", ""],
    2: ["I had to repeat the whole story to three people.", "Still not sure it is fixed; it happened again once."],
    1: ["Nobody read my first email. I explained it four times."],
}

RCAS = [
    (
        CauseCategory.KNOWLEDGE_GAP,
        True,
        "Agent could not find the fix.\nThe KB had no article for this error.\n"
        "The error appeared after the last release.\nRelease notes did not reach support.\nNo owner for KB updates.",
    ),
    (
        CauseCategory.PRODUCT_DEFECT,
        True,
        "The export timed out.\nThe query scanned every row.\nAn index was dropped "
        "in a migration.\nThe migration was not reviewed for performance.\nNo performance check in CI.",
    ),
    (
        CauseCategory.THIRD_PARTY,
        False,
        "The courier lost the parcel.\nThe depot was closed by a strike.\n"
        "We were not informed.\nThe courier's status feed does not carry depot closures.\nOutside our control.",
    ),
    (
        CauseCategory.TRAINING_GAP,
        True,
        "The refund was refused at tier 1.\nThe agent thought refunds need a "
        "manager.\nThe approval limits changed last month.\nThe change was announced by email only.\nNo refresher.",
    ),
]


def seed_feedback(*, now, rng, people, stdout=None) -> None:
    """Answer surveys on about twenty resolved tickets and write RCAs on four closed ones (idempotent)."""
    if Survey.objects.answered().exists():
        return
    staff = [*people["agents"], *people["specialists"], people["manager"]]
    done = Ticket.objects.filter(status__in=(Status.RESOLVED, Status.CLOSED), resolved_at__isnull=False)
    for index, ticket in enumerate(done.order_by("resolved_at")[:22]):
        resolved = ticket.resolved_at
        with time_machine.travel(resolved, tick=False):
            survey = services.survey_schedule(ticket=ticket, now=resolved) or Survey.objects.create(
                ticket=ticket,
                is_escalated=False,
                nonce=secrets.token_urlsafe(16),
                send_at=resolved + timedelta(minutes=settings.FEEDBACK_SURVEY_DELAY_MINUTES),
                created_at=resolved,
            )
        send_moment = max(survey.send_at or resolved, resolved)
        if survey.sent_at is None:
            Survey.objects.filter(pk=survey.pk).update(send_at=send_moment)
            with time_machine.travel(send_moment + timedelta(seconds=1), tick=False):
                services.surveys_send_due(now=send_moment + timedelta(seconds=1))
            survey.refresh_from_db()
        if index % 5 == 4 or survey.sent_at is None:
            continue  # some stay unanswered
        csat = rng.choices([5, 4, 3, 2, 1], weights=[5, 4, 2, 2, 1])[0]
        answers = services.SurveyAnswers(
            csat=csat,
            fixed=csat >= 3 or rng.random() < 0.3,
            explain_count=1 if csat >= 4 else rng.randint(2, 4),
            nps=min(10, max(0, csat * 2 + rng.randint(-2, 0))),
            comment=rng.choice(COMMENTS[csat]),
        )
        answered_at = survey.sent_at + timedelta(hours=rng.uniform(1, 30))
        with time_machine.travel(answered_at, tick=False):
            services.survey_submit(token=survey_token_make(survey=survey), answers=answers, now=answered_at)
    # The call-backs were made, except the latest one, still open in "My follow-ups".
    old_tasks = list(FollowUpTask.objects.open().filter(owner__isnull=False).order_by("due_at"))[:-1]
    for task in old_tasks:
        outcome = rng.choice([FollowUpOutcome.CONTACTED, FollowUpOutcome.CONTACTED, FollowUpOutcome.NO_RESPONSE])
        note = (
            "Called the customer back and apologised; they were glad we followed up."
            if outcome == FollowUpOutcome.CONTACTED
            else "Called twice and left a voicemail; no answer."
        )
        moment = task.due_at - timedelta(hours=2)
        with time_machine.travel(moment, tick=False):
            services.follow_up_complete(task=task, actor=task.owner, outcome=outcome, note=note, now=moment)

    manager = people["manager"]
    closed = Ticket.objects.filter(status=Status.CLOSED).exclude(rca__isnull=False).order_by("-closed_at")[:4]
    for (category, preventable, whys), ticket in zip(RCAS, closed, strict=False):
        if RootCauseAnalysis.objects.filter(ticket=ticket).exists():
            continue
        moment = (ticket.closed_at or now) + timedelta(hours=1)
        with time_machine.travel(moment, tick=False):
            services.rca_create(
                ticket=ticket,
                actor=manager,
                cause_category=category,
                preventable=preventable,
                five_whys=whys,
                actions=[
                    services.CorrectiveActionInput(
                        description="Write the missing article and link it from the macro"
                        if category == CauseCategory.KNOWLEDGE_GAP
                        else "Add the check to the release checklist",
                        owner=rng.choice(staff),
                        due_date=(moment + timedelta(days=14)).date(),
                    )
                ]
                if preventable
                else [],
            )
    if stdout is not None:
        stdout.write(
            f"Feedback: {Survey.objects.answered().count()} answered surveys, "
            f"{RootCauseAnalysis.objects.count()} root-cause analyses."
        )
