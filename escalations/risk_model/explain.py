"""Why the model scored a ticket as it did, in words a team lead reads in a second.

The model is a logistic regression, so its log-odds are a sum of ``coefficient x value`` over the features; each
term is that feature's contribution. The largest positive contributions are the reasons, each put in words from the
readable values of the feature row ("3 customer messages in 2 hours", "customer escalated twice in the last 90
days", "message: 'third time'"). Word n-grams are quoted; character n-grams (which catch misspellings and other
languages) are summed into one reason, since a fragment such as "anc" means nothing to a person.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy, ngettext_lazy, override

from escalations.risk import REPEATED_CONTACT, SHOUTING, SIGNALS
from helpdesk.models import Channel, Priority

MIN_CONTRIBUTION = 0.05  # log-odds: smaller pushes are noise, not reasons
TOP = 5

_RULE_LABELS = {code: label for code, (label, _) in SIGNALS.items()} | {
    REPEATED_CONTACT[0]: REPEATED_CONTACT[1],
    SHOUTING[0]: SHOUTING[1],
}

# The reasons' sentences, one per kind of fact: stored in the product's language (``text``, what the API returns)
# with the kind (``fact``) and its values (``args``), so a screen can say it again in its reader's language
# (``reason_in_words``). A plural sentence takes its count from ``args["n"]``.
_SENTENCES: dict[str, Promise] = {
    "customer_escalations_90d": ngettext_lazy(
        "customer escalated once in the last 90 days", "customer escalated %(n)s times in the last 90 days", "n"
    ),
    "org_escalations_90d": ngettext_lazy(
        "their organisation had %(n)s escalation in the last 90 days",
        "their organisation had %(n)s escalations in the last 90 days",
        "n",
    ),
    "customer_low_csat": ngettext_lazy(
        "customer gave %(n)s low satisfaction score this year",
        "customer gave %(n)s low satisfaction scores this year",
        "n",
    ),
    "customer_unhappy": gettext_lazy("customer's satisfaction averages %(mean).1f/5"),
    "org_unhappy": gettext_lazy("their organisation's satisfaction averages %(mean).1f/5"),
    "priority_raised": gettext_lazy("priority was raised"),
    "priority_changes": ngettext_lazy("priority changed once", "priority changed %(n)s times", "n"),
    "reopens": ngettext_lazy("reopened once", "reopened %(n)s times", "n"),
    "customer_messages": ngettext_lazy("%(n)s customer message", "%(n)s customer messages", "n"),
    "messages_2h": gettext_lazy("%(n)s customer messages in 2 hours"),
    "messages_24h": gettext_lazy("%(n)s customer messages in 24 hours"),
    "waiting_share": gettext_lazy("waiting %(hours)s h for our reply (%(share)s%% of the response target)"),
    "sla_breached": gettext_lazy("an SLA target was missed"),
    "team_bounces": ngettext_lazy("passed between teams once", "passed between teams %(n)s times", "n"),
    "sentiment_last": gettext_lazy("negative tone in the last message (sentiment %(value)+.2f)"),
    "sentiment_min": gettext_lazy("negative tone in the angriest message (sentiment %(value)+.2f)"),
    "plan": gettext_lazy("%(plan)s plan"),
    "priority": gettext_lazy("%(priority)s priority"),
    "category": gettext_lazy("category: %(category)s"),
    "channel": gettext_lazy("came in by %(channel)s"),
    "rule": gettext_lazy("rule: %(rule)s"),
    "words": gettext_lazy("message: ‘%(words)s’"),
    "chars": gettext_lazy("wording like past escalations (spelling and phrasing)"),
}

Fact = tuple[str, dict]  # (kind of fact, its values)


def _count(key: str, count: int) -> Fact | None:
    return (key, {"n": count}) if count else None


def _waiting(raw: dict) -> Fact | None:
    if not raw["waiting_hours"]:
        return None
    return ("waiting_share", {"hours": f"{raw['waiting_hours']:g}", "share": round(raw["waiting_share"] * 100)})


def _sentiment(key: str, value: float) -> Fact | None:
    return (key, {"value": value}) if value < -0.05 else None


def _csat(key: str, mean: float | None) -> Fact | None:
    return (key, {"mean": mean}) if mean is not None else None


# feature -> the fact for this ticket's readable values (None: nothing worth saying)
_FACTS: dict[str, Callable[[dict], Fact | None]] = {
    "customer_escalations_90d": lambda r: _count("customer_escalations_90d", r["customer_escalations_90d"]),
    "org_escalations_90d": lambda r: _count("org_escalations_90d", r["org_escalations_90d"]),
    "customer_low_csat": lambda r: _count("customer_low_csat", r["customer_low_csat"]),
    "customer_unhappy": lambda r: _csat("customer_unhappy", r["customer_csat_mean"]),
    "org_unhappy": lambda r: _csat("org_unhappy", r["org_csat_mean"]),
    "priority_raised": lambda r: ("priority_raised", {}) if r["priority_raised"] else None,
    "priority_changes": lambda r: _count("priority_changes", r["priority_changes"]),
    "reopens": lambda r: _count("reopens", r["reopens"]),
    "customer_messages": lambda r: _count("customer_messages", r["customer_messages"]),
    "messages_2h": lambda r: ("messages_2h", {"n": r["messages_2h"]}) if r["messages_2h"] > 1 else None,
    "messages_24h": lambda r: ("messages_24h", {"n": r["messages_24h"]}) if r["messages_24h"] > 1 else None,
    "waiting_share": _waiting,
    "sla_breached": lambda r: ("sla_breached", {}) if r["sla_breached"] else None,
    "team_bounces": lambda r: _count("team_bounces", r["team_bounces"]),
    "sentiment_last": lambda r: _sentiment("sentiment_last", r["sentiment_last"]),
    "sentiment_min": lambda r: _sentiment("sentiment_min", r["sentiment_min"]),
}
# category feature -> the fact for its value
_CATEGORIES: dict[str, Callable[[dict, str], Fact | None]] = {
    "plan": lambda r, value: ("plan", {"plan": r["plan_name"] or value}),
    "priority": lambda r, value: ("priority", {"priority": value}),
    "category": lambda r, value: ("category", {"category": r["category_name"] or value}) if value != "none" else None,
    "channel": lambda r, value: ("channel", {"channel": value}),
}


# the coded values a sentence quotes by their (translatable) label
_LABELS: dict[str, type[Priority] | type[Channel]] = {"priority": Priority, "channel": Channel}


def _sentence(key: str, args: dict) -> str:
    """One fact's sentence in the active language (a rule's label, a priority or a channel translated too)."""
    if key == "rule":
        args = {**args, "rule": gettext(args["rule"])}
    elif key in _LABELS and args.get(key) in _LABELS[key].values:
        args = {**args, key: str(_LABELS[key](args[key]).label).lower()}
    return str(_SENTENCES[key] % args)


def reason_in_words(reason: dict) -> str:
    """A stored reason in the active language; a reason stored before facts were kept shows its stored text."""
    key = reason.get("fact")
    if key not in _SENTENCES:
        return reason.get("text", "")
    try:
        return _sentence(key, reason.get("args") or {})
    except (KeyError, TypeError, ValueError):
        return reason.get("text", "")


def _fact(name: str, raw: dict) -> Fact | None:
    key, _, value = name.partition("=")
    if value and key in _CATEGORIES:
        return _CATEGORIES[key](raw, value)
    if key.startswith("rule_"):
        code = key.removeprefix("rule_")
        return ("rule", {"rule": str(_RULE_LABELS.get(code, key))})
    fact = _FACTS.get(key)
    return fact(raw) if fact else None


def fact_in_words(name: str, raw: dict) -> str | None:
    """The sentence for one engineered feature (DictVectorizer name, ``plan=pro`` for categories), in the product's
    language, or None when the feature has nothing to say about this ticket."""
    fact = _fact(name, raw)
    if fact is None:
        return None
    with override(settings.LANGUAGE_CODE):
        return _sentence(*fact)


def explain(
    *, names: list[str], contributions: list[tuple[int, float]], raw: dict, top: int = TOP, chars: float = 0.0
) -> list[dict]:
    """The top reasons, largest first, as ``[{"text", "weight", "fact", "args"}]`` (weight: the log-odds
    contribution, 2 dp; text in the product's language; ``reason_in_words`` says it in the reader's).
    ``contributions`` are ``(feature index, coefficient x value)`` for the row's non-zero features; ``chars`` is a
    sum of character n-gram contributions already added up by the caller."""
    reasons: dict[str, float] = {}
    facts: dict[str, Fact] = {}
    for index, value in contributions:
        name = names[index]
        group, _, feature = name.partition("__")
        if group == "chars":
            chars += value
            continue
        if value < MIN_CONTRIBUTION:
            continue
        fact = ("words", {"words": feature}) if group == "words" else _fact(feature, raw)
        if fact is None:
            continue
        with override(settings.LANGUAGE_CODE):
            text = _sentence(*fact)
        facts[text] = fact
        reasons[text] = reasons.get(text, 0.0) + value
    if chars >= MIN_CONTRIBUTION:
        with override(settings.LANGUAGE_CODE):
            text = _sentence("chars", {})
        facts[text] = ("chars", {})
        reasons[text] = chars
    ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))[:top]
    return [
        {"text": text, "weight": round(weight, 2), "fact": facts[text][0], "args": facts[text][1]}
        for text, weight in ranked
    ]
