"""Reads for feedback: the resolution checklist, survey links, follow-up lists and the RCA review queue.

Everything that reaches a ticket goes through ``helpdesk.selectors`` (``ticket_visibility_q_for``), so a follow-up or
an RCA on a restricted ticket is invisible to whoever may not see the ticket."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from escalations.models import Escalation
from feedback.models import (
    CorrectiveAction,
    FollowUpTask,
    FollowUpTaskQuerySet,
    ResolutionRecord,
    RootCauseAnalysis,
    Survey,
    SurveyQuerySet,
)
from helpdesk.errors import ApplicationError
from helpdesk.models import EventKind, Notification, Team, Ticket, TicketEvent, User
from helpdesk.selectors import ticket_is_visible_to, ticket_visibility_q_for

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

SURVEY_TOKEN_SALT = "feedback.survey"  # noqa: S105 - a signing namespace, not a secret
# Outbox kinds that tell the escalating team how its escalation ended: ours, and the escalation engine's own.
TEAM_RESOLUTION_NOTIFICATION_KINDS = ("resolution_team_notified", "escalation_resolved")


# --- tokens --------------------------------------------------------------------------------------------------


class SurveyLinkError(ApplicationError):
    """A survey link that cannot be answered; ``title`` and ``message`` are shown to the customer as they are (the
    API answers ``{"detail", "code", "title"}`` with ``status``)."""

    status = 400
    default_code = "invalid"
    title: StrOrPromise = _("This link does not work")
    default_message = _(
        "The survey link is incomplete or has been altered. Please open it again from the email we sent you, "
        "or simply reply to that email to tell us how it went."
    )

    def __init__(self, message: str | None = None):
        # Words for the customer, in the language of the request that raised them (the customer's).
        self.title = str(self.title)
        super().__init__(str(message or self.default_message), extra={"title": self.title})


class SurveyLinkInvalid(SurveyLinkError):
    pass


class SurveyExpired(SurveyLinkError):
    status = 410
    default_code = "expired"
    title = _("This survey has closed")
    default_message = _(
        "Thank you for following the link. This survey has closed, so we can no longer record answers to it. "
        "If something is still wrong, please reply to our email or open a new request."
    )


class SurveyNotYours(SurveyLinkError):
    """A signed-in user who may not see the ticket (e.g. a colleague of whoever raised a restricted request): a miss,
    as everywhere else, with the plain "link does not work" words."""

    status = 404


class SurveyAlreadyAnswered(SurveyLinkError):
    status = 409
    default_code = "answered"
    title = _("You have already answered")
    default_message = _(
        "We have already recorded your answers to this survey, thank you. Each survey can be answered once."
    )


def survey_token_make(*, survey: Survey) -> str:
    """The signed, URL-safe link token: survey id and nonce under a salted signature (no login needed)."""
    return signing.dumps({"s": survey.pk, "n": survey.nonce}, salt=SURVEY_TOKEN_SALT, compress=False)


def survey_token_read(token: str) -> tuple[int, str]:
    try:
        payload = signing.loads(token, salt=SURVEY_TOKEN_SALT)
        return int(payload["s"]), str(payload["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise SurveyLinkInvalid() from exc


def survey_from_token(*, token: str, now: datetime | None = None, viewer: User | AnonymousUser | None = None) -> Survey:
    """The survey a link opens, or the reason it cannot be answered (tampered, unknown, expired, answered). The link
    needs no sign-in; a signed-in ``viewer`` must also be allowed to see the ticket (``tickets_visible_to``)."""
    now = now or timezone.now()
    survey_id, nonce = survey_token_read(token)
    survey = Survey.objects.select_related("ticket__organization").filter(pk=survey_id).first()
    if survey is None or survey.sent_at is None or not constant_time_compare(survey.nonce, nonce):
        raise SurveyLinkInvalid()
    if viewer is not None and viewer.is_authenticated and not ticket_is_visible_to(user=viewer, ticket=survey.ticket):
        raise SurveyNotYours()
    if survey.answered_at is not None:
        raise SurveyAlreadyAnswered()
    if survey.expires_at is None or survey.expires_at <= now:
        raise SurveyExpired()
    return survey


# --- resolution criteria ------------------------------------------------------------------------------------


@dataclass
class ChecklistItem:
    key: str
    label: str
    done: bool
    missing_message: str
    detail: str = ""


@dataclass
class ResolutionChecklist:
    escalated: bool
    summary: str = ""
    summary_at: datetime | None = None
    escalating_teams: list[Team] = field(default_factory=list)
    items: list[ChecklistItem] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(item.done for item in self.items)

    @property
    def missing_messages(self) -> list[str]:
        return [item.missing_message for item in self.items if not item.done]


def ticket_escalations(*, ticket: Ticket) -> QuerySet[Escalation]:
    return Escalation.objects.filter(ticket=ticket).order_by("-created_at", "-id")


def ticket_is_escalated(*, ticket: Ticket) -> bool:
    return Escalation.objects.filter(ticket=ticket).exists()


def escalating_teams(*, ticket: Ticket) -> list[Team]:
    """Every team that passed this ticket up the chain (the ``from_team`` of each hop), oldest first."""
    team_ids = []
    for team_id in (
        Escalation.objects.filter(ticket=ticket, from_team__isnull=False)
        .order_by("created_at", "id")
        .values_list("from_team_id", flat=True)
    ):
        if team_id not in team_ids:
            team_ids.append(team_id)
    teams = Team.objects.in_bulk(team_ids)
    return [teams[pk] for pk in team_ids if pk in teams]


def resolution_summary(*, ticket: Ticket) -> tuple[str, datetime | None]:
    """The latest resolution summary: the one recorded through the checklist or the latest escalation's."""
    candidates: list[tuple[datetime, str]] = []
    record = ResolutionRecord.objects.filter(ticket=ticket).order_by("-recorded_at", "-id").first()
    if record is not None:
        candidates.append((record.recorded_at, record.summary))
    escalation = ticket_escalations(ticket=ticket).exclude(resolution_summary="").first()
    if escalation is not None and escalation.resolution_summary.strip():
        candidates.append((escalation.closed_at or escalation.created_at, escalation.resolution_summary))
    if not candidates:
        return "", None
    at, summary = max(candidates, key=lambda item: item[0])
    return summary, at


