"""Live chat pages: the customer's chat (``/chat/``) and the agents' console (``/chat/console/``), both refreshed by
``live-chat`` frames (the stream's fallback poll while push is down), and the chat's file downloads. Thin over ``chat.selectors`` and ``chat.services``."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.csp import CSP
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chat import embed, selectors, services
from chat.forms import CALLBACK_STARTS, ChatCallbackForm, ChatEscalateForm, ChatMessageForm, ChatStartForm
from chat.models import ChatSession, ChatStatus
from escalations.calls.services import window_words
from escalations.models import EscalationType
from helpdesk.attachments import attachment_file_response
from helpdesk.errors import ApplicationError, NotFound
from helpdesk.typing import AuthenticatedHttpRequest
from helpdesk.views import customer_required, form_errors, manager_required, staff_required


def _chat_or_404(request: AuthenticatedHttpRequest, pk: int) -> ChatSession:
    try:
        return selectors.chat_get_for_user(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _message_form(session: ChatSession, data=None, files=None) -> ChatMessageForm:
    # Several chats share the console: each composer's field ids are its own.
    return ChatMessageForm(data, files, auto_id=f"id_chat{session.pk}_%s")


def _wait_minutes(session: ChatSession) -> int | None:
    """The expected wait in whole minutes (at least 1), or None for "a few minutes" (no history yet)."""
    seconds = selectors.chat_expected_wait_seconds(session)
    return None if seconds is None else max(1, round(seconds / 60))


def _log_context(request: AuthenticatedHttpRequest, session: ChatSession, form: ChatMessageForm | None = None) -> dict:
    prefetched = "messages" in getattr(session, "_prefetched_objects_cache", {})
    waiting = session.status == ChatStatus.WAITING
    participants = selectors.chat_participants(session)
    return {
        "session": session,
        "chat_messages": list(session.messages.all() if prefetched else selectors.chat_messages(session)),
        "position": selectors.chat_queue_position(session),
        "wait_minutes": _wait_minutes(session) if waiting else None,
        "form": form or _message_form(session),
        "participants": participants,
        "specialists": [p for p in participants if p.role == "specialist"],
        "typing": selectors.chat_typing_names(session=session, viewer=request.user)
        if session.status == ChatStatus.ACTIVE
        else [],
        "transfer_pending": services.chat_transfer_pending(session),
        "callback_words": window_words(session.callback) if session.callback_id and session.callback else "",
    }


def _waiting_context(request: AuthenticatedHttpRequest) -> dict:
    """The console's waiting list: the chats offered to this agent (``chat_waiting_for``, the push's rule)."""
    return {
        "waiting": list(selectors.chat_waiting_for(request.user)),
        "capacity": services.chat_capacity(),
        "is_away": not request.user.is_available,
    }


def _customer_chat(request: AuthenticatedHttpRequest, *, template: str, started_url: str, extra: dict) -> HttpResponse:
    """The customer's chat, on its page or in the embedded widget: the open chat, or the form that starts one."""
    session = selectors.chat_open_for_customer(request.user)
    if session is not None:
        return TemplateResponse(request, template, {**_log_context(request, session), **extra})
    form = ChatStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.chat_start(
                customer=request.user,
                category=form.cleaned_data["category"],
                first_message=form.cleaned_data["body"],
            )
        except ApplicationError as exc:
            form_errors(form, exc)
        else:
            return redirect(started_url)
    status = 400 if request.method == "POST" else 200
    last = (
        request.user.chat_sessions.filter(status=ChatStatus.ENDED)
        .select_related("ticket", "callback")
        .order_by("-pk")
        .first()
    )
    context = {
        "start_form": form,
        "last": last,
        "last_callback_words": window_words(last.callback) if last and last.callback else "",
        **extra,
    }
    return TemplateResponse(request, template, context, status=status)


@login_required
@customer_required
@require_http_methods(["GET", "POST"])
def chat_customer_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _customer_chat(request, template="chat/customer.html", started_url=reverse("chat_customer"), extra={})


@login_required
@require_GET
def chat_log_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    session = _chat_or_404(request, pk)
    return TemplateResponse(request, "chat/_log.html", _log_context(request, session))


