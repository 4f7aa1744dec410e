"""The manager dashboard's panels beside its metric tiles: what needs attention now, SLA breaches by team and plan,
compensation granted, top root causes, KB deflections and the articles escalated tickets had. Each reads through
``tickets_visible_to(viewer)`` with the dashboard's filters (``reports.metrics``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    Sum,
)

from escalations.calls.selectors import callbacks_attention
from escalations.models import (
    CompensationRequest,
    CompensationStatus,
)
from escalations.selectors import oncall_board_for
from escalations.sla.selectors import sla_breaches_between
from feedback.models import ActionStatus, CauseCategory, CorrectiveAction, RootCauseAnalysis
from helpdesk.models import (
    User,
)
from helpdesk.selectors import ticket_visibility_q_for, tickets_visible_to
from knowledge_base.models import Article, ArticleUse, Deflection
from reports.metrics import (
    GRANTED,
    LOW_CSAT,
    METRICS,
    SOURCE_TIME,
    BreakdownRow,
    MetricFilters,
    dimension_labels,
    rollups,
    source_rows,
)

# --- needs attention now ---------------------------------------------------------------------------------------

ATTENTION_LOW_CSAT_DAYS = 28
# Counts of the live lists stop here ("100+"): past it a manager needs the queue, not a number.
ATTENTION_COUNT_CAP = 100


def needs_attention(
    *, viewer: User, now: dt.datetime, limit: int = 8, period: MetricFilters | None = None
) -> dict[str, Any]:
    """SLA breaches today (UTC, by their true deadline), open emergencies, tickets inside their SLA warning window
    (``Ticket.objects.sla_warning``: the policy's warn %), due and overdue callbacks, compensation waiting for
    approval, and the low CSAT scores of ``period`` (the dashboard's period; 28 days by default). Lists and counts
    come from ``tickets_visible_to(viewer)``, so nothing leaks to a viewer who cannot see it; the low scores' count
    is a measure of the same source as the CSAT tile (``low_csat_count``), read the same way (rollups or facts).
    Emergencies and breaching soon are counted up to ``ATTENTION_COUNT_CAP`` (``*_more`` says there are more).
    ``on_call`` is the escalation inbox's board (``oncall_board_for``): who of the viewer's teams is on call now, the
    backup and the hand-over."""
    visible = tickets_visible_to(viewer).open()
    emergencies = visible.filter(is_emergency=True).order_by(F("sla_due_at").asc(nulls_last=True), "created_at")
    breaching = visible.sla_warning(now).order_by("sla_due_at")
    result: dict[str, Any] = {
        "emergencies": list(emergencies.with_list_related()[:limit]),
        "breaching": list(breaching.with_list_related()[:limit]),
    }
    # Live lists, so their cost must not grow with the history: emergencies read the queue-order index, tickets
    # past their warning point the SLA-warning index (``ticket_sla_warning``: open tickets with a running clock),
    # each count stopping at ``ATTENTION_COUNT_CAP`` (a longer list shows as "100+").
    for name, qs in (("emergency", emergencies), ("breaching", breaching.order_by())):
        count = qs[: ATTENTION_COUNT_CAP + 1].count()
        result[f"{name}_count"] = min(count, ATTENTION_COUNT_CAP)
        result[f"{name}_more"] = count > ATTENTION_COUNT_CAP
    today = MetricFilters.last_days(now=now, days=1)
    result["sla_breaches_today"] = sla_breaches_between(user=viewer, start=today.start, end=today.end)
    pending = CompensationRequest.objects.filter(
        ticket_visibility_q_for(viewer, prefix="ticket__"), status=CompensationStatus.PENDING
    ).order_by("created_at", "pk")
    result["pending_approvals"] = list(pending.select_related("ticket", "requested_by")[:limit])
    result["pending_approval_count"] = pending.count()
    period = period or MetricFilters.last_days(now=now, days=ATTENTION_LOW_CSAT_DAYS)
    low = source_rows("surveys", filters=period, viewer=viewer, start=period.start, end=period.end).filter(
        csat__lte=LOW_CSAT
    )
    # The latest few, read backwards along the answer-time index; the total is the surveys source's low-score
    # measure, from the daily rollups when they serve (as the CSAT tile is), else from the same rows.
    result["low_csat"] = list(low.select_related("ticket").order_by(f"-{SOURCE_TIME['surveys']}", "-pk")[:limit])
    result["low_csat_count"] = low_csat_count(filters=period, viewer=viewer)
    result["low_csat_days"] = (period.end - period.start).days
    result["callbacks"] = callbacks_attention(user=viewer, now=now, limit=limit)
    result["on_call"] = oncall_board_for(user=viewer, now=now)
    return result


def low_csat_count(*, filters: MetricFilters, viewer: User | None = None) -> int:
    """Surveys answered in the period with a score of ``LOW_CSAT`` or less: the surveys source's ``m4`` measure,
    from the daily rollups when they serve, else from the facts (one query)."""
    if rollups.rollups_serve(filters=filters, viewer=viewer):
        start, end = rollups.utc_day(filters.start), rollups.utc_day(filters.end)
        return rollups.rollup_column_sums("surveys", ["m4"], filters=filters, start=start, end=end)["m4"]
    facts = source_rows("surveys", filters=filters, viewer=viewer, start=filters.start, end=filters.end)
    return facts.aggregate(**rollups.measure_aggregates("surveys", ["m4"], filters.start))["m4"]


def sla_breaches_by_team_and_plan(
    *, filters: MetricFilters, viewer: User | None = None
) -> tuple[list[BreakdownRow], list[BreakdownRow]]:
    """The ``sla_breaches`` metric by team and by plan from one pass over the clocks (one query grouped by both,
    summed here over a few rows; from the daily rollups, one query each), plus one query each to name the teams and
    plans. Groups without a breach are left out."""
    result = []
    per_dimension: dict[str, dict[Any, int]] = {"team": {}, "plan": {}}
    if rollups.rollups_serve(filters=filters, viewer=viewer):
        # From the daily rollups: one query per dimension, over its single-dimension rows.
        for by, totals in per_dimension.items():
            for row in rollups.rollup_sums(
                [METRICS["sla_breaches"]],
                filters=filters,
                start=rollups.utc_day(filters.start),
                end=rollups.utc_day(filters.end),
                group=by,
            ):
                n = row["sla_breaches__m3"]
                if n:
                    totals[row["group"]] = n
    else:
        qs = source_rows("sla_clocks", filters=filters, viewer=viewer, start=filters.start, end=filters.end)
        rows = list(
            qs.filter(breached_at__isnull=False)
            .values(team=F("ticket__team"), plan=F("ticket__organization__plan"))
            .annotate(n=Count("pk"))
            .order_by()
        )
        for by, totals in per_dimension.items():
            for row in rows:
                totals[row[by]] = totals.get(row[by], 0) + row["n"]
    for by, totals in per_dimension.items():
        labels = dimension_labels(by, list(totals))
        breakdown = [
            BreakdownRow(key=k, label=labels.get(k, "(none)"), value=float(n), num=n, den=None)
            for k, n in totals.items()
        ]
        result.append(sorted(breakdown, key=lambda r: (-(r.num or 0), r.label)))  # num is set on every row here
    return result[0], result[1]


# --- compensation, root causes, knowledge base ---------------------------------------------------------------


@dataclass(frozen=True)
class CompensationRow:
    currency: str
    approval: str  # "auto_approved" (within the requester's limit) or "approved" (by an approver)
    approver: str
    count: int
    total: Any  # Decimal, in ``currency``


def compensation_granted(*, filters: MetricFilters, viewer: User | None = None) -> list[CompensationRow]:
    """Compensation granted in the period, by type of approval (within the requester's own limit, or approved by
    someone) and approver, per currency (amounts in different currencies are never added). One query."""
    qs = source_rows("compensations", filters=filters, viewer=viewer, start=filters.start, end=filters.end)
    rows = (
        qs.filter(status__in=GRANTED)
        .values("currency", "status", "decided_by")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .order_by()
    )
    rows = list(rows)
    names = dimension_labels("approver", [row["decided_by"] for row in rows])
    result = [
        CompensationRow(
            currency=row["currency"],
            approval=row["status"],
            approver=names.get(row["decided_by"], "(within the requester's limit)")
            if row["status"] == CompensationStatus.APPROVED
            else "(within the requester's limit)",
            count=row["n"],
            total=row["total"],
        )
        for row in rows
    ]
    return sorted(result, key=lambda r: (r.currency, -r.total, r.approver))


@dataclass(frozen=True)
class RootCauseRow:
    cause: str
    label: str
    analyses: int
    preventable: int
    actions_open: int
    actions_overdue: int
    actions_done: int


def top_root_causes(
    *, filters: MetricFilters, viewer: User | None = None, today: dt.date | None = None, limit: int = 5
) -> list[RootCauseRow]:
    """The most frequent RCA cause categories of the period (RCAs written in it), with their corrective actions'
    status: open, of which overdue (due before ``today``), and done. Two queries, both grouped by cause."""
    today = today or filters.end.date()
    rcas = RootCauseAnalysis.objects.filter(created_at__gte=filters.start, created_at__lt=filters.end)
    if viewer is not None:
        rcas = rcas.filter(ticket_visibility_q_for(viewer, prefix="ticket__"))
    counts = list(
        rcas.values("cause_category")
        .annotate(n=Count("pk"), preventable=Count("pk", filter=Q(preventable=True)))
        .order_by("-n", "cause_category")[:limit]
    )
    causes = [row["cause_category"] for row in counts]
    actions: dict[str, Mapping[str, Any]] = {
        row["rca__cause_category"]: row
        for row in CorrectiveAction.objects.filter(rca__in=rcas, rca__cause_category__in=causes)
        .values("rca__cause_category")
        .annotate(
            open=Count("pk", filter=Q(status=ActionStatus.OPEN)),
            overdue=Count("pk", filter=Q(status=ActionStatus.OPEN, due_date__lt=today)),
            done=Count("pk", filter=Q(status=ActionStatus.DONE)),
        )
        .order_by()
    }
    labels = dict(CauseCategory.choices)
    return [
        RootCauseRow(
            cause=row["cause_category"],
            label=str(labels.get(row["cause_category"], row["cause_category"])),
            analyses=row["n"],
            preventable=row["preventable"],
            actions_open=actions.get(row["cause_category"], {}).get("open", 0),
            actions_overdue=actions.get(row["cause_category"], {}).get("overdue", 0),
            actions_done=actions.get(row["cause_category"], {}).get("done", 0),
        )
        for row in counts
    ]


DEFLECTION_WINDOW = dt.timedelta(hours=24)


def kb_deflections(*, filters: MetricFilters, now: dt.datetime) -> dict[str, int]:
    """Suggested articles customers opened in the period, and how many deflected a ticket, as the knowledge base
    defines it (``knowledge_base.models.Deflection``): settled (24 h passed) with no ticket submitted. ``confirmed``
    is the conservative lower bound (the customer said it solved the problem); ``pending`` are still inside their
    window. Deflections belong to no ticket, so there is nothing to hide from a viewer. One query."""
    settled_before = now - DEFLECTION_WINDOW
    return Deflection.objects.filter(opened_at__gte=filters.start, opened_at__lt=filters.end).aggregate(
        opened=Count("pk"),
        deflected=Count("pk", filter=Q(ticket__isnull=True, opened_at__lte=settled_before)),
        confirmed=Count("pk", filter=Q(ticket__isnull=True, confirmed_at__isnull=False)),
        submitted_anyway=Count("pk", filter=Q(ticket__isnull=False)),
        pending=Count("pk", filter=Q(ticket__isnull=True, opened_at__gt=settled_before)),
    )


@dataclass(frozen=True)
class ArticleRow:
    article_id: int
    title: str
    escalated_tickets: int


def articles_before_escalation(
    *, filters: MetricFilters, viewer: User | None = None, limit: int = 5
) -> list[ArticleRow]:
    """Articles that most often came before an escalation: per article, the tickets escalated in the period on which
    the article had been tried first, either by an agent (an ``ArticleUse`` before the escalation) or by the
    customer (a suggested article opened before submitting the ticket anyway, a ``Deflection`` with the ticket).
    Three grouped queries, exact: tickets per article by agents, plus by customers, minus the tickets counted
    by both (ArticleUse is unique per article and ticket; a ticket may carry several deflection rows)."""
    escalations = source_rows("escalations", filters=filters, viewer=viewer, start=filters.start, end=filters.end)
    # Driven by the period's escalations (``ticket IN (…)``, then the ticket index of the uses and openings), so the
    # cost follows the period, not every article use and opening ever recorded.
    escalated = escalations.values("ticket")
    by_agent = ArticleUse.objects.filter(ticket__in=escalated).filter(
        Exists(escalations.filter(ticket=OuterRef("ticket"), created_at__gte=OuterRef("created_at")))
    )
    by_customer = Deflection.objects.filter(ticket__in=escalated)
    both = by_agent.filter(Exists(by_customer.filter(article=OuterRef("article"), ticket=OuterRef("ticket"))))
    counts: dict[int, int] = {}
    for qs, sign in ((by_agent, 1), (by_customer, 1), (both, -1)):
        for row in qs.order_by().values("article").annotate(n=Count("ticket", distinct=True)):
            counts[row["article"]] = counts.get(row["article"], 0) + sign * row["n"]
    top = sorted(((pk, n) for pk, n in counts.items() if n > 0), key=lambda item: (-item[1], item[0]))[:limit]
    titles = dict(Article.objects.filter(pk__in=[pk for pk, _ in top]).values_list("pk", "title"))
    return [ArticleRow(article_id=pk, title=titles.get(pk, ""), escalated_tickets=n) for pk, n in top]
