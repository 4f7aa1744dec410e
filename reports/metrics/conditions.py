"""What a ticket, an escalation, a clock, a survey or a compensation request counts as: the conditions the metrics
(and coaching) count with, as ``Q`` objects and subqueries evaluated in the database."""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)

from escalations.models import ClockState, CompensationStatus, Escalation, EscalationStatus
from helpdesk.models import EventKind, Status, TicketEvent, Tier
from knowledge_base.models import Article, ArticleStatus, ArticleUse


def created_since(qs: QuerySet, since: dt.datetime | None) -> QuerySet:
    return qs.filter(created_at__gte=since) if since is not None else qs


# The ticket conditions are ``pk IN (uncorrelated subquery)``: PostgreSQL builds each set once per query (a hashed
# subplan) instead of probing an index for every ticket. ``since`` is the start of the cohort: nothing happens to a
# ticket before it exists, so it bounds every set without changing the answer.


def ticket_escalated(since: dt.datetime | None = None) -> Q:
    return Q(pk__in=created_since(Escalation.objects.all(), since).values("ticket"))


def _reopen_q() -> Q:
    """Reopen = a status change from resolved back to open (the customer replied, or staff reopened it)."""
    return Q(kind=EventKind.STATUS_CHANGED, data__from=Status.RESOLVED, data__to=Status.OPEN)


def _one_reply_never_reopened(since: dt.datetime | None) -> QuerySet:
    """Tickets with exactly one agent reply and no reopen, from one pass over their events."""
    reply = Q(kind=EventKind.AGENT_REPLY)
    return (
        created_since(TicketEvent.objects.filter(reply | _reopen_q()), since)
        .order_by()
        .values("ticket")
        .annotate(replies=Count("pk", filter=reply), reopens=Count("pk", filter=_reopen_q()))
        .filter(replies=1, reopens=0)
        .values("ticket")
    )


def ticket_first_contact_resolved(since: dt.datetime | None = None) -> Q:
    """Resolved (or closed) by tier 1, with exactly one agent reply, never escalated and never reopened."""
    return (
        Q(status__in=(Status.RESOLVED, Status.CLOSED), tier=Tier.AGENT)
        & Q(pk__in=_one_reply_never_reopened(since))
        & ~ticket_escalated(since)
    )


def ticket_resolved(since: dt.datetime | None = None) -> Q:
    return Q(status__in=(Status.RESOLVED, Status.CLOSED))


def ticket_bounced(since: dt.datetime | None = None) -> Q:
    """Escalated and then returned by a receiver, or escalated more than once (re-escalated or escalated further)."""
    escalations = created_since(Escalation.objects.all(), since).order_by()
    returned = escalations.filter(status=EscalationStatus.RETURNED).values("ticket")
    repeated = escalations.values("ticket").annotate(hops=Count("pk")).filter(hops__gte=2).values("ticket")
    return Q(pk__in=returned) | Q(pk__in=repeated)


def escalation_is_first() -> Q:
    """The ticket's first escalation (no earlier one on the same ticket)."""
    earlier = Escalation.objects.filter(ticket=OuterRef("ticket")).filter(
        Q(created_at__lt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))
    )
    return ~Q(Exists(earlier))


def kb_article_existed_and_not_opened_q() -> Q:
    """The second "avoidable" clause, on an escalation: a *published* KB article for the ticket's category existed
    when the escalation was raised (``status == "published"`` now and ``published_at`` at or before the escalation),
    and nobody had used an article on the ticket before escalating.

    "Opened" is what the knowledge base records against a ticket: an ``ArticleUse`` row (an agent marked the ticket
    "resolved/answered with this article"; it also writes a ``kb`` TicketEvent with ``action = "resolved_with"``).
    Other ``kb`` TicketEvents are *not* openings: the knowledge base writes them when it drafts an article from the
    escalation or from its RCA, i.e. after the fact. An article archived since is not counted (the knowledge base
    keeps no archive date), and a ticket without a category never matches."""
    published = Article.objects.filter(category=OuterRef("ticket__category"), status=ArticleStatus.PUBLISHED).filter(
        Q(published_at__isnull=True) | Q(published_at__lte=OuterRef("created_at"))
    )
    used = ArticleUse.objects.filter(ticket=OuterRef("ticket"), created_at__lte=OuterRef("created_at"))
    return Q(Exists(published)) & ~Q(Exists(used))


