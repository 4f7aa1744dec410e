"""Knowledge-base pages: thin function-based views over selectors and services.

Every article is reached through ``selectors.articles_visible_to`` (via ``article_get_for_user`` for details, 404
on a miss); every ticket through ``helpdesk.selectors.ticket_get_for_user``. State changes are POST + CSRF.
"""

from __future__ import annotations

from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from helpdesk.forms import ReplyForm
from helpdesk.selectors import ticket_get_for_user
from helpdesk.typing import AuthenticatedHttpRequest
from helpdesk.views import form_errors, staff_required
from knowledge_base import selectors, services
from knowledge_base.forms import ArticleForm, DecisionForm, ProposalForm, SearchForm
from knowledge_base.models import ArticleStatus, ProposalKind
from knowledge_base.panels import kb_panel_context

SUGGEST_SOURCE = "suggest"


def editor_required(view):
    @wraps(view)
    def wrapper(request: AuthenticatedHttpRequest, *args, **kwargs):
        if not selectors.user_is_kb_editor(request.user):
            raise PermissionDenied("This page is for knowledge-base editors.")
        return view(request, *args, **kwargs)

    return wrapper


def _session_key(request: HttpRequest) -> str:
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key or ""  # set by save() above


@login_required
@require_GET
def article_list_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The help centre (customers) / knowledge base (staff): search with ranked, highlighted results, or browse."""
    user = request.user
    form = SearchForm(request.GET or None)
    form.is_valid()
    data = getattr(form, "cleaned_data", {}) or {}
    query, category, status = data.get("q", ""), data.get("category"), data.get("status", "")
    context = {"form": form, "query": query, "category": category, "is_editor": selectors.user_is_kb_editor(user)}
    if query:
        context["hits"] = selectors.articles_search_for_user(
            user=user, query=query, category=category, limit=30, published_only=not status
        )
        if status:
            context["hits"] = [hit for hit in context["hits"] if hit.article.status == status]
    else:
        context["page"] = Paginator(selectors.articles_list(user=user, category=category, status=status), 30).get_page(
            request.GET.get("page")
        )
    context["article_count"] = selectors.articles_count_for_user(user=user, category=category)
    if user.is_staff_member:
        context["review_count"] = selectors.proposals_for_reviewer(user).count()
    template = "knowledge_base/article_list.html"
    if request.htmx and request.htmx.target == "kb-results":
        template += "#results"
    return TemplateResponse(request, template, context)


@login_required
@require_GET
def suggest_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The as-you-type partial: suggestions for ``q`` (or the new-ticket form's subject and description)."""
    text = " ".join(request.GET.get(name, "") for name in ("q", "subject", "description")).strip()[:3000]
    hits = selectors.articles_suggest(user=request.user, text=text) if len(text) >= 3 else []
    return TemplateResponse(
        request,
        "knowledge_base/_suggestions.html",
        {"hits": hits, "text": text, "from_params": urlencode({"from": SUGGEST_SOURCE, "q": text[:200]})},
    )


@login_required
@require_GET
def article_detail_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    article = selectors.article_get_for_user(user=user, pk=pk)
    from_suggestion = request.GET.get("from") == SUGGEST_SOURCE and user.is_customer
    if from_suggestion and article.is_published:
        # Recording the open is bookkeeping, not a state change the reader asked for: idempotent per session.
        services.deflection_record_open(
            article=article, user=user, session_key=_session_key(request), query=request.GET.get("q", "")
        )
    context = {
        "article": article,
        "vote": selectors.article_vote_of(user=user, article=article),
        "can_edit": selectors.user_can_edit_article(user=user, article=article),
        "is_editor": selectors.user_is_kb_editor(user),
        "from_suggestion": from_suggestion,
        "proposal_form": ProposalForm() if user.is_staff_member else None,
        "status_choices": ArticleStatus.choices,
        "revision_count": article.revisions.count(),
    }
    return TemplateResponse(request, "knowledge_base/article_detail.html", context)


@login_required
@require_POST
def article_vote_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get_for_user(user=request.user, pk=pk)
    if request.POST.get("helpful") not in ("yes", "no"):
        return HttpResponse("Say whether the article was helpful.", status=400)
    try:
        services.article_vote(article=article, user=request.user, helpful=request.POST["helpful"] == "yes")
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400)
    if request.htmx:
        return TemplateResponse(
            request,
            "knowledge_base/article_detail.html#vote",
            {"article": article, "vote": selectors.article_vote_of(user=request.user, article=article)},
        )
    messages.success(request, _("Thank you for your feedback."))
    return redirect("kb_article_detail", pk=article.pk)


