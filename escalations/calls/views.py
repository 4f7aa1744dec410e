"""Call screens: log a call from the workspace call panel (or hand it to the escalate form with the caller
waiting), my callbacks, and keeping a callback. Thin views over ``escalations.calls.services``."""

from __future__ import annotations

import json
import zoneinfo
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from escalations.calls import cti
from escalations.calls import selectors as calls_selectors
from escalations.calls import services as calls
from escalations.calls.forms import CallbackCompleteForm, CallForm
from escalations.models import Callback, CallOutcome
from helpdesk.errors import ApplicationError
from helpdesk.selectors import ticket_get_for_user
from helpdesk.typing import AuthenticatedHttpRequest
from helpdesk.views import staff_required
from helpdesk.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER


def _error_words(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _back_to_call(reference: str) -> HttpResponse:
    return redirect(reverse("ticket_detail", args=[reference]) + "?call=1#call-panel")


@login_required
@staff_required
@require_POST
def call_log_view(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    ticket = ticket_get_for_user(user=request.user, reference=reference)
    form = CallForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            _("The call was not logged: %(errors)s")
            % {
                "errors": "; ".join(
                    f"{form.fields[name].label if name in form.fields else _('Form')}: {' '.join(map(str, errs))}"
                    for name, errs in form.errors.items()
                )
            },
        )
        return _back_to_call(ticket.reference)
    data = form.cleaned_data
    if request.POST.get("action") == "escalate":
        query = {"caller_waiting": "1", "notes": data["notes"]}
        if data["escalation_type"]:
            query["type"] = data["escalation_type"]
        return redirect(reverse("escalation_new", args=[ticket.reference]) + "?" + urlencode(query))
    now = timezone.now()
    duration = data["duration_seconds"]
    if duration is None:
        duration = max(int((now - data["started_at"]).total_seconds()), 0)
    try:
        if not data["outcome"]:
            raise ValidationError(_("Choose how the call ended."))
        callback = None
        if data["outcome"] == CallOutcome.CALLBACK_PROMISED:
            if data["callback_start"] is None:
                raise ValidationError(_("Give the time to call back."))
            tz = zoneinfo.ZoneInfo(calls.customer_timezone(ticket))
            start = timezone.make_naive(data["callback_start"]).replace(tzinfo=tz)
            callback = calls.callback_create(
                ticket=ticket,
                actor=request.user,
                window_start=start,
                window_end=start + timedelta(minutes=data["callback_minutes"] or 60),
                reason=data["notes"],
                number=data["number"],
                now=now,
            )
        calls.call_log(
            actor=request.user,
            ticket=ticket,
            direction=data["direction"],
            number=data["number"],
            summary=data["notes"],
            outcome=data["outcome"],
            duration_seconds=duration,
            started_at=data["started_at"],
        )
    except ValidationError as exc:
        messages.error(request, _("The call was not logged: %(errors)s") % {"errors": _error_words(exc)})
        return _back_to_call(ticket.reference)
    text = _("Call logged.")
    if callback is not None:
        text += " " + _("Callback promised for %(window)s; the customer has been emailed.") % {
            "window": calls.window_words(callback)
        }
    messages.success(request, text)
    return redirect("ticket_detail", reference=ticket.reference)


@login_required
@staff_required
@require_GET
def my_callbacks_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    now = timezone.now()
    context = {
        "callbacks": calls_selectors.callbacks_open_for_owner(user=request.user, now=now),
        "done": calls_selectors.callbacks_done_for_owner(user=request.user),
        "now": now,
        "form": CallbackCompleteForm(),
    }
    return TemplateResponse(request, "escalations/calls/my_callbacks.html", context)


@login_required
@staff_required
@require_POST
def callback_complete_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    try:
        callback = calls_selectors.callback_get_for_user(user=request.user, pk=pk)
    except Callback.DoesNotExist as exc:
        raise Http404("No such callback.") from exc
    form = CallbackCompleteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say how the callback went (outcome and what happened)."))
        return redirect("my_callbacks")
    try:
        calls.callback_complete(
            callback=callback,
            actor=request.user,
            outcome=form.cleaned_data["outcome"],
            summary=form.cleaned_data["summary"],
            duration_seconds=form.cleaned_data["duration_seconds"] or 0,
            number=form.cleaned_data["number"],
        )
    except ValidationError as exc:
        messages.error(request, _error_words(exc))
    else:
        messages.success(
            request, _("Callback to %(customer)s logged as a call.") % {"customer": callback.customer.display_name}
        )
    return redirect("my_callbacks")


# --- telephony events (CTI) -------------------------------------------------------------------------------------

# A phone system's event is a few hundred bytes; anything far larger is refused before it is parsed.
TELEPHONY_MAX_BODY = 16 * 1024


@csrf_exempt
@require_POST
def telephony_event_view(request: HttpRequest) -> JsonResponse:
    """The phone system's webhook: signed like our outgoing webhooks (no session, so no CSRF token), one event per
    POST, idempotent per ``event_id``. 200 for a processed or already-seen event, 400 naming what is wrong with the
    body, 401 for a missing or wrong signature, 503 when no secret is configured."""
    if not getattr(settings, "TELEPHONY_WEBHOOK_SECRET", ""):
        return JsonResponse(
            {"detail": "Telephony events are not configured (TELEPHONY_WEBHOOK_SECRET).", "code": "not_configured"},
            status=503,
        )
    body = request.body
    if len(body) > TELEPHONY_MAX_BODY:
        return JsonResponse({"detail": "The event is too large.", "code": "invalid"}, status=400)
    if not cti.telephony_signature_valid(
        body=body,
        timestamp=request.headers.get(TIMESTAMP_HEADER, ""),
        signature=request.headers.get(SIGNATURE_HEADER, ""),
    ):
        return JsonResponse(
            {"detail": "The signature is missing, wrong or too old.", "code": "bad_signature"}, status=401
        )
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"detail": "The body is not JSON.", "code": "invalid"}, status=400)
    try:
        result = cti.telephony_event_receive(event=cti.telephony_event_parse(data))
    except ApplicationError as exc:
        return JsonResponse({"detail": str(exc), "code": exc.code, **exc.extra}, status=exc.status)
    event = result.event
    return JsonResponse(
        {
            "status": result.status,
            "event_id": event.event_id,
            "outcome": event.outcome,
            "call": event.call_id,
            "escalation": event.escalation_id,
        }
    )


@login_required
@staff_required
@require_GET
def screen_pop_view(request: AuthenticatedHttpRequest) -> TemplateResponse:
    """The calls ringing for (or answered by) the signed-in agent, with the caller and their open tickets: the
    fragment a "call ringing" push event asks for."""
    return TemplateResponse(
        request, "escalations/calls/_screen_pop.html", {"screen_calls": cti.calls_on_screen_for(request.user)}
    )
