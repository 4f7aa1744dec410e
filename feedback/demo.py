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
from feedback.rca import CorrectiveActionInput, rca_create
from feedback.selectors import survey_token_make
from helpdesk.models import Status, Ticket

# Survey comments by score; "{topic}" is the ticket's subject, so a comment always talks about its own ticket.
COMMENTS = {
    5: ["Sorted out quickly, thank you: {topic}.", "Friendly and clear help with {topic}.", ""],
    4: ["It took a while to fix {topic}, but the specialist really knew the product.", ""],
    3: ["{topic} works now, but it took three days.", ""],
    2: ["I had to explain {topic} again to every person I spoke to.", "Not sure {topic} is really fixed yet."],
    1: ["Nobody read my first message about {topic}. I explained it four times."],
}

# One root-cause analysis per category: (cause, preventable, five whys, corrective action). The first "why" names
# the ticket's subject, so an RCA always reads as the analysis of its own ticket.
RCAS: dict[str, tuple[str, bool, list[str], str]] = {
    "billing": (
        CauseCategory.PRODUCT_DEFECT,
        True,
        [
            "The payment gateway retried a timed-out capture without checking the first one.",
            "The retry setting was switched on in the last gateway upgrade.",
            "The upgrade's changelog was not reviewed by the billing team.",
            "Nobody owns the gateway configuration.",
        ],
        "Name an owner for the gateway configuration and review its changelog on every upgrade",
    ),
    "login-access": (
        CauseCategory.KNOWLEDGE_GAP,
        True,
        [
            "Tier 1 could not find how to clear a lockout after a password reset.",
            "The knowledge base had no article for this case.",
            "The case appeared after the last release.",
            "Release notes did not reach support.",
        ],
        "Write the missing article and send release notes to support",
    ),
    "outage": (
        CauseCategory.PRODUCT_DEFECT,
        True,
        [
            "A query scanned every row after an index was dropped in a migration.",
            "The migration was not reviewed for performance.",
            "No performance check runs in CI.",
            "Performance budgets were never written down.",
        ],
        "Add a query-plan check to CI for the busiest pages",
    ),
    "integrations": (
        CauseCategory.PROCESS_GAP,
        True,
        [
            "The connector kept the old signing secret after it was rotated.",
            "Rotating the secret does not notify the connected systems.",
            "The rotation runbook has no step for integrations.",
            "The runbook was written before integrations existed.",
        ],
        "Add the integrations step to the secret-rotation runbook",
    ),
    "data-privacy": (
        CauseCategory.TRAINING_GAP,
        True,
        [
            "Tier 1 was unsure who may ask for this data and escalated to compliance.",
            "The verification rules for data requests are not in the agent training.",
            "Training was last updated before the new data-protection policy.",
            "No one reviews training when a policy changes.",
        ],
        "Add data-request verification to the agent training",
    ),
    "orders-delivery": (
        CauseCategory.THIRD_PARTY,
        False,
        [
            "The courier's depot held the parcel during a strike.",
            "We were not told about the depot closure.",
            "The courier's status feed does not carry depot closures.",
            "Outside our control.",
        ],
        "",
    ),
}


def _comment(rng, csat: int, subject: str) -> str:
    return rng.choice(COMMENTS[csat]).format(topic=f"“{subject}”")


def _five_whys(ticket: Ticket) -> tuple[str, bool, str, str]:
    slug = ticket.category.slug if ticket.category else "outage"
    cause, preventable, whys, action = RCAS.get(slug, RCAS["outage"])
    return cause, preventable, "\n".join([f"{ticket.subject}.", *whys]), action


def seed_feedback(*, now, rng, people, stdout=None) -> None:
    """Answer surveys on about twenty resolved tickets and write RCAs on four closed ones (idempotent)."""
    if Survey.objects.answered().exists():
        return
    staff = [*people["agents"], *people["specialists"], people["manager"]]
    done = list(
        Ticket.objects.filter(status__in=(Status.RESOLVED, Status.CLOSED), resolved_at__isnull=False)
        .select_related("category")
        .order_by("resolved_at")
    )
    # About twenty surveys spread over the whole history, so every dashboard period has answers to show.
    picks = min(22, len(done))
    spread = sorted({round(i * (len(done) - 1) / max(1, picks - 1)) for i in range(picks)})
    for index, ticket in enumerate(done[i] for i in spread):
        resolved = ticket.resolved_at
        assert resolved is not None  # selected by resolved_at__isnull=False
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
            comment=_comment(rng, csat, ticket.subject),
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
        assert task.owner is not None  # selected by owner__isnull=False
        with time_machine.travel(moment, tick=False):
            services.follow_up_complete(task=task, actor=task.owner, outcome=outcome, note=note, now=moment)

    manager = people["manager"]
    closed = (
        Ticket.objects.filter(status=Status.CLOSED)
        .exclude(rca__isnull=False)
        .select_related("category")
        .order_by("-closed_at")[:4]
    )
    for ticket in closed:
        category, preventable, whys, action = _five_whys(ticket)
        moment = (ticket.closed_at or now) + timedelta(hours=1)
        with time_machine.travel(moment, tick=False):
            rca_create(
                ticket=ticket,
                actor=manager,
                cause_category=category,
                preventable=preventable,
                five_whys=whys,
                actions=[
                    CorrectiveActionInput(
                        description=action, owner=rng.choice(staff), due_date=(moment + timedelta(days=14)).date()
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
