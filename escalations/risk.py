"""Escalation-risk detection: explainable rules over words, pure Python, no model downloads.

``risk_detect`` reads one customer message (plus how often the customer has written recently) and returns the
signals it found, each with the words that triggered it, a weight, and the escalation type it suggests. Every
signal can be explained to a person: that is the point of using rules rather than a model.

How a message is read:

- it is cut into lower-case word tokens and punctuation (``,`` for a pause, ``.`` for the end of a sentence);
  a word that is one slip away from a trigger word (``manger``, ``cancle``, ``lawer``) is read as that word, unless
  it is a real word of its own (``manage``, ``cancer``, ``layer``);
- each rule is a phrase pattern over those tokens, so a trigger word only counts in a phrase that means the threat
  ("speak to a manager", "cancel our contract", "see you in court"), never on its own ("I am a manager at Acme",
  "terminate the old user account", "tennis court", "review my invoice");
- a phrase preceded in its own clause by a negation ("I do not want to cancel", "no need for a manager", "not going
  to sue") does not count;
- a signal is kept once per message, with the words of the first rule that matched as its evidence.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from django.utils.translation import gettext_noop

# code -> (label, weight). The order is the order signals are listed in. Labels are stored (in English) with a
# reading and translated where a screen shows them.
SIGNALS: dict[str, tuple[str, int]] = {
    "manager_request": (gettext_noop("Asks for a manager"), 30),
    "cancel": (gettext_noop("Threatens to cancel or leave"), 30),
    "payment_dispute": (gettext_noop("Threatens a chargeback or payment dispute"), 30),
    "legal": (gettext_noop("Legal or regulatory words"), 35),
    "social_media": (gettext_noop("Threatens to go public"), 25),
    "negative_tone": (gettext_noop("Strongly negative tone"), 15),
    "repeat_words": (gettext_noop("Says they have asked before"), 15),
}

REPEATED_CONTACT = ("repeated_contact", gettext_noop("Repeated contacts"), 20)
# The text classifier (``escalations.risk_text``): a message the rules found nothing in but that reads like the
# escalations of the labelled set. Only when the rules are silent, so a threat is not counted twice.
READS_LIKE = ("reads_like_escalation", gettext_noop("Message reads like an escalation"), 30)
SHOUTING = ("shouting", gettext_noop("Shouting (capitals or !!!)"), 10)
REPEATED_CONTACT_THRESHOLD = 3  # customer messages on the ticket within the last 7 days

_MONEY = re.compile(r"\b(refund|charged|charge|invoice|money back|compensation|credit|overcharged|billing)\b", re.I)
_OUTAGE = re.compile(r"\b(down|outage|nobody can|no one can|whole team|all users|cannot work|stopped working)\b", re.I)


# --- Reading a message into tokens ----------------------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[.!?]+|[,;:()\u2013\u2014]|(?<=\s)-(?=\s)")

# Trigger words whose slips are read as the word itself (Damerau-Levenshtein distance 1, words of 5+ letters).
_FUZZY_WORDS = _words(
    "manager supervisor cancel cancelling cancellation subscription lawyer solicitor attorney ombudsman "
    "regulator chargeback competitor unacceptable ridiculous disgusting disgraceful appalling outrageous "
    "terrible useless incompetent furious pathetic third fourth"
)
_FUZZY_ORDER = tuple(sorted(_FUZZY_WORDS))
# Real words one slip away from a trigger word: never corrected.
_NOT_SLIPS = _words("manage managed manages cancer chancel layer sawyer curious apathetic terribly fourty")
# Slips two letters away (too far for the one-slip rule), and contractions written without the apostrophe.
_SPELLED = {
    "solicter": "solicitor",
    "rediculus": "ridiculous",
    "dont": "don't",
    "wont": "won't",
    "cant": "can't",
    "isnt": "isn't",
    "didnt": "didn't",
    "doesnt": "doesn't",
    "havent": "haven't",
    "hasnt": "hasn't",
    "wasnt": "wasn't",
    "arent": "aren't",
    "wouldnt": "wouldn't",
    "couldnt": "couldn't",
    "shouldnt": "shouldn't",
    "im": "i'm",
    "ive": "i've",
    "youre": "you're",
    "thats": "that's",
    "itll": "it'll",
}


def _one_slip(word: str, target: str) -> bool:
    """True when ``word`` is ``target`` with one letter added, dropped, changed, or two neighbours swapped."""
    if word == target or abs(len(word) - len(target)) > 1:
        return False
    if len(word) == len(target):
        diff = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        if len(diff) == 1:
            return True
        i = diff[0]
        return len(diff) == 2 and diff[1] == i + 1 and word[i] == target[i + 1] and word[i + 1] == target[i]
    short, long = (word, target) if len(word) < len(target) else (target, word)
    i = next((k for k, (a, b) in enumerate(zip(short, long, strict=False)) if a != b), len(short))
    return short[i:] == long[i + 1 :]


@lru_cache(maxsize=4096)
def _normal(word: str) -> str:
    word = word.lower().replace("’", "'")
    word = _SPELLED.get(word, word)
    if len(word) < 5 or word in _FUZZY_WORDS or word in _NOT_SLIPS:
        return word
    return next((target for target in _FUZZY_ORDER if _one_slip(word, target)), word)


@dataclass(frozen=True)
class _Text:
    """A message as tokens: ``norm`` is the tokens joined by single spaces (what the rules read), ``starts`` where
    each token begins in ``norm``, ``spans`` where it came from in the original text."""

    original: str
    tokens: tuple[str, ...]
    norm: str
    starts: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]

    @classmethod
    def read(cls, text: str) -> _Text:
        tokens, spans = [], []
        for match in _TOKEN.finditer(text):
            raw = match.group(0)
            if raw[0] in ".!?":
                tokens.append(".")
            elif not raw[0].isalnum():
                tokens.append(",")
            else:
                tokens.append(_normal(raw))
            spans.append(match.span())
        starts, at = [], 0
        for token in tokens:
            starts.append(at)
            at += len(token) + 1
        return cls(text, tuple(tokens), " ".join(tokens), tuple(starts), tuple(spans))

    def index_at(self, position: int) -> int:
        """The token that starts at (or contains) ``position`` of ``norm``."""
        return bisect.bisect_right(self.starts, position) - 1

    def evidence(self, first: int, last: int) -> str:
        return self.original[self.spans[first][0] : self.spans[last][1]]

    def is_name(self, index: int) -> bool:
        """A capitalised word inside a sentence, such as a company's name."""
        if index >= len(self.tokens) or index == 0 or self.tokens[index - 1] == ".":
            return False
        start, end = self.spans[index]
        word = self.original[start:end]
        return word[:1].isupper() and self.tokens[index] not in _NOT_NAMES


