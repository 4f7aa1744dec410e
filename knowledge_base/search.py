"""Ranked article search with highlighted snippets, on PostgreSQL and (portably) on SQLite.

Both backends take an already *authorised* queryset (from ``selectors.articles_visible_to``), so search can never
widen what a user may see; they only rank and highlight.

- PostgreSQL: ``search_vector`` (title weight A, tags B, body C; GIN index) ordered by ``ts_rank``, in stages by how
  many of the query terms an article contains (all, all but one, two, any; see ``match_stages``); snippets from
  ``ts_headline`` for the returned page only.
- SQLite (and anything else): the same terms, crudely stemmed, matched at word starts with ``LIKE``; the score
  (title 10, tags 4, body 1 per matching term) is computed in the database with ``Case``/``When``; snippets are cut
  and highlighted here. Ranking quality is lower than PostgreSQL's but the order is still by relevance.

Highlighted HTML is built by escaping the text first and only then inserting ``<mark>``, so article text can never
inject markup through a snippet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import reduce
from html import unescape
from itertools import combinations
from operator import add, and_, or_

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Case, F, FloatField, Q, QuerySet, Value, When
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Replace
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from knowledge_base.models import Article

CONFIG = "english"
MAX_TERMS = 12
TITLE_WEIGHT, TAG_WEIGHT, BODY_WEIGHT = 10.0, 4.0, 1.0
CATEGORY_BOOST = 1.5
SNIPPET_CHARS = 220
_START, _STOP = "\x02", "\x03"  # highlight sentinels: never present in stored text (rendering strips controls)

STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can cannot could did do does doing don down during each few for from further had has have having he
    her here hers him his how i if in into is it its itself just me more most my no nor not now of off on once only
    or other our ours out over own same she should so some such than that the their them then there these they this
    those through to too under until up very was we were what when where which while who whom why will with would
    you your yours hi hello please thanks thank help get got still since also""".split()  # noqa: SIM905
)
_WORD = re.compile(r"\w+", re.UNICODE)
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "ers", "es", "ed", "er", "s", "ly")


@dataclass(frozen=True)
class SearchHit:
    article: Article
    score: float
    title_html: SafeString
    snippet_html: SafeString


def search_terms(query: str) -> list[str]:
    """The query's distinct meaningful words, lower-cased, in order (at most ``MAX_TERMS``)."""
    terms: list[str] = []
    for word in _WORD.findall((query or "").lower()):
        if len(word) < 2 or word in STOP_WORDS or word in terms or (word.isdigit() and len(word) < 3):
            continue
        terms.append(word)
        if len(terms) == MAX_TERMS:
            break
    return terms


def stem(term: str) -> str:
    """A deliberately crude suffix stripper for the portable backend ("charged" and "charges" -> "charg")."""
    for suffix in _SUFFIXES:
        if term.endswith(suffix) and len(term) - len(suffix) >= 4:
            return term[: -len(suffix)]
    return term


def articles_search(
    *, queryset: QuerySet[Article], query: str, limit: int = 20, boost_category_id: int | None = None
) -> list[SearchHit]:
    """Rank ``queryset`` (already authorised) against ``query``; best first, at most ``limit`` hits."""
    terms = search_terms(query)
    if not terms or limit <= 0:
        return []
    if connection.vendor == "postgresql":
        return _search_postgres(queryset, terms, limit, boost_category_id)
    return _search_portable(queryset, terms, limit, boost_category_id)


# --- PostgreSQL --------------------------------------------------------------------------------------------------


def search_vector_expression() -> CombinedExpression:
    return (
        SearchVector("title", weight="A", config=CONFIG)
        + SearchVector("tags", weight="B", config=CONFIG)
        + SearchVector("body_text", weight="C", config=CONFIG)
    )


def search_vector_refresh(queryset: QuerySet[Article]) -> int:
    """Recompute ``search_vector`` for these rows (PostgreSQL only; a no-op elsewhere)."""
    if connection.vendor != "postgresql":
        return 0
    return queryset.update(search_vector=search_vector_expression())


def _at_least(queries: list[SearchQuery], k: int) -> SearchQuery:
    """A tsquery matching documents that contain at least ``k`` of the terms (an OR of ANDs)."""
    return reduce(or_, (reduce(and_, combo) for combo in combinations(queries, k)))


def match_stages(term_count: int) -> list[int]:
    """How many of the terms a match must contain, stage by stage: all, all but one, two, any."""
    stages = [term_count]
    if term_count >= 3:
        stages.append(term_count - 1)
    if term_count >= 4:
        stages.append(2)
    stages.append(1)
    return list(dict.fromkeys(stages))