@login_required
@require_POST
def deflection_confirm_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get_for_user(user=request.user, pk=pk)
    if request.user.is_customer:
        services.deflection_confirm(article=article, user=request.user, session_key=_session_key(request))
    messages.success(request, _("Glad that helped. You do not need to send a request."))
    return redirect("kb_article_detail", pk=article.pk)


@login_required
@staff_required
def article_create_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ArticleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            article = services.article_create(
                actor=request.user,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                category=form.cleaned_data["category"],
                visibility=form.cleaned_data["visibility"],
                tags=form.cleaned_data["tags"],
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Draft saved."))
            return redirect("kb_article_detail", pk=article.pk)
    return TemplateResponse(request, "knowledge_base/article_form.html", {"form": form, "article": None})


@login_required
@staff_required
def article_edit_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get_for_user(user=request.user, pk=pk)
    if not selectors.user_can_edit_article(user=request.user, article=article):
        raise PermissionDenied("Only the article's owner or an editor can change it. Propose an edit instead.")
    current = article.revisions.count()
    initial = {
        "title": article.title,
        "category": article.category_id,
        "visibility": article.visibility,
        "tags": article.tags,
        "body": article.body,
        "expected_revision": current,
    }
    form = ArticleForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.article_update(
                article=article,
                actor=request.user,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                category=form.cleaned_data["category"],
                visibility=form.cleaned_data["visibility"],
                tags=form.cleaned_data["tags"],
                note=form.cleaned_data["note"],
                expected_revision=form.cleaned_data["expected_revision"],
            )
        except (ValidationError, services.ArticleConflict) as exc:
            form_errors(form, exc)
            status = 409
        else:
            messages.success(request, _("Article saved."))
            return redirect("kb_article_detail", pk=article.pk)
    return TemplateResponse(
        request, "knowledge_base/article_form.html", {"form": form, "article": article}, status=status
    )


# What the article became, in a sentence (each status's own words, so each language can inflect them).
_STATUS_NOW = {
    ArticleStatus.DRAFT: gettext_lazy("The article is now a draft."),
    ArticleStatus.IN_REVIEW: gettext_lazy("The article is now in review."),
    ArticleStatus.PUBLISHED: gettext_lazy("The article is now published."),
    ArticleStatus.ARCHIVED: gettext_lazy("The article is now archived."),
}


@login_required
@staff_required
@require_POST
def article_status_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get_for_user(user=request.user, pk=pk)
    status = request.POST.get("status", "")
    if status not in ArticleStatus.values:
        return HttpResponse(_("Unknown status."), status=400)
    try:
        services.article_set_status(article=article, actor=request.user, status=status)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _STATUS_NOW[ArticleStatus(status)])
    return redirect("kb_article_detail", pk=article.pk)


@login_required
@staff_required
@require_POST
def article_reviewed_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get_for_user(user=request.user, pk=pk)
    services.article_mark_reviewed(article=article, actor=request.user)
    messages.success(request, _("“%(title)s” marked as reviewed today.") % {"title": article.title})
    if request.POST.get("back") == "health":
        return redirect("kb_health")
    return redirect("kb_article_detail", pk=article.pk)


@login_required
@staff_required
@require_GET
def article_history_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get_for_user(user=request.user, pk=pk)
    return TemplateResponse(
        request,
        "knowledge_base/article_history.html",
        {"article": article, "revisions": selectors.article_revisions(article=article)},
    )