# Capitalised words after "switching to" that are not another supplier.
_NOT_NAMES = _words(
    "the a an another our your my their this that it dark light new old english french german spanish chrome "
    "firefox safari edge windows mac macos linux ubuntu ios android iphone excel outlook gmail pdf csv sso saml api "
    "utc gmt bst monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december annual monthly yearly premium pro enterprise basic business"
)


# --- Negation -------------------------------------------------------------------------------------------------------

_NEGATORS = _words(
    "not no never without nor neither hardly don't doesn't didn't won't can't cannot isn't aren't wasn't weren't "
    "haven't hasn't hadn't wouldn't shouldn't couldn't mustn't shan't"
)
# Words after a negator that turn it into something else: "can't believe", "don't make me", "no idea", "not sure".
_NOT_NEGATING_NEXT = _words("believe make force only idea doubt wonder sure even longer")
# A negation reaches back no further than a new clause or a new subject: "if you don't fix it I'll cancel".
_CLAUSE_STOPS = _words(
    ". , but however although though because unless otherwise so then or and i we you they he she i'll we'll "
    "i'm we're i've we've i'd we'd you'll you're"
)
_NEGATION_WINDOW = 5


def _negated(text: _Text, first: int) -> bool:
    if text.tokens[first] in _CLAUSE_STOPS:
        return False
    for index in range(first - 1, max(-1, first - 1 - _NEGATION_WINDOW), -1):
        token = text.tokens[index]
        if token in _NEGATORS:
            following = text.tokens[index + 1] if index + 1 < len(text.tokens) else ""
            return following not in _NOT_NEGATING_NEXT
        if token in _CLAUSE_STOPS:
            return False
    return False