def _search_postgres(queryset, terms, limit, boost_category_id) -> list[SearchHit]:
    # Ranking reads every matching row, so the cost is the size of the match set. Articles containing all the
    # terms come first, then all but one, then two, and only then any term; the next, larger, stage runs only when
    # the page is not full yet. Without this, one everyday word ("page", "request") makes an OR match most rows.
    queries = [SearchQuery(term, config=CONFIG) for term in terms]
    any_term = reduce(or_, queries)
    rank: SearchRank | CombinedExpression = SearchRank(F("search_vector"), any_term)
    if boost_category_id:
        rank = rank * Case(
            When(category_id=boost_category_id, then=Value(CATEGORY_BOOST)),
            default=Value(1.0),
            output_field=FloatField(),
        )
    ranked: list[tuple[int, float]] = []
    for k in match_stages(len(terms)):
        ranked += list(
            queryset.filter(search_vector=_at_least(queries, k))
            .exclude(pk__in=[pk for pk, _ in ranked])
            .annotate(score=rank)
            .order_by("-score", "-helpful_count", "pk")
            .values_list("pk", "score")[: limit - len(ranked)]
        )
        if len(ranked) >= limit:
            break
    if not ranked:
        return []
    # Headlines are expensive: compute them for the returned page only.
    # ts_headline drops anything that looks like an HTML tag ("type <b> to bold" loses "<b>"), so it reads the text
    # entity-encoded and ``_sentinels_to_html`` decodes it again before escaping it once.
    headline = SearchHeadline(
        Replace(
            Replace(Replace("body_text", Value("&"), Value("&amp;")), Value("<"), Value("&lt;")),
            Value(">"),
            Value("&gt;"),
        ),
        any_term,
        config=CONFIG,
        start_sel=_START,
        stop_sel=_STOP,
        max_words=35,
        min_words=15,
        short_word=3,  # type: ignore[arg-type]  # django-stubs say str; ts_headline's ShortWord is an integer
        max_fragments=2,
        fragment_delimiter=" … ",
    )
    articles = {
        article.pk: article
        for article in Article.objects.filter(pk__in=[pk for pk, _ in ranked])
        .select_related("category", "owner")
        .defer("search_vector", "body", "body_html")
        .annotate(headline=headline)
    }
    stems = [stem(term) for term in terms]
    return [
        SearchHit(
            article=articles[pk],
            score=float(score),
            title_html=highlight(articles[pk].title, stems),
            snippet_html=_sentinels_to_html(articles[pk].headline),
        )
        for pk, score in ranked
    ]


def _sentinels_to_html(text: str) -> SafeString:
    """A ``ts_headline`` of the entity-encoded body (see above) as HTML: decoded, escaped once, then highlighted."""
    return mark_safe(escape(unescape(text)).replace(_START, "<mark>").replace(_STOP, "</mark>"))  # noqa: S308


# --- portable (SQLite) -------------------------------------------------------------------------------------------


def _word_start(field: str, fragment: str) -> Q:
    # A prefix at a word start: the field starts with it, or it follows a space (tags are stored ", "-joined).
    return Q(**{f"{field}__istartswith": fragment}) | Q(**{f"{field}__icontains": " " + fragment})


def _points(condition: Q, weight: float) -> Case:
    return Case(When(condition, then=Value(weight)), default=Value(0.0), output_field=FloatField())


def _search_portable(queryset, terms, limit, boost_category_id) -> list[SearchHit]:
    stems = list(dict.fromkeys(stem(term) for term in terms))
    matches = reduce(or_, (_word_start(f, s) for s in stems for f in ("title", "tags", "body_text")))
    score = reduce(
        add,
        (
            _points(_word_start("title", s), TITLE_WEIGHT)
            + _points(_word_start("tags", s), TAG_WEIGHT)
            + _points(_word_start("body_text", s), BODY_WEIGHT)
            for s in stems
        ),
    )
    if boost_category_id:
        score = score * Case(
            When(category_id=boost_category_id, then=Value(CATEGORY_BOOST)),
            default=Value(1.0),
            output_field=FloatField(),
        )
    hits = (
        queryset.filter(matches)
        .select_related("category", "owner")
        .defer("search_vector", "body", "body_html")
        .annotate(score=score)
        .order_by("-score", "-helpful_count", "pk")[:limit]
    )
    return [
        SearchHit(
            article=article,
            score=float(article.score),
            title_html=highlight(article.title, stems),
            snippet_html=snippet(article.body_text, stems),
        )
        for article in hits
    ]


def _stem_pattern(stems: list[str]) -> re.Pattern | None:
    if not stems:
        return None
    alternatives = "|".join(re.escape(s) for s in sorted(stems, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})\w*", re.IGNORECASE)


def highlight(text: str, stems: list[str]) -> SafeString:
    """Escape ``text`` and wrap the words that start with a query stem in ``<mark>``."""
    pattern = _stem_pattern(stems)
    if pattern is None:
        return mark_safe(escape(text))  # noqa: S308 - escaped
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece is escaped


def snippet(text: str, stems: list[str], *, length: int = SNIPPET_CHARS) -> SafeString:
    """A window of ``text`` around the first matching word, highlighted; the opening when nothing matches."""
    pattern = _stem_pattern(stems)
    match = pattern.search(text) if pattern else None
    start = 0
    if match and match.start() > length // 3:
        start = text.rfind(" ", 0, match.start() - length // 3) + 1
    end = min(len(text), start + length)
    if end < len(text):
        end = max(text.rfind(" ", start, end), start + length // 2)
    piece = text[start:end]
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return mark_safe(prefix + highlight(piece, stems) + suffix)  # noqa: S308 - highlight escapes