def escalation_avoidable() -> Q:
    """Avoidable: returned by the receiver (it could have been handled below), or a published article for the
    category existed and was not opened."""
    return Q(status=EscalationStatus.RETURNED) | kb_article_existed_and_not_opened_q()


def duration_between(later: str, earlier: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(later) - F(earlier), output_field=DurationField())


# --- SLA clocks, surveys, compensation ------------------------------------------------------------------------

SATISFIED_CSAT = 4
LOW_CSAT = 2  # a score at or below it is a "low CSAT" on the dashboard's attention panel
GRANTED = (CompensationStatus.AUTO_APPROVED, CompensationStatus.APPROVED)


def sla_clock_decided(target: str | None = None) -> Q:
    """A clock with an outcome: breached (its deadline passed, whatever happened next) or met."""
    decided = Q(breached_at__isnull=False) | Q(state=ClockState.MET)
    return decided & Q(target=target) if target else decided


def sla_clock_met() -> Q:
    """Met in time: met and never breached (``breached_at`` stays set on a clock met late)."""
    return Q(state=ClockState.MET, breached_at__isnull=True)


HANDOFF_STATUSES = (EscalationStatus.RESOLVED, EscalationStatus.SUPERSEDED, EscalationStatus.RETURNED)


# --- time in tier -----------------------------------------------------------------------------------------------

# The tiers that receive escalations; tier 1's time is measured on the tickets instead (``ticket_tier_one_q``).
RECEIVING_TIERS = (Tier.SPECIALIST, Tier.EXECUTIVE)


def ticket_tier_one_escalated_q(since: dt.datetime | None = None) -> Q:
    """Escalated, and its first escalation came from tier 1 (the ticket's origin tier is 1)."""
    first = Escalation.objects.filter(escalation_is_first(), from_tier=Tier.AGENT)
    return Q(pk__in=created_since(first, since).values("ticket"))


def ticket_tier_one_resolved_q(since: dt.datetime | None = None) -> Q:
    """Never escalated, handled by tier 1 and resolved."""
    return ~ticket_escalated(since) & Q(tier=Tier.AGENT, resolved_at__isnull=False)


def ticket_tier_one_q(since: dt.datetime | None = None) -> Q:
    """A ticket whose time in tier 1 is known: escalated from tier 1 (until the first escalation), or never escalated
    and resolved by tier 1 (until its resolution)."""
    return ticket_tier_one_escalated_q(since) | ticket_tier_one_resolved_q(since)


def ticket_tier_one_duration(since: dt.datetime | None = None) -> Case:
    """A ticket's time in tier 1 (``None`` unless ``ticket_tier_one_q``): creation to first escalation, or to
    resolution when it was never escalated."""
    first_at = Subquery(
        Escalation.objects.filter(ticket=OuterRef("pk")).order_by("created_at", "pk").values("created_at")[:1],
        output_field=DateTimeField(),
    )
    return Case(
        When(
            ticket_tier_one_escalated_q(since),
            then=ExpressionWrapper(first_at - F("created_at"), output_field=DurationField()),
        ),
        When(ticket_tier_one_resolved_q(since), then=duration_between("resolved_at", "created_at")),
        default=None,
        output_field=DurationField(),
    )


def escalation_handed_off_q(to_tier: int) -> Q:
    """An escalation accepted by ``to_tier`` and then resolved or handed on (escalated further or returned): its
    time in that tier is ``closed_at - accepted_at``."""
    return Q(accepted_at__isnull=False, closed_at__isnull=False, status__in=HANDOFF_STATUSES, to_tier=to_tier)


def microseconds(value: dt.timedelta | int | float | None) -> int:
    """A summed duration as whole microseconds (the rollups' unit), whatever the backend returned."""
    if value is None:
        return 0
    if isinstance(value, dt.timedelta):
        return value // dt.timedelta(microseconds=1)
    return int(value)