def marked_tokens(text: str) -> list[tuple[str, tuple[int, int]]]:
    """The message as the text classifier (``escalations.risk_text``) reads it, each token with where it came from:
    normalised tokens (slips corrected, as the rules read them) where each word in the reach of a negation carries
    a ``not_`` mark, by the same clause rule as the rules' negation ("I do not want to cancel" -> "i do not
    not_want not_to not_cancel")."""
    read = _Text.read(text or "")
    marked, reach = [], 0
    for index, token in enumerate(read.tokens):
        if token in _CLAUSE_STOPS:
            reach = 0
        if reach and token not in _NEGATORS:
            marked.append((f"not_{token}", read.spans[index]))
            reach -= 1
        else:
            marked.append((token, read.spans[index]))
        if token in _NEGATORS:
            following = read.tokens[index + 1] if index + 1 < len(read.tokens) else ""
            reach = 0 if following in _NOT_NEGATING_NEXT else _NEGATION_WINDOW
    return marked


def marked_words(text: str) -> str:
    """``marked_tokens`` as one string, what the classifier's vectorisers read."""
    return " ".join(token for token, _ in marked_tokens(text))


# --- Rules ----------------------------------------------------------------------------------------------------------


def _gap(most: int) -> str:
    """Up to ``most`` words (never punctuation) between two parts of a phrase."""
    return rf"(?:[^\s.,]+ ){{0,{most}}}"


_CONTEXT_CHARS = 60


@dataclass(frozen=True)
class Rule:
    """One phrase that shows a signal. ``not_before``/``not_after``: context that, right before or after the phrase,
    means it is something else ("tennis court", "worst case"). ``name_after``: the phrase must be followed by a
    name ("switching to Zendesk"). ``negatable``: a negation before it cancels it."""

    code: str
    pattern: re.Pattern[str]
    not_before: re.Pattern[str] | None = None
    not_after: re.Pattern[str] | None = None
    only_before: re.Pattern[str] | None = None
    name_after: bool = False
    negatable: bool = True

    def first_match(self, text: _Text) -> tuple[int, int] | None:
        norm = text.norm
        for match in self.pattern.finditer(norm):
            start, end = match.span()
            # Context is a few words: look no further than this, so a long message stays linear.
            if self.not_before and self.not_before.search(norm, max(0, start - _CONTEXT_CHARS), start):
                continue
            if self.not_after and self.not_after.match(norm, end, end + _CONTEXT_CHARS):
                continue
            if self.only_before and not self.only_before.match(norm, end):
                continue
            first, last = text.index_at(match.start()), text.index_at(match.end() - 1)
            if self.name_after:
                if not text.is_name(last + 1):
                    continue
                last += 1
            if self.negatable and _negated(text, first):
                continue
            return first, last
        return None


def _rule(
    code: str, body: str, *, not_before: str = "", not_after: str = "", only_before: str = "", **options: bool
) -> Rule:
    return Rule(
        code,
        re.compile(rf"(?<!\S)(?:{body})(?!\S)"),
        re.compile(rf"(?:^|\s)(?:{not_before}) $") if not_before else None,
        re.compile(rf" (?:{not_after})(?!\S)") if not_after else None,
        re.compile(rf"$| (?:{only_before})(?!\S)") if only_before else None,
        **options,
    )


# Alternatives are written "a|b|c" and each alternative is a phrase of whole tokens.
_SENIOR = (
    r"(?:(?:(?:real|actual|proper|senior|more senior|duty|human|different|line) )?(?:manager|supervisor)s?"
    r"|boss|superiors?|team lead(?:er)?|director|management)"
)
# "the manager role", "a manager dashboard", "the manager of our Leeds office": a thing or someone else's manager.
_NOT_A_PERSON = r"of (?:my|our)|roles?|permissions?|rights|access|accounts?|dashboards?|views?|screens?|pages?|reports?"
_SOMEONE_SENIOR = (
    r"(?:(?:someone|somebody|anyone|anybody|person) (?:more senior|senior|in charge|higher up|with authority)"
    r"|the higher ups?)"
)
_ASK = (
    r"(?:want|wanted|need|demand|demanding|request|requesting|require|like|get|give|call|contact|fetch"
    r"|(?:can|could|may) (?:i|we) have|let me have|ask for|asking for|is there|where is"
    r"|(?:put|transfer|pass|connect) me (?:through )?(?:to|with)|escalate (?:this|it|me) to"
    r"|(?:pass|hand|forward|refer|send|give) (?:this|it|me|my (?:ticket|case|complaint)) (?:on )?to)"
)
_CONTRACT = r"(?:subscriptions?|account|contracts?|plan|service|membership|licen[cs]es?|agreement|renewal)"
_INTENT = (
    r"(?:i'll|we'll|will|(?:i'm|we're|i am|we are) going to|going to|gonna|want to|wish to|like to|need to|have to"
    r"|shall|ready to|about to|plan to|planning to|thinking of|thinking about|considering|decided to"
    r"|i'm|we're|i am|we are)"
)
_PLATFORM = (
    r"(?:twitter|x|facebook|linkedin|instagram|tiktok|reddit|youtube|trustpilot|yelp|google(?: reviews?)?"
    r"|social media|socials|the internet|online|review sites?|the (?:press|papers|media|news))"
)
_THE_CHARGE = (
    r"(?:(?:the|this|that|these|those|a|my|our|your|every) "
    r"(?:charges?|payments?|transactions?|debits?|bills?|invoices?|fees?)|it|this)"
)
_ORDINAL = (
    r"(?:third|3rd|fourth|4th|fifth|5th|sixth|6th|seventh|7th|eighth|8th|ninth|9th|tenth|10th|nth|umpteenth"
    r"|hundredth|100th|millionth)"
)
_SEVERAL = r"(?:\d+|three|four|five|six|seven|eight|nine|ten|several|multiple|many|numerous)"
_CONTACTED = (
    r"(?:asked|told you|called|rang|rung|phoned|written|wrote|emailed|e mailed|contacted|reported|chased|raised"
    r"|explained|messaged|requested|complained|been in touch)"
)
_A_REPLY = r"(?:back|(?:a|any) (?:reply|response|answer|update|call back|callback)|anything|a word)"

