"""Guest chat pages (``/chat/guest/``): an anonymous visitor of the help centre or the widget chats without an
account (``chat.guest`` has the design). The chat is found through the visitor's Django session only, so another
client gets 404. Thin over ``chat.guest``."""

from __future__ import annotations

import contextlib

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chat import guest, selectors
from chat.forms import ChatGuestStartForm, ChatMessageForm
from chat.models import ChatSession, ChatStatus
from helpdesk.audit import client_ip
from helpdesk.errors import ApplicationError, NotFound
from helpdesk.views import form_errors


def _guest_key(request: HttpRequest) -> tuple[int | None, str]:
    data = request.session.get(guest.GUEST_SESSION_KEY)
    if not isinstance(data, dict):
        return None, ""
    pk, key = data.get("id"), data.get("key")
    return (pk if isinstance(pk, int) else None), (key if isinstance(key, str) else "")


def _guest_chat_or_404(request: HttpRequest, pk: int) -> tuple[ChatSession, str]:
    mine, key = _guest_key(request)
    if mine != pk:
        raise Http404("No such chat.")
    try:
        return guest.chat_guest_get(pk=pk, key=key), key
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _log_context(request: HttpRequest, session: ChatSession, form: ChatMessageForm | None = None) -> dict:
    return {
        "session": session,
        "chat_messages": list(selectors.chat_messages(session)),
        "position": selectors.chat_queue_position(session),
        "typing": selectors.chat_typing_names(session=session, viewer=request.user)  # type: ignore[arg-type]
        if session.status == ChatStatus.ACTIVE
        else [],
        "form": form or ChatMessageForm(),
    }


@require_http_methods(["GET", "POST"])
def chat_guest_view(request: HttpRequest) -> HttpResponse:
    """The visitor's guest chat, or the form that starts one. Signed-in users chat from their account instead."""
    if request.user.is_authenticated:
        return redirect("chat_console" if request.user.is_staff_member else "chat_customer")
    pk, key = _guest_key(request)
    if pk is not None:
        try:
            session = guest.chat_guest_get(pk=pk, key=key)
        except NotFound:
            session = None
        if session is not None and (session.status != ChatStatus.ENDED or request.GET.get("ended")):
            return TemplateResponse(request, "chat/guest.html", _log_context(request, session))
    form = ChatGuestStartForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                session = guest.chat_guest_start(
                    name=form.cleaned_data["name"],
                    email=form.cleaned_data["email"],
                    category=form.cleaned_data["category"],
                    first_message=form.cleaned_data["body"],
                    ip=client_ip(request),
                )
            except ApplicationError as exc:
                form_errors(form, exc)
                status = exc.status
            else:
                request.session.cycle_key()
                request.session[guest.GUEST_SESSION_KEY] = {"id": session.pk, "key": session.guest_key}
                return redirect("chat_guest")
    return TemplateResponse(request, "chat/guest.html", {"start_form": form}, status=status)


@require_GET
def chat_guest_log_view(request: HttpRequest, pk: int) -> HttpResponse:
    session, _key = _guest_chat_or_404(request, pk)
    return TemplateResponse(request, "chat/_guest_log.html", _log_context(request, session))


@require_POST
def chat_guest_send_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A guest's message. htmx gets the log back (a refusal is a 200 carrying the form error and the status in
    ``X-Chat-Refused``, as for customers); without htmx, back to the page."""
    session, key = _guest_chat_or_404(request, pk)
    form = ChatMessageForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            guest.chat_guest_post(session=session, key=key, body=form.cleaned_data["body"], ip=client_ip(request))
        except ApplicationError as exc:
            form_errors(form, exc)
            status = exc.status
        else:
            form = ChatMessageForm()
    else:
        status = 400
    if not request.htmx:  # type: ignore[attr-defined]  # django-htmx middleware
        if status != 200:
            return TemplateResponse(request, "chat/guest.html", _log_context(request, session, form), status=status)
        return redirect("chat_guest")
    response = TemplateResponse(request, "chat/_guest_log.html", {**_log_context(request, session, form), "oob": True})
    if status != 200:
        response["X-Chat-Refused"] = str(status)
    return response


@require_POST
def chat_guest_typing_view(request: HttpRequest, pk: int) -> HttpResponse:
    """ "I am typing" from the guest (throttled by ``static/js/chat.js``): 204; another client's is 404."""
    session, key = _guest_chat_or_404(request, pk)
    try:
        guest.chat_guest_typing(session=session, key=key)
    except ApplicationError as exc:
        return HttpResponse(status=exc.status)
    return HttpResponse(status=204)


@require_POST
def chat_guest_end_view(request: HttpRequest, pk: int) -> HttpResponse:
    session, key = _guest_chat_or_404(request, pk)
    with contextlib.suppress(ApplicationError):
        guest.chat_guest_end(session=session, key=key)
    return redirect(reverse("chat_guest") + "?ended=1")
