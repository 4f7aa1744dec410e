"""Why the model scored a ticket as it did, in words a team lead reads in a second.

The model is a logistic regression, so its log-odds are a sum of ``coefficient x value`` over the features; each
term is that feature's contribution. The largest positive contributions are the reasons, each put in words from the
readable values of the feature row ("3 customer messages in 2 hours", "customer escalated twice in the last 90
days", "message: 'third time'"). Word n-grams are quoted; character n-grams (which catch misspellings and other
languages) are summed into one reason, since a fragment such as "anc" means nothing to a person.
"""

from __future__ import annotations

from escalations.risk import REPEATED_CONTACT, SHOUTING, SIGNALS

MIN_CONTRIBUTION = 0.05  # log-odds: smaller pushes are noise, not reasons
TOP = 5

_TIMES = {1: "once", 2: "twice"}
_RULE_LABELS = {code: label for code, (label, _) in SIGNALS.items()} | {
    REPEATED_CONTACT[0]: REPEATED_CONTACT[1],
    SHOUTING[0]: SHOUTING[1],
}


def _times(count: int) -> str:
    return _TIMES.get(count, f"{count} times")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _waiting(raw: dict) -> str | None:
    if not raw["waiting_hours"]:
        return None
    share = round(raw["waiting_share"] * 100)
    return f"waiting {raw['waiting_hours']:g} h for our reply ({share}% of the response target)"


def _sentiment(which: str, value: float) -> str | None:
    return f"negative tone in the {which} (sentiment {value:+.2f})" if value < -0.05 else None


def _csat(who: str, mean: float | None) -> str | None:
    return f"{who} satisfaction averages {mean:.1f}/5" if mean is not None else None


def _when(count: int, sentence: str) -> str | None:
    return sentence if count else None


# feature -> the sentence for this ticket's readable values (None: nothing worth saying)
_FACTS = {
    "customer_escalations_90d": lambda r: _when(
        r["customer_escalations_90d"], f"customer escalated {_times(r['customer_escalations_90d'])} in the last 90 days"
    ),
    "org_escalations_90d": lambda r: _when(
        r["org_escalations_90d"],
        f"their organisation had {_plural(r['org_escalations_90d'], 'escalation')} in the last 90 days",
    ),
    "customer_low_csat": lambda r: _when(
        r["customer_low_csat"], f"customer gave {_plural(r['customer_low_csat'], 'low satisfaction score')} this year"
    ),
    "customer_unhappy": lambda r: _csat("customer's", r["customer_csat_mean"]),
    "org_unhappy": lambda r: _csat("their organisation's", r["org_csat_mean"]),
    "priority_raised": lambda r: _when(r["priority_raised"], "priority was raised"),
    "priority_changes": lambda r: _when(r["priority_changes"], f"priority changed {_times(r['priority_changes'])}"),
    "reopens": lambda r: _when(r["reopens"], f"reopened {_times(r['reopens'])}"),
    "customer_messages": lambda r: _when(r["customer_messages"], _plural(r["customer_messages"], "customer message")),
    "messages_2h": lambda r: _when(r["messages_2h"] > 1, f"{r['messages_2h']} customer messages in 2 hours"),
    "messages_24h": lambda r: _when(r["messages_24h"] > 1, f"{r['messages_24h']} customer messages in 24 hours"),
    "waiting_share": _waiting,
    "sla_breached": lambda r: _when(r["sla_breached"], "an SLA target was missed"),
    "team_bounces": lambda r: _when(r["team_bounces"], f"passed between teams {_times(r['team_bounces'])}"),
    "sentiment_last": lambda r: _sentiment("last message", r["sentiment_last"]),
    "sentiment_min": lambda r: _sentiment("angriest message", r["sentiment_min"]),
}
# category feature -> the sentence for its value
_CATEGORIES = {
    "plan": lambda r, value: f"{r['plan_name'] or value} plan",
    "priority": lambda r, value: f"{value} priority",
    "category": lambda r, value: f"category: {r['category_name'] or value}" if value != "none" else None,
    "channel": lambda r, value: f"came in by {value}",
}


def fact_in_words(name: str, raw: dict) -> str | None:
    """The sentence for one engineered feature (DictVectorizer name, ``plan=pro`` for categories), or None when the
    feature has nothing to say about this ticket."""
    key, _, value = name.partition("=")
    if value and key in _CATEGORIES:
        return _CATEGORIES[key](raw, value)
    if key.startswith("rule_"):
        return f"rule: {_RULE_LABELS.get(key.removeprefix('rule_'), key)}"
    sentence = _FACTS.get(key)
    return sentence(raw) if sentence else None


def explain(
    *, names: list[str], contributions: list[tuple[int, float]], raw: dict, top: int = TOP, chars: float = 0.0
) -> list[dict]:
    """The top reasons, largest first, as ``[{"text", "weight"}]`` (weight: the log-odds contribution, 2 dp).
    ``contributions`` are ``(feature index, coefficient x value)`` for the row's non-zero features; ``chars`` is a
    sum of character n-gram contributions already added up by the caller."""
    reasons: dict[str, float] = {}
    for index, value in contributions:
        name = names[index]
        group, _, feature = name.partition("__")
        if group == "chars":
            chars += value
            continue
        if value < MIN_CONTRIBUTION:
            continue
        text = f"message: ‘{feature}’" if group == "words" else fact_in_words(feature, raw)
        if text:
            reasons[text] = reasons.get(text, 0.0) + value
    if chars >= MIN_CONTRIBUTION:
        reasons["wording like past escalations (spelling and phrasing)"] = chars
    ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))[:top]
    return [{"text": text, "weight": round(weight, 2)} for text, weight in ranked]
