"""The public help centre: articles, categories, search, "was this helpful", the contact form and the sitemap,
for anyone, without an account.

What anonymous readers may see is decided in one place, ``selectors.articles_public()`` (the same queryset method
that decides what signed-in customers see), so an internal, draft or archived article is a 404 here and is absent
from every list, count, search, suggestion and sitemap entry.

Anonymous visitors are told apart by a random token in a signed cookie (``hc_visitor``, set only when they vote,
open a suggestion or send the contact form): one vote per visitor and article (a database constraint), and the key
of their deflection records. Clearing the cookie gives a new visitor, so votes and the contact form are also
rate-limited per client address with Django's cache (``HELP_CENTRE_*_RATE``).

URLs are ``/help/<category-slug>/<article-slug>/``: the article slug is stored once and never follows a rename, and a
stale category part (the article moved) is a permanent redirect to the canonical address.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.audit import client_ip
from helpdesk.errors import Invalid
from helpdesk.models import Category, User
from helpdesk.notifications import absolute_url
from helpdesk.typing import HtmxHttpRequest
from helpdesk.views import form_errors
from knowledge_base import selectors, services
from knowledge_base.forms import ContactForm, HelpSearchForm
from knowledge_base.models import Article

VISITOR_COOKIE = "hc_visitor"
VISITOR_SALT = "knowledge_base.help_centre.visitor"
VISITOR_MAX_AGE = 365 * 24 * 60 * 60
SUGGEST_SOURCE = "suggest"
TOPIC_PAGE_SIZE = 50
_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


# --- visitors and rate limits ------------------------------------------------------------------------------------


def visitor_token(request: HttpRequest) -> str:
    """The visitor's token from their signed cookie ("" when they have none or it was tampered with)."""
    token = request.get_signed_cookie(VISITOR_COOKIE, default="", salt=VISITOR_SALT) or ""
    return token if len(token) == 32 and token.isalnum() else ""


def _ensure_visitor(request: HttpRequest) -> str:
    token = visitor_token(request) or getattr(request, "_new_visitor", "")
    if not token:
        token = secrets.token_hex(16)
        request._new_visitor = token  # type: ignore[attr-defined]  # picked up by _with_visitor_cookie
    return token