RULES: tuple[Rule, ...] = (
    # --- Asks for a manager: a request for someone senior, not a person saying what they are ---
    _rule(
        "manager_request",
        rf"(?:speak|talk|chat|speaking|talking) (?:to|with) {_gap(2)}(?:a|an|your|the|some) {_SENIOR}",
        not_after=_NOT_A_PERSON,
    ),
    _rule("manager_request", rf"(?:speak|talk|speaking|talking) (?:to|with) {_SOMEONE_SENIOR}"),
    _rule("manager_request", rf"{_ASK} {_gap(3)}(?:a|an|your|the|some|any) {_SENIOR}", not_after=_NOT_A_PERSON),
    _rule("manager_request", rf"{_ASK} {_gap(3)}{_SOMEONE_SENIOR}"),
    _rule("manager_request", r"your (?:manager|supervisor|boss|superiors?|ceo|line manager|team leader|management)"),
    _rule("manager_request", rf"(?:manager|supervisor) (?:please|now|asap|immediately|right now)|{_SOMEONE_SENIOR}"),
    _rule(
        "manager_request",
        r"escalate (?:this|it|my|the|our|that|me)|(?:please|can you|could you|want you to|need you to|must) escalate"
        r"|(?:want|need|request|demand) (?:an |this )?escalat(?:ion|ed)",
    ),
    _rule(
        "manager_request",
        r"formal complaint|complaints? (?:department|team|procedure|process)"
        r"|(?:make|file|lodge|raise|submit|log|making|filing|lodging|raising) a (?:formal |official )?complaint"
        r"|(?:whoever|someone who|somebody who|the person who) (?:handles|deals with|is in charge of) complaints",
    ),
    _rule(
        "manager_request",
        r"head of (?:customer|support|service|department|complaints|billing|sales)"
        r"|(?:take|taking) (?:this|it|the matter) (?:further|higher)",
    ),
    # --- Threatens to cancel or leave: the contract, not any account or meeting ---
    _rule(
        "cancel",
        rf"(?:cancel|cancelling|terminate|terminating) (?:my|our|this|the whole) {_CONTRACT}"
        r"|(?:cancel|cancelling|terminate|terminating) the (?:subscription|contract|agreement|membership|service)",
        not_after="process|task|instance|job|worker|appointment|visit",
    ),
    _rule("cancel", r"(?:close|closing|delete|deleting) (?:my|our) (?:account|subscription)"),
    _rule("cancel", r"cancel (?:everything|it all|all of it|the lot)"),
    _rule("cancel", r"(?:end|ending) (?:my|our|the) (?:contract|subscription|relationship|agreement)"),
    _rule(
        "cancel",
        rf"{_INTENT} (?:just )?"
        r"(?:cancel|cancelling|terminate|terminating|quit|quitting|walk away|leave you|leaving you)",
        only_before=r"it\b|everything|all|now|today|immediately|asap|unless|if|and|because|as|over|this|us|at|then"
        r"|the (?:subscription|contract|account|service|lot|whole)|[.,]",
    ),
    _rule(
        "cancel",
        r"(?:how|where) (?:do|can) (?:i|we) (?:cancel|terminate|close (?:my|our) account)|how to (?:cancel|terminate)",
        only_before=r"it\b|the (?:subscription|contract|account|service)|[.,]",
    ),
    _rule(
        "cancel",
        r"(?:notice|letter) of (?:cancellation|termination)|(?:cancellation|termination) (?:notice|request|letter)"
        r"|(?:request|requesting|want|demand|process|confirm) (?:a |the |my |our )?cancellation",
        not_after=r"polic(?:y|ies)|terms|fees?|period|window|rules|clause",
    ),
    _rule(
        "cancel",
        r"(?:move|moving|moved|switch|switching|switched|go|going|change|changing|migrate|migrating|take|taking"
        r"|jump|jumping|defect|defecting|run|running|leave|leaving) (?:over |our business |my business )?"
        r"(?:to|with|for) (?:your |a |an |another |one of your )?(?:competitors?|competition|rivals?)",
    ),
    _rule(
        "cancel",
        r"(?:switch|switching|change|changing|move|moving|find|finding|look for|looking for|look at|looking at"
        r"|look into|looking into) (?:to )?(?:another|a different|a new|a better|a cheaper|other|an alternative) "
        r"(?:providers?|suppliers?|vendors?|compan(?:y|ies)|platforms?|solutions?|products?)",
        not_after="version|release|update|feature",
    ),
    _rule(
        "cancel",
        r"(?:switch|switching|change|changing) (?:providers?|suppliers?|vendors?)"
        r"|(?:looking|look|shop|shopping) (?:at |for |into )?(?:alternatives|around)"
        r"|(?:take|taking) (?:our|my) (?:business|custom|money) elsewhere"
        r"|(?:go|going|look|looking|shop|shopping) elsewhere|your competitors?|a competitor"
        r"|(?:considering|evaluating|trialling|trying|testing) (?:other|alternative|different|new) "
        r"(?:vendors|providers|suppliers|companies|solutions|platforms|tools)",
    ),
    _rule(
        "cancel",
        r"(?:switch|switching|switched|migrate|migrating|migrated) (?:over )?to",
        not_before=r"(?:after|before|since|when|if|once|try|tried|trying)(?: (?:i|we|you))?",
        name_after=True,
    ),
    _rule(
        "cancel",
        r"(?:i|we|i'll|we'll) (?:will not|won't|shall not|are not|aren't|am not|do not|don't|have decided not to"
        r"|decided not to|are not going to|aren't going to|am not going to|will not be|won't be) (?:be )?renew(?:ing)?"
        r"|(?:i'm|we're) not (?:going to )?(?:be )?renew(?:ing)?|not renewing|not to renew"
        r"|cancel (?:the|our|my) renewal",
    ),
    _rule(
        "cancel",
        r"(?:never|not) (?:use|using|buy|buying|order|ordering|recommend|recommending|deal|dealing) "
        r"(?:you|your \S+|with you|from you)(?: \S+)? again|(?:done|finished) with (?:you|your company)"
        r"|last straw|never again|(?:walk|walking) away from (?:you|this|the|our|your)"
        r"|(?:or|otherwise|else) (?:we|i) (?:cancel|leave|walk|quit)|(?:leave|leaving) you"
        r"|(?:leave|leaving) your (?:service|company|platform)",
    ),
    # --- Threatens a chargeback or payment dispute ---
    _rule("payment_dispute", r"chargebacks?|(?:do|file|raise|initiate|request|issue|start|a) charge back"),
    _rule(
        "payment_dispute",
        rf"dispute {_THE_CHARGE}|(?:raise|raising|file|filing|open|opening|start|starting|lodge) a (?:payment )?dispute"
        r"|(?:payment|card|paypal|bank) dispute",
    ),
    _rule(
        "payment_dispute",
        r"(?:reverse|reversing|claw back|recall) (?:the|this|that|your) (?:charges?|payments?|transactions?|debits?)"
        r"|(?:stop|cancel|cancelling|block|blocking) (?:the|my|our|all|your) "
        r"(?:payments?|direct debits?|card payments?)|section 75",
    ),
    _rule(
        "payment_dispute",
        r"(?:contact|contacting|call|calling|ring|ringing|tell|telling|ask|asking|get|getting"
        r"|report (?:this|it|you) to|speak to|speaking to|go to|going to) (?:my|our) "
        r"(?:bank|card issuer|card company|credit card company|credit card provider)",
        not_after=r"to (?:check|confirm|see|make sure|find out|update|ask about)",
    ),
    # --- Legal or regulatory words: someone's lawyer, not the customer's own trade; "in court", not "tennis court" ---
    _rule(
        "legal",
        r"lawyers?|solicitors?|attorneys?|barristers?|legal counsel",
        not_before=r"(?:i'm|i am|i was|as|we are|we're|work as|worked as) (?:a|an|the)",
    ),
    _rule(
        "legal",
        r"legal (?:action|proceedings|steps|advice|route|claim|measures)"
        r"|(?:involve|involving|get|getting|contact|contacting|forward|pass|hand|refer) (?:this to |it to )?(?:my|our) "
        r"legal (?:team|department|dept)|(?:my|our) legal (?:team|department) (?:will|is|are|has|have)"
        r"|(?:take|taking) (?:this|it|the matter) up with (?:my|our) (?:legal|lawyers?|solicitors?)",
    ),
    _rule(
        "legal",
        r"(?:see|meet) you in court|(?:take|taking) (?:you|this|it|your company|the matter) to court|in court"
        r"|to court|court (?:action|case|claim|proceedings|order)|small claims|county court",
        not_after=r"\d|[a-z]\b|road|street|lane|house|yard",
    ),
    _rule(
        "legal",
        r"(?:sue|suing|sued) (?:you|your|the company|them|over|for|u)"
        r"|(?:will|i'll|we'll|to|gonna|could|would|might|should|shall|can) sue",
    ),
    _rule(
        "legal",
        r"ombudsm[ae]n|trading standards|(?:financial|industry|energy|telecoms?) regulators?"
        rf"|(?:report|reporting|complain|complaining|contact|contacting|tell|telling|write to|writing to|go to|going to"
        rf"|escalate|escalating|inform|informing|notify|notifying) {_gap(3)}(?:to )?(?:the|a|your) regulators?"
        r"|report (?:you|this|it|your company) to (?:the )?(?:fca|ofcom|ofgem|ico|cma|bbb|better business bureau"
        r"|authorities|police|consumer \S+|ftc|attorney general)",
    ),
    _rule(
        "legal",
        r"(?:breach|breaches|breached|breaching|violate|violates|violated|violating|violation|infringe|infringes"
        r"|infringing|infringement) (?:of )?(?:the )?(?:gdpr|data protection|law|my rights|our rights|contract"
        r"|our contract|the contract|consumer rights|privacy|sla)|gdpr (?:breach|violation|complaint)"
        r"|in breach|subject access request|data protection (?:breach|complaint|authority|act|regulator)"
        r"|against the law|consumer rights|statutory rights|discriminat(?:ion|ed|ing|ory)"
        r"|is (?:this|that|it) (?:even )?legal",
    ),
    _rule(
        "legal",
        r"illegal|illegally|unlawful|unlawfully",
        not_after=r"characters?|argument|state|value|instruction|operation|input|token|request|move|option|format",
    ),
    # --- Threatens to go public: a review site or the press, not "review my invoice" ---
    _rule(
        "social_media",
        r"(?:post|posting|blog|blogging|tweet|tweeting) about(?= (?:this|it|you|your|my|our|how|the way|what))",
    ),
    _rule(
        "social_media",
        rf"(?:complain|complaining|rant|ranting|blast|blasting|shout|shouting|warn|warning|review|reviewing|expose"
        rf"|exposing|air|airing|raise|raising|name and shame) {_gap(4)}"
        rf"(?:(?:on|to|all over|across|onto|via) {_PLATFORM}|online)",
    ),
    _rule(
        "social_media",
        rf"(?:post|posting|put|putting|share|sharing|write|writing|tell|telling|publish|publishing|take|taking) "
        rf"{_gap(2)}(?:this|it|you|(?:about|of) (?:this|it|you)|everyone|people|my experience"
        rf"|the whole (?:story|thing)|what happened) {_gap(2)}(?:(?:on|to|all over|across|onto|via) {_PLATFORM}|online)"
        rf"|(?:go|going) (?:to|on) {_PLATFORM}",
    ),
    _rule(
        "social_media",
        r"(?:go|going) public|make (?:this|it) public"
        r"|(?:tell|telling) (?:everyone|everybody|all my|the world|my friends)"
        r"|warn (?:others|other customers|people|everyone)|name and shame|journalists?|newspapers?"
        r"|(?:contact|contacting|call|calling|go to|going to|tell|telling) (?:the )?(?:press|media|papers|bbc)"
        r"|the press|watchdog|everyone will know",
        not_after="release|releases|kit|office|timer|process|service",
    ),
    _rule(
        "social_media",
        r"(?:bad|negative|terrible|awful|poor|scathing|honest|public|1 star|one star|zero star|0 star) reviews?"
        r"|(?:leave|leaving|write|writing|post|posting|put up) (?:a |an |my )?reviews? (?:on|of you|about)"
        r"|review (?:you|your company) on",
    ),
    # --- Strongly negative tone ---
    _rule(
        "negative_tone",
        r"unacceptable|ridiculous|disgusting|disgraceful|disgrace|appalling|appalled|furious|fuming|livid|outrageous"
        r"|outraged|terrible|horrendous|horrible|awful|dreadful|atrocious|abysmal|pathetic|shambles|shambolic|useless"
        r"|incompetent|incompetence|fed up|sick of|tired of|(?:at )?my wits end|sick and tired|had enough|angry"
        r"|annoyed|frustrated|frustrating|shocking|shocked|laughable|rubbish|garbage|crap|shit|shitty|bullshit|wtf"
        r"|bloody|scammers|rip off|daylight robbery|thanks for nothing|waste of (?:my |our )?(?:time|money)"
        r"|not (?:good enough|acceptable|happy|ok|okay)|(?:very|extremely|really|so) (?:unhappy|disappointed|poor)"
        r"|disappointing|beyond a joke|nightmare|insulting|clowns|idiots|morons|amateurs|amateurish|cowboys"
        r"|(?:nobody|no one) (?:seems to |even )?cares?|(?:is this|this is) how you treat"
        r"|(?:so|this) hard to get (?:a|an|any) (?:straight |simple )?(?:answer|reply|response)"
        r"|(?:not|won't|will not) (?:tolerate|accept|put up with|stand for) (?:this|it|that)"
        r"|is (?:anyone|anybody) (?:actually |even )?(?:reading|listening)",
    ),
    _rule("negative_tone", r"worst", not_before="at", not_after="case"),
    _rule("negative_tone", r"scam", not_after="emails?|mail|calls?|texts?|messages?|links?|websites?|sites?|sms"),
    _rule(
        "negative_tone",
        r"(?:is|was|are|what|that's|it's|this's|absolute|complete|total|such) (?:a |an )?"
        r"(?:absolute |complete |total )?joke|joke of a|oh (?:great|wonderful|brilliant|joy)|what a surprise"
        r"|surprise surprise",
    ),
    # --- Says they have asked before ---
    _rule(
        "repeat_words", rf"{_ORDINAL} time", not_after="lucky|the charm|'s the charm|is the charm|slots?|zones?|window"
    ),
    _rule(
        "repeat_words",
        r"(?:this is|it's|that's|for|is|now|this) the (?:second|2nd) time"
        r"|(?:not|isn't|is not|wasn't|was not) the first time|how many (?:more )?times|again and again|over and over"
        r"|time and (?:time )?again|yet again",
        negatable=False,
    ),
    _rule("repeat_words", rf"{_CONTACTED} (?:you |this |it |about this |about it )?{_gap(3)}{_SEVERAL} times"),
    _rule(
        "repeat_words",
        r"still (?:not|no|waiting|broken|unresolved|failing|having|getting|happening|down|the same|an issue|a problem"
        r"|haven't|hasn't|isn't|doesn't|don't|can't|cannot|won't|nothing)|(?:been|keep|kept) waiting"
        r"|waiting (?:for|since) (?:weeks|days|months|ages|over a week)"
        r"|(?:going on|been like this|been broken|been down|dragging on|dragged on) for "
        r"(?:weeks|days|months|ages|over a week)",
    ),
    _rule(
        "repeat_words",
        r"(?:no one|nobody|noone) (?:has |have |had )?(?:replied|responded|answered|got back|gotten back|called"
        r"|come back|contacted|helped|bothered)"
        rf"|(?:haven't|have not|never|didn't|did not|not) (?:yet )?(?:heard|had|received|got|gotten) {_A_REPLY}"
        r"|not (?:a|one) (?:single )?(?:reply|response|answer|word|update)",
        negatable=False,
    ),
    _rule(
        "repeat_words",
        r"no (?:reply|response|answer|update|word|feedback)",
        not_after="needed|required|necessary|expected|is needed|is required",
    ),
    _rule(
        "repeat_words",
        r"already (?:told|asked|explained|reported|called|contacted|raised|mentioned|answered|chased)"
        r"|(?:asked|told you|explained|reported|mentioned|raised) (?:this |it |that )?"
        r"(?:before|previously|last week|last time|twice)"
        r"|(?:i|we) keep (?:having|needing) to"
        r"|(?:i|we) keep (?:asking|chasing|telling|calling|writing|emailing|repeating)"
        r"|chasing (?:this|again|up|you)|(?:sorry|just|only) (?:to )?chas(?:e|ing)|(?:repeat|repeating) myself"
        r"|been (?:very |more than |extremely )?patient|(?:ignoring|ignored|ignore) (?:me|my|us|our)",
    ),
    _rule(
        "repeat_words",
        r"(?:happened|happening|broken|broke|failed|failing|down|crashed|wrong|late|missing) again"
        r"|(?:same|this) (?:problem|issue|error|bug|thing) (?:again|keeps|is back)"
        r"|same (?:problem|issue|error|bug|fault) (?:as |that |which )?(?:i|we) "
        r"(?:reported|raised|mentioned|had|logged|flagged)"
        r"|keeps (?:happening|failing|breaking|crashing)"
        r"|(?:every|each) (?:single )?time (?:i|we) (?:call|write|contact|ring|email|phone)"
        r"|(?:closed|close) (?:my|the|this) ticket without",
    ),
)