def resolution_checklist(*, ticket: Ticket) -> ResolutionChecklist:
    """What an escalated ticket still needs before it may be resolved: a summary, the customer told after it,
    and every escalating team notified after it. A non-escalated ticket has no checklist (``escalated=False``)."""
    if not ticket_is_escalated(ticket=ticket):
        return ResolutionChecklist(escalated=False)
    summary, summary_at = resolution_summary(ticket=ticket)
    teams = escalating_teams(ticket=ticket)
    # A public agent reply after the summary, or the escalation's own public resolution message (emailed too).
    told_customer = bool(
        summary_at
        and TicketEvent.objects.filter(
            ticket=ticket,
            kind__in=(EventKind.AGENT_REPLY, EventKind.ESCALATION_RESOLVED),
            is_public=True,
            created_at__gte=summary_at,
        ).exists()
    )
    notified: set[int] = set()
    if summary_at is not None:
        for event in TicketEvent.objects.filter(ticket=ticket, kind=EventKind.FOLLOW_UP, created_at__gte=summary_at):
            if event.data.get("action") == "team_notified":
                notified.update(event.data.get("team_ids", []))
        recipients = Notification.objects.filter(
            ticket=ticket, kind__in=TEAM_RESOLUTION_NOTIFICATION_KINDS, created_at__gte=summary_at
        ).values("recipient_id")
        notified.update(
            Team.objects.filter(memberships__user_id__in=recipients).values_list("pk", flat=True).distinct()
        )
    missing_teams = [team for team in teams if team.pk not in notified]
    team_names = ", ".join(team.name for team in (missing_teams or teams)) or "none recorded"
    items = [
        ChecklistItem(
            key="summary",
            label="Resolution summary recorded",
            done=bool(summary.strip()),
            missing_message="No resolution summary yet: record what was done to fix the problem.",
            detail=summary,
        ),
        ChecklistItem(
            key="customer",
            label="Resolution sent to the customer",
            done=told_customer,
            missing_message=(
                "The customer has not been sent the resolution: reply publicly after the summary, "
                "or send the automatic resolution message."
            ),
        ),
        ChecklistItem(
            key="team",
            label=f"Escalating team notified ({team_names})",
            done=bool(summary_at) and not missing_teams,
            missing_message=f"The team that escalated ({team_names}) has not been notified of the resolution.",
        ),
    ]
    return ResolutionChecklist(
        escalated=True, summary=summary, summary_at=summary_at, escalating_teams=teams, items=items
    )


# --- follow-ups and RCAs --------------------------------------------------------------------------------------