@login_required
@staff_required
@require_POST
def article_propose_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get_for_user(user=request.user, pk=pk)
    form = ProposalForm(request.POST)
    if form.is_valid():
        try:
            services.proposal_create(
                article=article,
                author=request.user,
                kind=form.cleaned_data["kind"],
                proposed_title=form.cleaned_data["proposed_title"],
                proposed_body=form.cleaned_data["proposed_body"],
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Thank you. Your proposal is in the owner's review queue."))
            return redirect("kb_article_detail", pk=article.pk)
    context = {
        "article": article,
        "vote": selectors.article_vote_of(user=request.user, article=article),
        "can_edit": selectors.user_can_edit_article(user=request.user, article=article),
        "is_editor": selectors.user_is_kb_editor(request.user),
        "proposal_form": form,
        "status_choices": ArticleStatus.choices,
        "revision_count": article.revisions.count(),
    }
    return TemplateResponse(request, "knowledge_base/article_detail.html", context, status=400)


@login_required
@staff_required
@require_GET
def review_queue_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    proposals = list(selectors.proposals_for_reviewer(request.user))
    for proposal in proposals:
        proposal.is_stale = proposal.base_revision != proposal.article.revisions.count()
    return TemplateResponse(
        request, "knowledge_base/review_queue.html", {"proposals": proposals, "edit_kind": ProposalKind.EDIT}
    )


@login_required
@staff_required
@require_POST
def proposal_decide_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    proposal = selectors.proposal_get_for_reviewer(user=request.user, pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Choose accept or decline."), status=400)
    try:
        if form.cleaned_data["decision"] == "accept":
            services.proposal_accept(proposal=proposal, actor=request.user)
            messages.success(request, _("Proposal accepted."))
        else:
            services.proposal_decline(proposal=proposal, actor=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("Proposal declined; the author can read your reason."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("kb_review_queue")


@login_required
@staff_required
@require_GET
def article_insert_view(request: AuthenticatedHttpRequest, pk: int, reference: str) -> HttpResponse:
    """Without JavaScript, "insert link/excerpt" lands here: a reply form pre-filled with the article, posting to
    the ticket's ordinary reply endpoint."""
    ticket = ticket_get_for_user(user=request.user, reference=reference)
    article = selectors.article_get_for_user(user=request.user, pk=pk)
    if not (article.is_published and article.is_public):
        raise Http404("Only published public articles can be sent to a customer.")
    text = article_reply_text(article=article, excerpt=request.GET.get("what") == "excerpt")
    form = ReplyForm(initial={"body": text, "version": ticket.version})
    return TemplateResponse(
        request, "knowledge_base/article_insert.html", {"ticket": ticket, "article": article, "reply_form": form}
    )


@login_required
@require_GET
def ticket_suggestions_view(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """The workspace's suggested-articles panel, loaded after the page: the bare panel for htmx, a page without it."""
    # Authorise the ticket before the role, so a ticket the user may not see is a 404 as on the workspace itself.
    ticket = ticket_get_for_user(user=request.user, reference=reference)
    if not request.user.is_staff_member:
        raise PermissionDenied("This page is for staff.")
    template = "knowledge_base/_panel.html#section" if request.htmx else "knowledge_base/ticket_suggestions.html"
    response = TemplateResponse(request, template, {"panel": kb_panel_context(request=request, ticket=ticket)})
    patch_vary_headers(response, ["HX-Request"])  # one URL, two bodies: a cache must not serve one for the other
    return response


def article_reply_text(*, article, excerpt: bool) -> str:
    # The public help-centre address: it opens for any customer, even one who has never signed in (a contact made
    # by inbound email or the help centre's contact form has no password).
    url = settings.SITE_URL + article.get_help_url()
    if not excerpt:
        return f"This article explains it: {article.title}\n{url}"
    text = article.body_text
    if len(text) > 400:
        text = text[: text.rfind(" ", 0, 400)] + " …"
    return f"{article.title}\n\n{text}\n\nRead the full article: {url}"


@login_required
@staff_required
@require_POST
def article_use_view(request: AuthenticatedHttpRequest, pk: int, reference: str) -> HttpResponse:
    ticket = ticket_get_for_user(user=request.user, reference=reference)
    article = selectors.article_get_for_user(user=request.user, pk=pk)
    services.article_use_record(article=article, ticket=ticket, actor=request.user)
    messages.success(request, _("Recorded: resolved with “%(title)s”.") % {"title": article.title})
    return redirect("ticket_detail", reference=ticket.reference)


@login_required
@editor_required
@require_GET
def health_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        days = max(1, min(int(request.GET.get("days", 90)), 3650))
    except ValueError:
        days = 90
    now = timezone.now()
    user = request.user
    context = {
        "days": days,
        "stale": selectors.articles_not_reviewed_since(user=user, before=now - timedelta(days=days))[:100],
        "low": selectors.articles_low_helpfulness(user=user)[:50],
        "gaps": selectors.category_gaps(since=now - timedelta(days=days)),
        "deflections": selectors.deflection_stats(
            now=now, since=now - timedelta(days=days), window=services.DEFLECTION_WINDOW
        ),
        "drafts": selectors.articles_visible_to(user)
        .filter(status__in=[ArticleStatus.DRAFT, ArticleStatus.IN_REVIEW])
        .with_list_related()
        .order_by("-updated_at")[:50],
    }
    return TemplateResponse(request, "knowledge_base/health.html", context)