def _with_visitor_cookie(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    token = getattr(request, "_new_visitor", "")
    if token:
        response.set_signed_cookie(
            VISITOR_COOKIE,
            token,
            salt=VISITOR_SALT,
            max_age=VISITOR_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


def parse_rate(rate: str) -> tuple[int, int]:
    """``"30/hour"`` → ``(30, 3600)``. A malformed setting fails loudly at the first request, not silently open."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()]


def rate_limited(request: HttpRequest, *, scope: str, rate: str) -> bool:
    """Count this request against the client's fixed window for ``scope``; True once over the limit. Keys expire
    with their window, so the cache never grows without bound."""
    limit, period = parse_rate(rate)
    window = int(timezone.now().timestamp()) // period
    key = f"help-centre:{scope}:{client_ip(request) or 'unknown'}:{window}"
    cache.add(key, 0, timeout=period + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr: count this one as the first
        cache.set(key, 1, timeout=period + 5)
        count = 1
    return count > limit


def _too_many(request: HttpRequest, what: str) -> HttpResponse:
    response = TemplateResponse(request, "knowledge_base/help/too_many.html", {"what": what}, status=429)
    response["Retry-After"] = "60"
    return response


def _canonical(path: str) -> str:
    return absolute_url(path)


# --- reading --------------------------------------------------------------------------------------------------


@require_GET
def help_home_view(request: HttpRequest) -> HttpResponse:
    """The help centre's front page: search (``?q=``, optionally within ``?category=``) or browse by topic."""
    form = HelpSearchForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    query, category = data.get("q", ""), data.get("category")
    context: dict = {"form": form, "query": query, "category": category, "canonical": _canonical(reverse("help"))}
    if query:
        context["hits"] = selectors.help_articles_search(query=query, category=category)
        context["canonical"] = None  # search results are not a page of their own
    else:
        counts = selectors.help_topic_counts()
        context["categories"] = selectors.help_categories(counts=counts)
        context["popular"] = list(selectors.help_articles_list()[:8])
        context["article_count"] = sum(counts.values())
    return TemplateResponse(request, "knowledge_base/help/home.html", context)


@require_GET
def help_category_view(request: HttpRequest, category_slug: str) -> HttpResponse:
    category = Category.objects.filter(slug=category_slug).first()
    if category is None:
        raise Http404("No such topic.")
    page = Paginator(selectors.help_articles_list(category=category), TOPIC_PAGE_SIZE).get_page(request.GET.get("page"))
    if not page.object_list:
        raise Http404("No public articles in this topic.")
    return TemplateResponse(
        request,
        "knowledge_base/help/category.html",
        {
            "category": category,
            "page": page,
            "form": HelpSearchForm(initial={"category": category.slug}),
            "canonical": _canonical(
                reverse("help_category", args=[category.slug]) + (f"?page={page.number}" if page.number > 1 else "")
            ),
        },
    )


def _article_or_redirect(category_slug: str, article_slug: str) -> tuple[Article, HttpResponse | None]:
    article = selectors.help_article_get(slug=article_slug)
    if article.help_category_slug != category_slug:
        return article, HttpResponsePermanentRedirect(article.get_help_url())
    return article, None


def _is_signed_in_customer(request: HttpRequest) -> bool:
    return bool(request.user.is_authenticated and request.user.is_customer)


def _customer(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) and request.user.is_customer else None


def _vote_of(request: HttpRequest, article: Article):
    if request.user.is_authenticated:
        return selectors.article_vote_of(user=request.user, article=article)
    return selectors.help_article_vote_of(article=article, visitor=visitor_token(request))


@require_GET
def help_article_view(request: HttpRequest, category_slug: str, article_slug: str) -> HttpResponse:
    article, moved = _article_or_redirect(category_slug, article_slug)
    if moved is not None:
        query = request.GET.urlencode()
        if query:
            moved["Location"] += "?" + query
        return moved
    from_suggestion = request.GET.get("from") == SUGGEST_SOURCE
    if from_suggestion and not (request.user.is_authenticated and request.user.is_staff_member):
        # Bookkeeping of an open, idempotent per visitor (or session) and article; see ``Deflection``.
        if _is_signed_in_customer(request):
            if not request.session.session_key:
                request.session.save()
            key, user = request.session.session_key or "", _customer(request)
        else:
            key, user = services.visitor_session_key(_ensure_visitor(request)), None
        services.deflection_record_open(article=article, user=user, session_key=key, query=request.GET.get("q", ""))
    related = list(
        selectors.help_articles_list(category=article.category).exclude(pk=article.pk)[:5] if article.category else []
    )
    context = {
        "article": article,
        "vote": _vote_of(request, article),
        "related": related,
        "from_suggestion": from_suggestion,
        "canonical": _canonical(article.get_help_url()),
    }
    return _with_visitor_cookie(request, TemplateResponse(request, "knowledge_base/help/article.html", context))


@require_POST
def help_article_vote_view(request: HtmxHttpRequest, category_slug: str, article_slug: str) -> HttpResponse:
    """ "Was this helpful?" for anyone: one vote per reader (user or visitor cookie), rate-limited per client."""
    if rate_limited(request, scope="vote", rate=settings.HELP_CENTRE_VOTE_RATE):
        return _too_many(request, gettext("votes"))
    article = selectors.help_article_get(slug=article_slug)
    if request.POST.get("helpful") not in ("yes", "no"):
        return HttpResponse("Say whether the article was helpful.", status=400)
    helpful = request.POST["helpful"] == "yes"
    try:
        if request.user.is_authenticated:
            services.article_vote(article=article, user=request.user, helpful=helpful)
        else:
            services.article_vote(article=article, visitor=_ensure_visitor(request), helpful=helpful)
    except (ValidationError, PermissionDenied) as exc:
        return HttpResponse(" ".join(getattr(exc, "messages", [str(exc)])), status=400)
    if request.htmx:
        if request.user.is_authenticated:
            vote = selectors.article_vote_of(user=request.user, article=article)
        else:
            vote = selectors.help_article_vote_of(article=article, visitor=_ensure_visitor(request))
        response: HttpResponse = TemplateResponse(
            request, "knowledge_base/help/article.html#vote", {"article": article, "vote": vote}
        )
    else:
        response = redirect(article.get_help_url() + "#hc-vote")
    return _with_visitor_cookie(request, response)


@require_POST
def help_article_solved_view(request: HttpRequest, category_slug: str, article_slug: str) -> HttpResponse:
    """ "Yes, this solved my problem" after opening a suggestion: a confirmed deflection."""
    article = selectors.help_article_get(slug=article_slug)
    if _is_signed_in_customer(request):
        if not request.session.session_key:
            request.session.save()
        services.deflection_confirm(
            article=article, user=_customer(request), session_key=request.session.session_key or ""
        )
    elif not request.user.is_authenticated:
        key = services.visitor_session_key(_ensure_visitor(request))
        services.deflection_confirm(article=article, user=None, session_key=key)
    response = TemplateResponse(request, "knowledge_base/help/solved.html", {"article": article})
    return _with_visitor_cookie(request, response)


# --- contact us -----------------------------------------------------------------------------------------------


@require_GET
def help_suggest_view(request: HttpRequest) -> HttpResponse:
    """The contact form's as-you-type partial: the portal's suggestion code, over public articles only."""
    text = " ".join(request.GET.get(name, "") for name in ("q", "subject", "description")).strip()[:3000]
    hits = []
    if len(text) >= 3 and not rate_limited(request, scope="suggest", rate=settings.HELP_CENTRE_SUGGEST_RATE):
        hits = selectors.articles_suggest(user=None, text=text)
    return TemplateResponse(
        request,
        "knowledge_base/_suggestions.html",
        {
            "hits": hits,
            "text": text,
            "public": True,
            "from_params": urlencode({"from": SUGGEST_SOURCE, "q": text[:200]}),
        },
    )


@require_http_methods(["GET", "POST"])
def help_contact_view(request: HttpRequest) -> HttpResponse:
    """ "Contact us": suggestions while the visitor types; sending stores the request and emails a confirmation
    link. The ticket is opened only when the link is followed (``help_contact_confirm_view``)."""
    form = ContactForm(request.POST or None)
    if request.method == "POST":
        if rate_limited(request, scope="contact", rate=settings.HELP_CENTRE_CONTACT_RATE):
            return _too_many(request, gettext("requests"))
        if form.is_valid():
            try:
                services.help_request_submit(
                    email=form.cleaned_data["email"],
                    name=form.cleaned_data["name"],
                    subject=form.cleaned_data["subject"],
                    description=form.cleaned_data["description"],
                    category=form.cleaned_data["category"],
                    visitor=visitor_token(request),
                )
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                return redirect("help_contact_sent")
    return TemplateResponse(
        request, "knowledge_base/help/contact.html", {"form": form}, status=400 if form.errors else 200
    )


@require_GET
def help_contact_sent_view(request: HttpRequest) -> HttpResponse:
    hours = settings.HELP_CENTRE_CONFIRM_MAX_AGE // 3600
    return TemplateResponse(request, "knowledge_base/help/contact_sent.html", {"hours": hours})


@require_http_methods(["GET", "POST"])
def help_contact_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the confirmation email. GET shows the request and a button; only the POST opens the ticket,
    because mail scanners and link previews fetch links (GET) without anyone clicking them. Expired, tampered and
    unusable links get a page that says so (never a 500); a second confirmation shows the same ticket."""
    try:
        help_request = services.help_request_for_token(token)
        if request.method == "POST":
            ticket, created = services.help_request_confirm(token=token)
            return TemplateResponse(
                request, "knowledge_base/help/contact_done.html", {"reference": ticket.reference, "new": created}
            )
    except services.HelpLinkError as exc:
        return TemplateResponse(
            request,
            "knowledge_base/help/contact_link_error.html",
            {"error": exc},
            status=410 if exc.code == "expired" else 400,
        )
    except Invalid as exc:
        return TemplateResponse(request, "knowledge_base/help/contact_link_error.html", {"error": exc}, status=400)
    if help_request.ticket_id is not None:
        reference = help_request.ticket.reference if help_request.ticket else ""
        return TemplateResponse(
            request, "knowledge_base/help/contact_done.html", {"reference": reference, "new": False}
        )
    return TemplateResponse(request, "knowledge_base/help/contact_confirm.html", {"help_request": help_request})


# --- sitemap --------------------------------------------------------------------------------------------------


class _SiteUrlSitemap(Sitemap):
    """Locations on ``SITE_URL`` (as every link we publish), never on the request's Host header."""

    def get_protocol(self, protocol=None) -> str:
        return urlsplit(settings.SITE_URL).scheme or "https"

    def get_domain(self, site=None) -> str:
        return urlsplit(settings.SITE_URL).netloc


class HelpArticleSitemap(_SiteUrlSitemap):
    changefreq = "weekly"
    # Pages of 1,000 (the protocol allows 50,000): one page renders in a fraction of a second however large the KB.
    limit = 1000

    def items(self):
        return (
            selectors.articles_public()
            .select_related("category")
            .only("slug", "updated_at", "category__slug")
            .order_by("pk")
        )

    def location(self, item: Article) -> str:
        return item.get_help_url()

    def lastmod(self, item: Article):
        return item.updated_at


class HelpCategorySitemap(_SiteUrlSitemap):
    changefreq = "weekly"

    def items(self):
        return selectors.help_categories()

    def location(self, item: Category) -> str:
        return reverse("help_category", args=[item.slug])


class HelpHomeSitemap(_SiteUrlSitemap):
    changefreq = "daily"

    def items(self):
        return ["help", "help_contact"]

    def location(self, item: str) -> str:
        return reverse(item)


SITEMAPS = {"help": HelpHomeSitemap, "topics": HelpCategorySitemap, "articles": HelpArticleSitemap}


@require_GET
def help_sitemap_index_view(request: HttpRequest) -> HttpResponse:
    """``/sitemap.xml``: the index of the sections' pages, on ``SITE_URL`` (Django's own index view would build
    them on the request's Host header)."""
    entries = []
    for section, sitemap_class in SITEMAPS.items():
        path = reverse("sitemap_section", args=[section])
        for page in range(1, sitemap_class().paginator.num_pages + 1):
            entries.append({"location": absolute_url(path if page == 1 else f"{path}?p={page}")})
    return TemplateResponse(request, "sitemap_index.xml", {"sitemaps": entries}, content_type="application/xml")