# --- The reading ----------------------------------------------------------------------------------------------------


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


_THANKS = re.compile(r"\b(thank|thanks|thx|great|awesome|amazing|love|appreciate|brilliant|perfect|congrat)", re.I)


def _shouting(text: str) -> str:
    # "!!!" after thanks is joy, not shouting.
    for sentence in re.split(r"(?<=[.!?])(?![.!?])", text):
        if "!!!" in sentence and not _THANKS.search(sentence):
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
    if "payment_dispute" in codes:
        return "financial"
    if _OUTAGE.search(text) and codes & {"negative_tone", "shouting", "manager_request"}:
        return "emergency" if "cancel" in codes or "manager_request" in codes else "technical"
    if _MONEY.search(text) and codes & {"cancel", "negative_tone", "manager_request", "repeat_words"}:
        return "financial"
    if codes & {"manager_request", "cancel", "social_media"}:
        return "managerial"
    if codes & {"repeat_words", "repeated_contact"}:
        return "support_level"
    return ""


def risk_detect(text: str, *, recent_customer_messages: int = 0, text_model: bool = True) -> RiskReading:
    """Read one message: which signals it shows, with their evidence, and the suggested escalation type. The rules
    first; when they find nothing, the text classifier (``text_model``) may add that the message reads like an
    escalation, with the phrase that weighed most and its suggested type."""
    text = text or ""
    reading = RiskReading()
    read = _Text.read(text)
    found: dict[str, str] = {}
    for rule in RULES:
        if rule.code in found:
            continue
        span = rule.first_match(read)
        if span is not None:
            found[rule.code] = read.evidence(*span)
    for code, (label, weight) in SIGNALS.items():
        if code in found:
            reading.signals.append(Signal(code, label, weight, found[code]))
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
    suggested = suggest_type({s.code for s in reading.signals}, text)
    if text_model and not found and not shout:
        from escalations.risk_text import text_reading

        classified = text_reading(text)
        if classified is not None and classified.flagged:
            evidence = classified.evidence or f"{round(classified.probability * 100)} % like the escalations"
            reading.signals.insert(0, Signal(READS_LIKE[0], READS_LIKE[1], READS_LIKE[2], evidence))
            suggested = suggested or classified.suggested_type
    reading.suggested_type = suggested
    return reading


def fade(signals: list[dict], *, now: datetime, half_life_days: float, undated: datetime) -> tuple[list[dict], int]:
    """The signals still worth a point at ``now``, and the ticket's score: each signal's weight halves every
    ``half_life_days`` after the message it came from (``at``; ``undated`` for a signal stored without one; 0 days:
    no decay), the total capped at 100. The one decay rule, applied when a message is assessed and when a reading
    is shown, so a ticket whose customer has gone quiet fades too."""
    kept, total = [], 0.0
    for signal in signals:
        at = datetime.fromisoformat(signal["at"]) if signal.get("at") else undated
        age_days = max(0.0, (now - at).total_seconds() / 86400)
        weight = signal["weight"] * (0.5 ** (age_days / half_life_days) if half_life_days > 0 else 1.0)
        if weight >= 1:
            kept.append(signal)
            total += weight
    return kept, min(100, round(total))
