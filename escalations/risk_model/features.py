"""What the likely-to-escalate model knows about a ticket at a moment: one row per ticket, built for many tickets
with a constant number of queries (the timeline, the customers' and organisations' escalations and survey answers,
the SLA clocks), whatever the number of tickets.

The features follow Montgomery et al. (2020), "Customer Support Ticket Escalation Prediction using Feature
Engineering": the customer's and the organisation's recent escalations and satisfaction, the ticket's plan,
priority and its changes, reopenings, the number and rhythm of the customer's messages, how long the customer has
been waiting for us against the response target, bounces between teams, category and channel; and the words:
the customer's text (TF-IDF in the pipeline), VADER sentiment (its rules handle negation: "not happy" is negative)
and the hard signals of the rule detector (``escalations.risk``).

Every feature is read *as of* a moment: for live scoring that is now; for training it is the moment just before
the ticket's first escalation (or its resolution), so nothing that happened after the prediction would have been
made leaks into the model.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from escalations import conf
from escalations.models import Escalation, SLAClock
from escalations.risk import REPEATED_CONTACT_THRESHOLD, fade, risk_detect
from helpdesk.models import OPEN_STATUSES, EventKind, Ticket, TicketEvent

HISTORY_DAYS = 90
CSAT_DAYS = 365
RECENT_SIGNAL_DAYS = 7
DEFAULT_RESPONSE_SECONDS = 8 * 3600  # when a ticket has no response clock (no SLA policy)
TEXT_LIMIT = 1500  # characters of the customer's most recent words fed to the text features
_CHUNK = 900  # ids per IN (...) list: well under SQLite's variable limit

_EVENT_KINDS = (
    EventKind.CREATED,
    EventKind.CUSTOMER_MESSAGE,
    EventKind.AGENT_REPLY,
    EventKind.PRIORITY_CHANGED,
    EventKind.STATUS_CHANGED,
    EventKind.ASSIGNED,
)
_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
_CLOSED = ("resolved", "closed")


@lru_cache(maxsize=1)
def _vader():
    # The analyser reads the lexicon shipped inside the package once per process; nothing is downloaded.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    """VADER's compound score, -1 (very negative) to 1 (very positive)."""
    return float(_vader().polarity_scores(text or "")["compound"]) if text else 0.0


@lru_cache(maxsize=8192)
def _signals(text: str, recent: int) -> tuple[tuple[str, int], ...]:
    # A ticket is re-read on each of its messages; its earlier messages' signals do not change. (The detector only
    # distinguishes fewer recent messages than its threshold from that many or more.)
    return tuple((signal.code, signal.weight) for signal in risk_detect(text, recent_customer_messages=recent).signals)


def _half_life() -> float:
    return float(conf.get("ESCALATION_RISK_HALF_LIFE_DAYS"))


@lru_cache(maxsize=8192)
def _sentiment(text: str) -> float:
    return sentiment(text)


def pick_text(rows: Sequence[dict]) -> list[str]:
    """The pipeline's text column. A module-level function, so a saved pipeline can name it."""
    return [row["text"] for row in rows]


def pick_facts(rows: Sequence[dict]) -> list[dict]:
    """The pipeline's engineered features (numbers and ``name=value`` categories for a DictVectorizer)."""
    return [row["facts"] for row in rows]


def _chunks(ids: list[int]):
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _count_between(times: list[datetime], start: datetime, end: datetime) -> int:
    return bisect.bisect_left(times, end) - bisect.bisect_left(times, start)


