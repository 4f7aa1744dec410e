"""Escalation-risk detection: explainable rules and a small lexicon, pure Python, no model downloads.

``risk_detect`` reads one customer message (plus how often the customer has written recently) and returns the
signals it found, each with the words that triggered it, a score, and the escalation type it suggests. Every
signal can be explained to a person: that is the point of using rules rather than a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# code -> (label, weight, phrases). Phrases are matched as whole words/phrases, case-insensitively.
LEXICON: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "manager_request": (
        "Asks for a manager",
        30,
        (
            "speak to a manager",
            "speak to your manager",
            "talk to a manager",
            "talk to your manager",
            "your manager",
            "a manager",
            "supervisor",
            "someone senior",
            "someone in charge",
            "escalate this",
            "escalate my",
            "head of",
            "complaints department",
            "formal complaint",
        ),
    ),
    "cancel": (
        "Threatens to cancel or leave",
        30,
        (
            "cancel my subscription",
            "cancel our subscription",
            "cancel our contract",
            "cancel the contract",
            "cancel my account",
            "close my account",
            "terminate",
            "switch provider",
            "switch to another",
            "move to a competitor",
            "take our business elsewhere",
            "not renew",
            "won't renew",
            "leaving you",
            "find another supplier",
        ),
    ),
    "legal": (
        "Legal or regulatory words",
        35,
        (
            "lawyer",
            "solicitor",
            "attorney",
            "legal action",
            "legal team",
            "sue",
            "court",
            "ombudsman",
            "regulator",
            "trading standards",
            "gdpr",
            "data protection",
            "breach of contract",
        ),
    ),
    "social_media": (
        "Threatens to go public",
        25,
        (
            "twitter",
            "tweet",
            "facebook",
            "linkedin",
            "social media",
            "trustpilot",
            "review",
            "go public",
            "tell everyone",
            "the press",
            "journalist",
            "post about",
        ),
    ),
    "negative_tone": (
        "Strongly negative tone",
        15,
        (
            "unacceptable",
            "ridiculous",
            "disgusting",
            "disgraceful",
            "appalling",
            "furious",
            "outrageous",
            "terrible",
            "worst",
            "useless",
            "incompetent",
            "fed up",
            "sick of",
            "angry",
            "shocking",
            "joke",
        ),
    ),
    "repeat_words": (
        "Says they have asked before",
        15,
        (
            "third time",
            "fourth time",
            "again and again",
            "still not",
            "still waiting",
            "still broken",
            "asked before",
            "already told you",
            "keep having to",
            "how many times",
            "no one has replied",
            "nobody has replied",
        ),
    ),
}

REPEATED_CONTACT = ("repeated_contact", "Repeated contacts", 20)
SHOUTING = ("shouting", "Shouting (capitals or !!!)", 10)
REPEATED_CONTACT_THRESHOLD = 3  # customer messages on the ticket within the last 7 days

_PATTERNS = {
    code: re.compile(r"\b(" + "|".join(re.escape(p) for p in phrases) + r")\b", re.IGNORECASE)
    for code, (_, _, phrases) in LEXICON.items()
}
_MONEY = re.compile(r"\b(refund|charged|charge|invoice|money back|compensation|credit|overcharged|billing)\b", re.I)
_OUTAGE = re.compile(r"\b(down|outage|nobody can|no one can|whole team|all users|cannot work|stopped working)\b", re.I)


@dataclass(frozen=True)
class Signal:
    code: str
    label: str
    weight: int
    evidence: str

    def as_dict(self) -> dict:
        return {"code": self.code, "label": self.label, "weight": self.weight, "evidence": self.evidence}


@dataclass
class RiskReading:
    signals: list[Signal] = field(default_factory=list)
    suggested_type: str = ""

    @property
    def score(self) -> int:
        return min(100, sum(signal.weight for signal in self.signals))


def _shouting(text: str) -> str:
    if "!!!" in text:
        return "!!!"
    words = re.findall(r"[A-Za-z]{3,}", text)
    caps = [w for w in words if w.isupper()]
    if len(words) >= 4 and len(caps) / len(words) >= 0.5:
        return " ".join(caps[:4])
    return ""


def suggest_type(codes: set[str], text: str) -> str:
    """The escalation type the signals point to, most serious first."""
    if "legal" in codes:
        return "compliance"
    if _OUTAGE.search(text) and codes & {"negative_tone", "shouting", "manager_request"}:
        return "emergency" if "cancel" in codes or "manager_request" in codes else "technical"
    if _MONEY.search(text) and codes & {"cancel", "negative_tone", "manager_request", "repeat_words"}:
        return "financial"
    if codes & {"manager_request", "cancel", "social_media"}:
        return "managerial"
    if codes & {"repeat_words", "repeated_contact"}:
        return "support_level"
    return ""


def risk_detect(text: str, *, recent_customer_messages: int = 0) -> RiskReading:
    """Read one message: which signals it shows, with their evidence, and the suggested escalation type."""
    text = text or ""
    reading = RiskReading()
    for code, (label, weight, _) in LEXICON.items():
        match = _PATTERNS[code].search(text)
        if match:
            reading.signals.append(Signal(code, label, weight, match.group(0)))
    shout = _shouting(text)
    if shout:
        reading.signals.append(Signal(SHOUTING[0], SHOUTING[1], SHOUTING[2], shout))
    if recent_customer_messages >= REPEATED_CONTACT_THRESHOLD:
        reading.signals.append(
            Signal(
                REPEATED_CONTACT[0],
                REPEATED_CONTACT[1],
                REPEATED_CONTACT[2],
                f"{recent_customer_messages} messages in 7 days",
            )
        )
    reading.suggested_type = suggest_type({s.code for s in reading.signals}, text)
    return reading
