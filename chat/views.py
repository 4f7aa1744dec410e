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
from chat.forms import CALLBACK_STARTS, ChatCallbackForm, ChatEscalateForm, ChatMessageForm, ChatStartForm
from chat.models import ChatSession, ChatStatus
from escalations.calls.services import window_words
from escalations.models import EscalationType
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


def _log_context(request: AuthenticatedHttpRequest, session: ChatSession, form: ChatMessageForm | None = None) -> dict:
    prefetched = "messages" in getattr(session, "_prefetched_objects_cache", {})
    participants = selectors.chat_participants(session)
    return {
        "session": session,
        "chat_messages": list(session.messages.all() if prefetched else selectors.chat_messages(session)),
        "position": selectors.chat_queue_position(session),
        "form": form or _message_form(session),
        "participants": participants,
        "specialists": [p for p in participants if p.role == "specialist"],
        "typing": selectors.chat_typing_names(session=session, viewer=request.user)
        if session.status == ChatStatus.ACTIVE
        else [],
        "transfer_pending": services.chat_transfer_pending(session),
        "callback_words": window_words(session.callback) if session.callback_id and session.callback else "",
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
    }
    return TemplateResponse(request, "chat/customer.html", context, status=status)


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
        "waiting": list(selectors.chat_waiting()),
        "active": active,
        "held": sum(1 for pane in active if pane["session"].agent_id == request.user.pk),
        "specialist_teams": list(selectors.chat_specialist_teams()) if active else [],
        "escalation_types": EscalationType.choices,
        "callback_starts": CALLBACK_STARTS,
        "capacity": services.chat_capacity(),
        "ended": request.user.chats_taken.filter(status=ChatStatus.ENDED)
        .select_related("ticket", "customer")
        .order_by("-ended_at")[:5],
    }
    return TemplateResponse(request, "chat/console.html", context)


@login_required
@staff_required
@require_GET
def chat_waiting_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    context = {"waiting": list(selectors.chat_waiting()), "capacity": services.chat_capacity()}
    return TemplateResponse(request, "chat/_waiting.html", context)


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