def features_for(tickets: Sequence[Ticket], *, as_of: Mapping[int, datetime]) -> list[dict]:
    """One feature row per ticket (in the order given), each read as of ``as_of[ticket.pk]``. The tickets should come
    with ``organization__plan`` and ``category`` loaded. Five queries per 900 tickets.

    A row is ``{"ticket_id", "text", "facts", "raw"}``: ``text`` for the TF-IDF features, ``facts`` for the
    DictVectorizer, ``raw`` the readable values the explanations quote."""
    if not tickets:
        return []
    ids = [ticket.pk for ticket in tickets]
    latest = max(as_of.values())
    earliest = min(as_of.values())

    events: dict[int, list[tuple]] = defaultdict(list)
    for chunk in _chunks(ids):
        for row in (
            TicketEvent.objects.filter(ticket_id__in=chunk, kind__in=_EVENT_KINDS, created_at__lte=latest)
            .order_by("ticket_id", "created_at", "pk")
            .values_list("ticket_id", "kind", "is_public", "created_at", "body", "data")
        ):
            events[row[0]].append(row)

    # A customer's tickets belong to their organisation, so one indexed filter on the organisations (no OR across
    # joins) finds both the customers' and the organisations' history; it is split per customer below.
    org_ids = sorted({ticket.organization_id for ticket in tickets})
    by_customer: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    by_org: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    # Escalated tickets, counted once per ticket (a ticket's first hop), of the same customers and organisations.
    first_hops: dict[int, tuple[datetime, int, int]] = {}
    for ticket_id, customer_id, org_id, created in (
        Escalation.objects.filter(
            ticket__organization_id__in=org_ids,
            created_at__gte=earliest - timedelta(days=HISTORY_DAYS),
            created_at__lt=latest,
        )
        .order_by("created_at", "pk")
        .values_list("ticket_id", "ticket__customer_id", "ticket__organization_id", "created_at")
    ):
        first_hops.setdefault(ticket_id, (created, customer_id, org_id))
    for ticket_id, (created, customer_id, org_id) in sorted(first_hops.items(), key=lambda item: item[1][0]):
        by_customer[customer_id].append((created, ticket_id))
        by_org[org_id].append((created, ticket_id))

    csat_customer: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    csat_org: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    # Survey answers are read from the timeline (the survey's own event), so escalations never imports feedback.
    for customer_id, org_id, created, data in (
        TicketEvent.objects.filter(
            ticket__organization_id__in=org_ids,
            kind=EventKind.SURVEY,
            created_at__gte=earliest - timedelta(days=CSAT_DAYS),
            created_at__lt=latest,
        )
        .order_by("created_at", "pk")
        .values_list("ticket__customer_id", "ticket__organization_id", "created_at", "data")
    ):
        if (data or {}).get("action") == "answered" and isinstance((data or {}).get("csat"), int):
            csat_customer[customer_id].append((created, data["csat"]))
            csat_org[org_id].append((created, data["csat"]))

    clocks: dict[int, list[tuple]] = defaultdict(list)
    for chunk in _chunks(ids):
        for clock in SLAClock.objects.filter(ticket_id__in=chunk).values_list(
            "ticket_id", "target", "target_seconds", "breached_at"
        ):
            clocks[clock[0]].append(clock)

    return [
        _row(
            ticket,
            at=as_of[ticket.pk],
            events=events.get(ticket.pk, []),
            customer_hops=by_customer.get(ticket.customer_id, []),
            org_hops=by_org.get(ticket.organization_id, []),
            csat_customer=csat_customer.get(ticket.customer_id, []),
            csat_org=csat_org.get(ticket.organization_id, []),
            clocks=clocks.get(ticket.pk, []),
        )
        for ticket in tickets
    ]


def _past(hops: list[tuple[datetime, int]], *, at: datetime, exclude: int) -> int:
    start = at - timedelta(days=HISTORY_DAYS)
    return sum(1 for created, ticket_id in hops if start <= created < at and ticket_id != exclude)


