"""Live chat pages: the customer's chat (``/chat/``, polled every 3 s while open) and the agents' console
(``/chat/console/``, refreshed by ``live-chat`` frames). Thin over ``chat.selectors`` and ``chat.services``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chat import selectors, services
from chat.forms import ChatMessageForm, ChatStartForm
from chat.models import ChatSession, ChatStatus
from helpdesk.errors import ApplicationError, NotFound
from helpdesk.typing import AuthenticatedHttpRequest
from helpdesk.views import customer_required, form_errors, staff_required


def _chat_or_404(request: AuthenticatedHttpRequest, pk: int) -> ChatSession:
    try:
        return selectors.chat_get_for_user(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _message_form(session: ChatSession, data=None) -> ChatMessageForm:
    # Several chats share the console: each composer's field ids are its own.
    return ChatMessageForm(data, auto_id=f"id_chat{session.pk}_%s")


def _wait_minutes(session: ChatSession) -> int | None:
    """The expected wait in whole minutes (at least 1), or None for "a few minutes" (no history yet)."""
    seconds = selectors.chat_expected_wait_seconds(session)
    return None if seconds is None else max(1, round(seconds / 60))


def _log_context(request: AuthenticatedHttpRequest, session: ChatSession, form: ChatMessageForm | None = None) -> dict:
    prefetched = "messages" in getattr(session, "_prefetched_objects_cache", {})
    waiting = session.status == ChatStatus.WAITING
    return {
        "session": session,
        "chat_messages": list(session.messages.all() if prefetched else selectors.chat_messages(session)),
        "position": selectors.chat_queue_position(session),
        "wait_minutes": _wait_minutes(session) if waiting else None,
        "form": form or _message_form(session),
    }


def _waiting_context(request: AuthenticatedHttpRequest) -> dict:
    """The console's waiting list: the chats offered to this agent (``chat_waiting_for``, the push's rule)."""
    return {
        "waiting": list(selectors.chat_waiting_for(request.user)),
        "capacity": services.chat_capacity(),
        "is_away": not request.user.is_available,
    }


@login_required
@customer_required
@require_http_methods(["GET", "POST"])
def chat_customer_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    session = selectors.chat_open_for_customer(request.user)
    if session is not None:
        return TemplateResponse(request, "chat/customer.html", _log_context(request, session))
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
            return redirect("chat_customer")
    status = 400 if request.method == "POST" else 200
    last = request.user.chat_sessions.filter(status=ChatStatus.ENDED).select_related("ticket").order_by("-pk").first()
    return TemplateResponse(request, "chat/customer.html", {"start_form": form, "last": last}, status=status)


@login_required
@require_GET
def chat_log_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    session = _chat_or_404(request, pk)
    return TemplateResponse(request, "chat/_log.html", _log_context(request, session))


@login_required
@require_POST
def chat_send_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    session = _chat_or_404(request, pk)
    form = _message_form(session, request.POST)
    status = 200
    if form.is_valid():
        try:
            services.chat_post(session=session, author=request.user, body=form.cleaned_data["body"])
        except ApplicationError as exc:
            form_errors(form, exc)
            status = exc.status
        else:
            form = _message_form(session)
    else:
        status = 400
    if not request.htmx:
        if status != 200:
            refusals = [*form.non_field_errors(), *form.errors.get("body", [])]
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
        if request.user.is_staff_member:
            messages.success(request, f"Chat ended: ticket {ticket.reference} holds the transcript.")
        else:
            messages.success(
                request,
                _("Chat ended. Its transcript is on your request %(reference)s.") % {"reference": ticket.reference},
            )
    return redirect("chat_console" if request.user.is_staff_member else "chat_customer")