@login_required
@require_POST
def chat_send_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    session = _chat_or_404(request, pk)
    form = _message_form(session, request.POST, request.FILES)
    status = 200
    if form.is_valid():
        try:
            services.chat_post(
                session=session,
                author=request.user,
                body=form.cleaned_data["body"],
                upload=form.cleaned_data["attachment"],
            )
        except ApplicationError as exc:
            form_errors(form, exc)
            status = exc.status
        else:
            form = _message_form(session)
    else:
        status = 400
    if not request.htmx:
        if status != 200:
            refusals = [*form.non_field_errors(), *form.errors.get("body", []), *form.errors.get("attachment", [])]
            messages.error(request, " ".join(str(refusal) for refusal in refusals))
        return redirect("chat_console" if request.user.is_staff_member else "chat_customer")
    context = {**_log_context(request, session, form), "composer_oob": True}
    # htmx swaps 2xx only; a refusal is a 200 carrying the form error (the status is in a header for scripts).
    response = TemplateResponse(request, "chat/_log.html", context)
    if status != 200:
        response["X-Chat-Refused"] = str(status)
    return response


@login_required
@staff_required
@require_GET
def chat_console_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    active = [_log_context(request, s) for s in selectors.chat_active_with_messages(request.user)]
    context = {
        **_waiting_context(request),
        "active": active,
        "held": sum(1 for pane in active if pane["session"].agent_id == request.user.pk),
        "specialist_teams": list(selectors.chat_specialist_teams()) if active else [],
        "escalation_types": EscalationType.choices,
        "callback_starts": CALLBACK_STARTS,
        "ended": request.user.chats_taken.filter(status=ChatStatus.ENDED)
        .select_related("ticket", "customer")
        .order_by("-ended_at")[:5],
    }
    return TemplateResponse(request, "chat/console.html", context)


@login_required
@staff_required
@require_GET
def chat_waiting_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    return TemplateResponse(request, "chat/_waiting.html", _waiting_context(request))