def _row(
    ticket: Ticket,
    *,
    at: datetime,
    events: list[tuple],
    customer_hops: list,
    org_hops: list,
    csat_customer: list,
    csat_org: list,
    clocks: list,
) -> dict:
    events = [event for event in events if event[3] <= at]
    customer_times: list[datetime] = []
    customer_texts: list[str] = []
    last_agent_reply: datetime | None = None
    waiting_since: datetime | None = None
    priority_changes = priority_raised = reopens = bounces = agent_replies = 0
    for _, kind, is_public, created, body, data in events:
        data = data or {}
        if kind in (EventKind.CREATED, EventKind.CUSTOMER_MESSAGE):
            customer_times.append(created)
            customer_texts.append(body or "")
            waiting_since = waiting_since or created
        elif kind == EventKind.AGENT_REPLY and is_public:
            agent_replies += 1
            last_agent_reply = created
            waiting_since = None
        elif kind == EventKind.PRIORITY_CHANGED:
            priority_changes += 1
            priority_raised += int(_RANK.get(str(data.get("to")), 1) > _RANK.get(str(data.get("from")), 1))
        elif kind == EventKind.STATUS_CHANGED:
            reopens += int(data.get("from") in _CLOSED and data.get("to") in OPEN_STATUSES)
        elif kind == EventKind.ASSIGNED:
            bounces += int(bool(data.get("from_team")) and data.get("from_team") != data.get("to_team"))
    if not customer_texts and ticket.description:
        customer_texts, customer_times = [ticket.description], [ticket.created_at]

    response_seconds = DEFAULT_RESPONSE_SECONDS
    targets = {target: seconds for _, target, seconds, _ in clocks}
    for target in ("next_response", "first_response"):
        if targets.get(target):
            response_seconds = targets[target]
            break
    breached = any(breached_at is not None and breached_at <= at for *_, breached_at in clocks)
    # Wall-clock wait against the response target: a simple, explainable stand-in for business time.
    waiting_hours = (at - waiting_since).total_seconds() / 3600 if waiting_since else 0.0
    waiting_share = waiting_hours * 3600 / response_seconds if waiting_since else 0.0

    # The rule detector over the same messages, dated, faded by the same rule as the live assessment: its codes
    # are features, and its score is the "rules only" baseline the evaluation compares against.
    recent_codes: set[str] = set()
    dated: dict[str, dict] = {}
    recent_start = at - timedelta(days=RECENT_SIGNAL_DAYS)
    for index, (created, text) in enumerate(zip(customer_times, customer_texts, strict=True)):
        if created < recent_start:
            continue
        recent = _count_between(customer_times, created - timedelta(days=7), created) + 1
        for code, weight in _signals(text, min(recent if index else 0, REPEATED_CONTACT_THRESHOLD)):
            recent_codes.add(code)
            dated[code] = {"code": code, "weight": weight, "at": created.isoformat()}
    _, rules_score = fade(list(dated.values()), now=at, half_life_days=_half_life(), undated=at)

    scores = [_sentiment(text) for text in customer_texts[-5:]]
    last_sentiment = scores[-1] if scores else 0.0
    customer_csat = [csat for created, csat in csat_customer if created < at]
    org_csat = [csat for created, csat in csat_org if created < at]
    plan = ticket.organization.plan
    raw: dict[str, Any] = {
        "customer_escalations_90d": _past(customer_hops, at=at, exclude=ticket.pk),
        "org_escalations_90d": _past(org_hops, at=at, exclude=ticket.pk),
        "customer_low_csat": sum(1 for csat in customer_csat if csat <= 2),
        "customer_csat_mean": round(sum(customer_csat) / len(customer_csat), 2) if customer_csat else None,
        "org_csat_mean": round(sum(org_csat) / len(org_csat), 2) if org_csat else None,
        "plan": plan.code if plan else "",
        "plan_name": plan.name if plan else "",
        "priority": ticket.priority,
        "priority_changes": priority_changes,
        "priority_raised": priority_raised,
        "reopens": reopens,
        "customer_messages": len(customer_times),
        "messages_2h": _count_between(customer_times, at - timedelta(hours=2), at + timedelta(microseconds=1)),
        "messages_24h": _count_between(customer_times, at - timedelta(hours=24), at + timedelta(microseconds=1)),
        "agent_replies": agent_replies,
        "hours_since_agent_reply": (
            round((at - last_agent_reply).total_seconds() / 3600, 1) if last_agent_reply else None
        ),
        "waiting_hours": round(waiting_hours, 1),
        "waiting_share": round(waiting_share, 2),
        "sla_breached": breached,
        "team_bounces": bounces,
        "category": ticket.category.slug if ticket.category else "",
        "category_name": ticket.category.name if ticket.category else "",
        "channel": ticket.channel,
        "rules": sorted(recent_codes),
        "rules_score": rules_score,
        "sentiment_last": round(last_sentiment, 3),
        "sentiment_min": round(min(scores), 3) if scores else 0.0,
    }
    facts: dict[str, float | str] = {
        "customer_escalations_90d": math.log1p(raw["customer_escalations_90d"]),
        "org_escalations_90d": math.log1p(raw["org_escalations_90d"]),
        "customer_low_csat": math.log1p(raw["customer_low_csat"]),
        # Satisfaction as distance below "satisfied" (4/5); no answers reads as neutral.
        "customer_unhappy": max(0.0, 4 - raw["customer_csat_mean"]) if raw["customer_csat_mean"] else 0.0,
        "org_unhappy": max(0.0, 4 - raw["org_csat_mean"]) if raw["org_csat_mean"] else 0.0,
        "plan": raw["plan"] or "none",
        "priority": raw["priority"],
        "priority_raised": float(priority_raised),
        "priority_changes": math.log1p(priority_changes),
        "reopens": math.log1p(reopens),
        "customer_messages": math.log1p(raw["customer_messages"]),
        "messages_2h": math.log1p(max(0, raw["messages_2h"] - 1)),
        "messages_24h": math.log1p(max(0, raw["messages_24h"] - 1)),
        "waiting_share": min(3.0, raw["waiting_share"]),
        "sla_breached": float(breached),
        "team_bounces": math.log1p(bounces),
        "category": raw["category"] or "none",
        "channel": raw["channel"],
        "sentiment_last": raw["sentiment_last"],
        "sentiment_min": raw["sentiment_min"],
    }
    for code in recent_codes:
        facts[f"rule_{code}"] = 1.0
    text = "\n".join(customer_texts)[-TEXT_LIMIT:]
    return {"ticket_id": ticket.pk, "text": text, "facts": facts, "raw": raw}
