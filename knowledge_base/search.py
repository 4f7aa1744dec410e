"""Ranked article search with highlighted snippets, on PostgreSQL and on SQLite. Every search in the product (the
help centre, portal and contact-form suggestions, staff search, the workspace's and escalate form's suggestions, the
API's ``?search=``) calls ``articles_search``: one rule for what matches and in which order.

Both backends take an already *authorised* queryset (from ``selectors.articles_visible_to`` or
``selectors.articles_public``), so search can never widen what a user may see; they only rank and highlight. Both
match in stages by how many of the query terms an article contains (all, all but one, two, any; ``match_stages``),
and the next, larger, stage runs only while the page is not full.

- PostgreSQL: ``search_vector`` (title weight A, tags B, body C; stored, GIN-indexed) ordered by ``ts_rank``; at most
  ``RANK_CANDIDATES`` matches of a stage are ranked (its most helpful ones); snippets from ``ts_headline`` for the
  returned page only.
- SQLite: the FTS5 shadow table ``knowledge_base_article_fts`` (``fts.py``; Porter stemming) joined to the authorised
  queryset, ordered by ``bm25()`` with the same 10 / 4 / 1 weights for title, tags and body; snippets are cut and
  highlighted here.

Highlighted HTML is built by escaping the text first and only then inserting ``<mark>``, so article text can never
inject markup through a snippet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from itertools import combinations

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Case, F, FloatField, QuerySet, Value, When
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Replace
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from knowledge_base.fts import FTS_TABLE
from knowledge_base.models import Article

CONFIG = "english"
MAX_TERMS = 12
TITLE_WEIGHT, TAG_WEIGHT, BODY_WEIGHT = 10.0, 4.0, 1.0
CATEGORY_BOOST = 1.5
SNIPPET_CHARS = 220
# PostgreSQL ranks at most this many matches per stage (see _search_postgres). SQLite has no such cap: bm25() runs
# inside FTS5's own scan, and pre-selecting the best matches in a subquery made FTS5 re-run the whole MATCH once per
# candidate (measured: seconds for a 36-pair "two of the terms" stage).
RANK_CANDIDATES = 500
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
    return _search_sqlite(queryset, terms, limit, boost_category_id)


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


def at_least(terms: list[str], k: int, *, both: str, either: str) -> str:
    """A boolean query text matching documents that contain at least ``k`` of the terms: an OR of ANDs, written
    with each backend's operators (``&``/``|`` for a tsquery, ``AND``/``OR`` for FTS5). The terms are ``\\w+``."""
    if k >= len(terms):
        return f" {both} ".join(terms)
    return f" {either} ".join("(" + f" {both} ".join(combo) + ")" for combo in combinations(terms, k))


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
    # One raw tsquery per stage (to_tsquery stems each term with the config): a tree of one SearchQuery per term
    # costs more to compile in Django than the query takes to run.
    def tsquery(k: int) -> SearchQuery:
        return SearchQuery(at_least(terms, k, both="&", either="|"), search_type="raw", config=CONFIG)

    any_term = tsquery(1)
    rank: SearchRank | CombinedExpression = SearchRank(F("search_vector"), any_term)
    if boost_category_id:
        rank = rank * Case(
            When(category_id=boost_category_id, then=Value(CATEGORY_BOOST)),
            default=Value(1.0),
            output_field=FloatField(),
        )
    ranked: list[tuple[int, float]] = []
    for k in match_stages(len(terms)):
        # ts_rank reads and decompresses each row's vector: rank at most RANK_CANDIDATES matches of a stage (its
        # most helpful ones), so one everyday word that matches half the knowledge base costs what a rare one does.
        candidates = (
            queryset.filter(search_vector=tsquery(k))
            .exclude(pk__in=[pk for pk, _ in ranked])
            .order_by("-helpful_count", "pk")
            .values("pk")[:RANK_CANDIDATES]
        )
        ranked += list(
            queryset.filter(pk__in=candidates)
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


# --- SQLite: FTS5 -------------------------------------------------------------------------------------------------


def _search_sqlite(queryset, terms, limit, boost_category_id) -> list[SearchHit]:
    # The shadow table (fts.py) is joined to the authorised queryset by rowid, so FTS5 finds the matches through its
    # inverted index and bm25() weighs title, tags and body as PostgreSQL's A, B, C weights do.
    table = queryset.model._meta.db_table
    score_sql = f"-bm25({FTS_TABLE}, {TITLE_WEIGHT}, {TAG_WEIGHT}, {BODY_WEIGHT})"
    score_params: list[object] = []
    if boost_category_id:
        score_sql = f"({score_sql}) * (CASE WHEN {table}.category_id = %s THEN {CATEGORY_BOOST} ELSE 1.0 END)"
        score_params = [boost_category_id]
    found: list[Article] = []
    for k in match_stages(len(terms)):
        found += list(
            queryset.exclude(pk__in=[article.pk for article in found])
            .extra(  # noqa: S610 - fixed SQL; the only inputs (the match and the category id) are parameters
                select={"score": score_sql},
                select_params=score_params,
                tables=[FTS_TABLE],
                where=[f"{FTS_TABLE}.rowid = {table}.id", f"{FTS_TABLE} MATCH %s"],
                params=[at_least([f'"{term}"' for term in terms], k, both="AND", either="OR")],
            )
            .select_related("category", "owner")
            .defer("search_vector", "body", "body_html")
            .order_by("-score", "-helpful_count", "pk")[: limit - len(found)]
        )
        if len(found) >= limit:
            break
    stems = list(dict.fromkeys(stem(term) for term in terms))
    return [
        SearchHit(
            article=article,
            score=float(article.score),  # type: ignore[attr-defined]  # the extra() column
            title_html=highlight(article.title, stems),
            snippet_html=snippet(article.body_text, stems),
        )
        for article in found
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