@login_required
@staff_required
@require_POST
def chat_accept_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    session = _chat_or_404(request, pk)
    try:
        services.chat_accept(session=session, agent=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("chat_console")


@login_required
@require_POST
def chat_end_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    session = _chat_or_404(request, pk)
    try:
        ticket = services.chat_end(session=session, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if ticket is None:  # a guest chat whose email is not confirmed (chat.guest)
            messages.success(request, "Chat ended. The guest has not confirmed their email: no ticket yet.")
        elif request.user.is_staff_member:
            messages.success(request, f"Chat ended: ticket {ticket.reference} holds the transcript.")
        else:
            messages.success(
                request,
                _("Chat ended. Its transcript is on your request %(reference)s.") % {"reference": ticket.reference},
            )
    if request.POST.get("from") == "widget" and not request.user.is_staff_member:
        return redirect(_widget_url(request.POST.get("origin", "")))
    return redirect("chat_console" if request.user.is_staff_member else "chat_customer")


# --- the embedded widget (README "Live chat": embed snippet) ------------------------------------------------------


def _widget_url(origin: str) -> str:
    url = reverse("chat_widget")
    return f"{url}?{urlencode({'origin': origin})}" if embed.origin_of(origin) else url


@require_GET
def chat_embed_js_view(request: HttpRequest) -> HttpResponse:
    """The embed script for a customer's own site: a launcher button that opens the widget in an iframe, only on a
    page whose origin is allowed (``chat.embed``). Public, cacheable for five minutes; no third-party code."""
    config = {
        "widget": request.build_absolute_uri(reverse("chat_widget")),
        "self": embed.origin_of(request.build_absolute_uri("/")),
        "origins": embed.embed_allowed_origins(),
    }
    # json.dumps cannot close the script, but "<" is escaped anyway so that the file never holds markup.
    body = render_to_string("chat/embed.js", {"config": json.dumps(config).replace("<", "\\u003c")})
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def chat_widget_view(request: HttpRequest) -> HttpResponse:
    """The chat in an iframe on an allowed site: a signed-in customer chats as on ``/chat/`` (our session cookie,
    sent to the frame where the browser allows it); anyone else is asked to sign in or open the chat in a new window.
    Framed only by our origin and ``CHAT_EMBED_ALLOWED_ORIGINS`` (``frame-ancestors``); a request whose framing page
    (Referer, else the script's ``origin``) is another origin is refused with 403."""
    framing = embed.embed_framing_origin(request)
    response: HttpResponse
    if framing is not None and not embed.embed_origin_allowed(origin=framing, request=request):
        response = TemplateResponse(request, "chat/widget_refused.html", {}, status=403)
    else:
        origin = request.GET.get("origin", "")
        extra = {"widget": True, "widget_origin": origin if embed.origin_of(origin) else ""}
        user = request.user
        if user.is_authenticated and user.is_customer:
            response = _customer_chat(
                request,  # type: ignore[arg-type]  # signed in, checked above
                template="chat/widget.html",
                started_url=_widget_url(origin),
                extra=extra,
            )
        else:
            if request.method == "POST":
                return HttpResponse(status=403)
            response = TemplateResponse(request, "chat/widget.html", {**extra, "signed_out": True})
    response._csp_config = {  # type: ignore[attr-defined]  # read by Django's CSP middleware (as csp_override sets)
        **settings.SECURE_CSP,
        "frame-ancestors": [CSP.SELF, *embed.embed_allowed_origins()],
    }
    return response


@login_required
@manager_required
@require_GET
def chat_embed_settings_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """For managers and admins: the one-line snippet to paste into a customer's site, and the allowed origins."""
    script = request.build_absolute_uri(reverse("chat_embed_js"))
    snippet = f'<script src="{script}" data-label="Chat with us" async></script>'
    context = {"snippet": snippet, "origins": embed.embed_allowed_origins(), "own": embed.origin_of(script)}
    return TemplateResponse(request, "chat/embed_settings.html", context)


@login_required
@staff_required
@require_POST
def chat_escalate_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Bring in a specialist team: the chat's warm transfer (``chat.services.chat_escalate``)."""
    session = _chat_or_404(request, pk)
    form = ChatEscalateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a specialist team and the type of problem.")
        return redirect("chat_console")
    try:
        escalation = services.chat_escalate(
            session=session,
            actor=request.user,
            team=form.cleaned_data["team"],
            escalation_type=form.cleaned_data["escalation_type"],
            note=form.cleaned_data["note"],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        team = form.cleaned_data["team"].name
        messages.success(
            request,
            f"{team} was asked to join (ticket {escalation.ticket.reference}); the customer is told to stay. "
            "If nobody accepts in time, you are told and a callback is promised.",
        )
    return redirect("chat_console")


@login_required
@staff_required
@require_POST
def chat_callback_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Convert the chat into a promised callback (``chat.services.chat_convert_to_callback``)."""
    session = _chat_or_404(request, pk)
    form = ChatCallbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose when to call back.")
        return redirect("chat_console")
    try:
        callback = services.chat_convert_to_callback(
            session=session,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            number=form.cleaned_data["number"],
            starts_in_minutes=form.cleaned_data["starts_in_minutes"],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Chat converted into a callback, {window_words(callback)}; ticket {callback.ticket.reference} holds "
            "the transcript.",
        )
    return redirect("chat_console")


@login_required
@require_POST
def chat_typing_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """ "I am typing" from the chat's customer or a staff participant (throttled by ``static/js/chat.js``): 204."""
    session = _chat_or_404(request, pk)
    try:
        services.chat_typing(session=session, user=request.user)
    except ApplicationError as exc:
        return HttpResponse(status=exc.status)
    return HttpResponse(status=204)


@login_required
@require_GET
def chat_attachment_view(request: AuthenticatedHttpRequest, pk: int) -> FileResponse:
    """A chat file: for the people in the chat, or once it is on the chat's ticket, for whoever may see the ticket's
    attachment (``chat_attachment_for_download``); 404 for anyone else. Sent as the product sends attachments."""
    return attachment_file_response(selectors.chat_attachment_for_download(user=request.user, pk=pk))