def follow_ups_visible_to(user: User) -> FollowUpTaskQuerySet:
    """Staff see the follow-ups of tickets they can see; managers see everyone's."""
    if not user.is_authenticated or not user.is_staff_member:
        return FollowUpTask.objects.none()
    return FollowUpTask.objects.filter(ticket_visibility_q_for(user, prefix="ticket__")).select_related(
        "ticket__customer", "ticket__organization__plan", "owner", "survey"
    )


def follow_ups_for(*, user: User, scope: str = "mine") -> QuerySet[FollowUpTask]:
    """My follow-ups (open first, soonest due first); ``scope="all"`` shows managers every open task."""
    qs = follow_ups_visible_to(user)
    if scope == "all" and user.is_manager:
        return qs.open().order_by("due_at", "id")
    return qs.filter(owner=user).order_by("done_at", "due_at", "id")


def follow_up_get_for_user(*, user: User, pk: int) -> FollowUpTask:
    task = follow_ups_visible_to(user).filter(pk=pk).first()
    if task is None:
        raise Http404("No such follow-up.")
    return task


def rcas_visible_to(user: User) -> QuerySet[RootCauseAnalysis]:
    if not user.is_authenticated or not user.is_staff_member:
        return RootCauseAnalysis.objects.none()
    return RootCauseAnalysis.objects.filter(ticket_visibility_q_for(user, prefix="ticket__")).select_related(
        "ticket__organization", "created_by", "reviewed_by", "escalation"
    )


def rcas_for_review(*, user: User, reviewed: bool = False) -> QuerySet[RootCauseAnalysis]:
    """The managers' queue: RCAs not yet reviewed, oldest first (or the reviewed ones, newest first)."""
    qs = rcas_visible_to(user).prefetch_related("actions__owner")
    if reviewed:
        return qs.filter(reviewed_at__isnull=False).order_by("-reviewed_at")
    return qs.filter(reviewed_at__isnull=True).order_by("created_at", "id")


def rca_get_for_user(*, user: User, pk: int) -> RootCauseAnalysis:
    rca = rcas_visible_to(user).filter(pk=pk).first()
    if rca is None:
        raise Http404("No such root-cause analysis.")
    return rca


def corrective_actions_visible_to(user: User) -> QuerySet[CorrectiveAction]:
    """The corrective actions of the RCAs a user may see (staff; the ticket visibility rule)."""
    if not user.is_authenticated or not user.is_staff_member:
        return CorrectiveAction.objects.none()
    return CorrectiveAction.objects.filter(ticket_visibility_q_for(user, prefix="rca__ticket__"))


def survey_results_visible_to(user: User) -> SurveyQuerySet:
    """Answered surveys of the tickets a staff member may see (the survey results; customers answer through their
    signed link and read no results)."""
    if not user.is_authenticated or not user.is_staff_member:
        return Survey.objects.none()
    return Survey.objects.answered().filter(ticket_visibility_q_for(user, prefix="ticket__"))


def survey_for_ticket(*, ticket: Ticket) -> Survey | None:
    return Survey.objects.filter(ticket=ticket).first()


@dataclass(frozen=True)
class SurveyGroupStats:
    label: str
    answered: int
    avg_csat: float | None
    fixed_rate: float | None
    avg_explain_count: float | None
    avg_nps: float | None


def survey_comparison(*, user: User, since: datetime | None = None) -> list[SurveyGroupStats]:
    """Escalated vs. sampled non-escalated surveys side by side (answered ones, on tickets the user can see)."""
    from django.db.models import Avg, Count, Q

    qs = Survey.objects.answered().filter(ticket_visibility_q_for(user, prefix="ticket__"))
    if since is not None:
        qs = qs.filter(answered_at__gte=since)
    rows = []
    for label, escalated in (("Escalated", True), ("Not escalated (sample)", False)):
        agg = qs.filter(is_escalated=escalated).aggregate(
            answered=Count("pk"),
            csat=Avg("csat"),
            fixed=Count("pk", filter=Q(fixed=True)),
            explain=Avg("explain_count"),
            nps=Avg("nps"),
        )
        n = agg["answered"]
        rows.append(
            SurveyGroupStats(
                label=label,
                answered=n,
                avg_csat=round(agg["csat"], 2) if agg["csat"] is not None else None,
                fixed_rate=round(agg["fixed"] / n, 2) if n else None,
                avg_explain_count=round(agg["explain"], 2) if agg["explain"] is not None else None,
                avg_nps=round(agg["nps"], 1) if agg["nps"] is not None else None,
            )
        )
    return rows
