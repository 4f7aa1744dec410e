"""Coaching: which agents stand out against their team (escalation and avoidable rates), what their escalated
categories are, and the KB articles worth reading for them. Computed over ``tickets_visible_to(viewer)`` with the
same filters and conditions as the dashboard's metrics (``reports.metrics``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Count,
    F,
    Window,
)
from django.db.models.functions import RowNumber

from feedback.models import CoachingItem
from helpdesk.models import (
    Team,
    User,
)
from helpdesk.selectors import ticket_visibility_q_for
from knowledge_base.models import Article
from reports.metrics import (
    MetricFilters,
    escalation_avoidable,
    source_rows,
    ticket_escalated,
    ticket_origin_agent,
    ticket_origin_team,
)

# --- coaching --------------------------------------------------------------------------------------------------

COACHING_FACTOR = 1.5
COACHING_MIN_TICKETS = 5


@dataclass
class CoachingRow:
    agent: User
    team: Team
    tickets: int
    escalated: int
    escalation_rate: float
    team_escalation_rate: float | None
    escalations: int
    avoidable: int
    avoidable_rate: float | None
    team_avoidable_rate: float | None
    flags: list[str]
    top_categories: list[tuple[str, int]]
    kb_articles: list[Article] = field(default_factory=list)
    coaching_items: list[CoachingItem] = field(default_factory=list)


def _pct(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 1) if den else None


def coaching_candidates(
    *,
    filters: MetricFilters,
    viewer: User | None = None,
    factor: float = COACHING_FACTOR,
    min_tickets: int = COACHING_MIN_TICKETS,
) -> list[CoachingRow]:
    """Agents whose escalation rate or avoidable-escalation rate is *well above* their team's.

    "Well above" means: the agent handled at least ``min_tickets`` (5) tickets of the cohort as their origin agent,
    and their rate is at least ``factor`` (1.5) times the rate of the whole team (the agent included) and above
    zero. The team is the origin team of the tickets (escalation rate) or the team that raised the escalations
    (avoidable rate); an agent who works for two teams is compared with each. Three queries: tickets per (team,
    agent), escalations per (team, agent), and the top three escalated categories per flagged agent (a window
    function ranks them in the database); then, for the flagged agents, the published KB articles of those
    categories and their coaching items from RCAs (one query each)."""
    tickets = source_rows("tickets", filters=filters, viewer=viewer, start=filters.start, end=filters.end)
    ticket_rows = list(
        tickets.annotate(team_key=ticket_origin_team(), agent_key=ticket_origin_agent())
        .values("team_key", "agent_key")
        .annotate(handled=Count("pk"), escalated=Count("pk", filter=ticket_escalated(filters.start)))
        .order_by()
    )
    escalations = source_rows("escalations", filters=filters, viewer=viewer, start=filters.start, end=filters.end)
    escalation_rows = list(
        escalations.values("from_team", "requested_by")
        .annotate(total=Count("pk"), avoidable=Count("pk", filter=escalation_avoidable()))
        .order_by()
    )
    team_tickets: dict[Any, list[int]] = {}
    for row in ticket_rows:
        totals = team_tickets.setdefault(row["team_key"], [0, 0])
        totals[0] += row["handled"]
        totals[1] += row["escalated"]
    team_escalations: dict[Any, list[int]] = {}
    agent_escalations: dict[tuple[Any, Any], tuple[int, int]] = {}
    for row in escalation_rows:
        totals = team_escalations.setdefault(row["from_team"], [0, 0])
        totals[0] += row["total"]
        totals[1] += row["avoidable"]
        agent_escalations[(row["from_team"], row["requested_by"])] = (row["total"], row["avoidable"])

    candidates: list[dict[str, Any]] = []
    for row in ticket_rows:
        team_id, agent_id = row["team_key"], row["agent_key"]
        if team_id is None or agent_id is None or row["handled"] < min_tickets:
            continue
        rate = _pct(row["escalated"], row["handled"]) or 0.0
        team_handled, team_escalated = team_tickets[team_id]
        team_rate = _pct(team_escalated, team_handled)
        total, avoidable = agent_escalations.get((team_id, agent_id), (0, 0))
        team_total, team_avoidable = team_escalations.get(team_id, [0, 0])
        avoidable_rate, team_avoidable_rate = _pct(avoidable, total), _pct(team_avoidable, team_total)
        flags = []
        if rate > 0 and team_rate is not None and rate >= factor * team_rate:
            flags.append("escalation_rate")
        if avoidable_rate and team_avoidable_rate is not None and avoidable_rate >= factor * team_avoidable_rate:
            flags.append("avoidable_rate")
        if flags:
            candidates.append(
                {
                    "agent_id": agent_id,
                    "team_id": team_id,
                    "tickets": row["handled"],
                    "escalated": row["escalated"],
                    "escalation_rate": rate,
                    "team_escalation_rate": team_rate,
                    "escalations": total,
                    "avoidable": avoidable,
                    "avoidable_rate": avoidable_rate,
                    "team_avoidable_rate": team_avoidable_rate,
                    "flags": flags,
                }
            )
    if not candidates:
        return []
    agent_ids = {c["agent_id"] for c in candidates}
    users = User.objects.in_bulk(agent_ids)
    teams = Team.objects.in_bulk({c["team_id"] for c in candidates})
    top = top_escalated_categories(agent_ids=agent_ids, filters=filters, viewer=viewer)
    rows = [
        CoachingRow(
            agent=users[c.pop("agent_id")],
            team=teams[c.pop("team_id")],
            top_categories=[],
            **c,
        )
        for c in candidates
    ]
    for row in rows:
        row.top_categories = top.get(row.agent.pk, [])
    names = {name for row in rows for name, _ in row.top_categories}
    articles = kb_articles_for_categories(category_names=names)
    items = coaching_items_for(agent_ids=agent_ids, viewer=viewer)
    for row in rows:
        row.kb_articles = [a for name, _ in row.top_categories for a in articles.get(name, [])]
        row.coaching_items = items.get(row.agent.pk, [])
    return sorted(rows, key=lambda r: (-(r.escalation_rate or 0), r.agent.display_name))


def top_escalated_categories(
    *, agent_ids: set[int], filters: MetricFilters, viewer: User | None = None, limit: int = 3
) -> dict[int, list[tuple[str, int]]]:
    """Per agent, the categories they escalated most in the period, ranked by a window function (one query)."""
    escalations = source_rows("escalations", filters=filters, viewer=viewer, start=filters.start, end=filters.end)
    ranked = (
        escalations.filter(requested_by__in=agent_ids)
        .values("requested_by", "ticket__category__name")
        .annotate(n=Count("pk"))
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("requested_by")],
                order_by=[F("n").desc(), F("ticket__category__name").asc(nulls_last=True)],
            )
        )
        .filter(rank__lte=limit)
        .order_by("requested_by", "rank")
    )
    result: dict[int, list[tuple[str, int]]] = {}
    for row in ranked:
        result.setdefault(row["requested_by"], []).append((row["ticket__category__name"] or "(no category)", row["n"]))
    return result


def kb_articles_for_categories(*, category_names: set[str], per_category: int = 3) -> dict[str, list[Article]]:
    """The most helpful published articles of each category, at most ``per_category`` each (one query, ranked by
    a window function)."""
    if not category_names:
        return {}
    ranked = (
        Article.objects.published()
        .filter(category__name__in=category_names)
        .select_related("category")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("category")],
                order_by=[F("helpful_count").desc(), F("title").asc(), F("pk").asc()],
            )
        )
        .filter(rank__lte=per_category)
        .order_by("category__name", "rank")
    )
    result: dict[str, list[Article]] = {}
    for article in ranked:
        assert article.category is not None  # filtered on category__name__in
        result.setdefault(article.category.name, []).append(article)
    return result


def coaching_items_for(
    *, agent_ids: set[int], viewer: User | None = None, per_agent: int = 5
) -> dict[int, list[CoachingItem]]:
    """The latest coaching items that RCAs raised for each agent, on tickets the viewer may see (one query)."""
    if not agent_ids:
        return {}
    items = CoachingItem.objects.filter(agent__in=agent_ids)
    if viewer is not None:
        items = items.filter(ticket_visibility_q_for(viewer, prefix="rca__ticket__"))
    ranked = (
        items.select_related("rca__ticket")
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("agent")], order_by=[F("created_at").desc(), F("pk").desc()])
        )
        .filter(rank__lte=per_agent)
        .order_by("agent", "rank")
    )
    result: dict[int, list[CoachingItem]] = {}
    for item in ranked:
        result.setdefault(item.agent_id, []).append(item)
    return result
