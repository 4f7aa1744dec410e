"""Data-protection screens: the requests list (approve / reject, download once), a customer's page for managers and
administrators, and the form posted from a compliance escalation's screen. Thin: every rule is in ``services``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from escalations.selectors import escalation_get_for_user
from helpdesk.errors import ApplicationError
from helpdesk.typing import AuthenticatedHttpRequest
from helpdesk.views import manager_required, staff_required
from privacy import selectors, services
from privacy.forms import DataRequestForm, DecisionForm
from privacy.models import RequestStatus


@login_required
@staff_required
def data_request_list_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    context = {
        "requests": selectors.data_requests_visible_to(request.user)[:100],
        "query": query,
        "customers": selectors.customers_search(query) if request.user.is_manager else [],
        "decision_form": DecisionForm(),
        "pending": RequestStatus.PENDING,
        "ready": RequestStatus.READY,
    }
    return TemplateResponse(request, "privacy/requests.html", context)


@login_required
@manager_required(message="Data-protection requests for a customer are for managers and administrators.")
def customer_privacy_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get(pk=pk)
    context = {
        "customer": customer,
        "erased": services.customer_is_erased(customer),
        "form": DataRequestForm(),
        "requests": selectors.data_requests_visible_to(request.user).filter(customer=customer),
        "decision_form": DecisionForm(),
        "pending": RequestStatus.PENDING,
        "ready": RequestStatus.READY,
    }
    return TemplateResponse(request, "privacy/customer.html", context)


@login_required
@staff_required
@require_POST
def data_request_create_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get(pk=pk)
    form = DataRequestForm(request.POST)
    escalation = None
    if form.is_valid() and form.cleaned_data["escalation"]:
        escalation = escalation_get_for_user(user=request.user, pk=form.cleaned_data["escalation"])
    back = (
        reverse("escalation_detail", args=[escalation.pk])
        if escalation is not None
        else reverse("customer_privacy", args=[customer.pk])
    )
    if not form.is_valid():
        messages.error(
            request,
            _("The request was not made: %(why)s")
            % {"why": " ".join(str(e) for errs in form.errors.values() for e in errs)},
        )
        return redirect(back)
    try:
        made = services.data_request_create(
            actor=request.user,
            customer=customer,
            kind=form.cleaned_data["kind"],
            reason=form.cleaned_data["reason"],
            escalation=escalation,
        )
    except ApplicationError as exc:
        messages.error(request, _("The request was not made: %(why)s") % {"why": exc.message})
        return redirect(back)
    messages.success(
        request,
        _("%(kind)s requested; a second person (a manager or an administrator) must approve it.")
        % {"kind": made.get_kind_display()},
    )
    return redirect(back)


@login_required
@manager_required(message="Only managers and administrators decide data-protection requests.")
@require_POST
def data_request_decide_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    data_request = selectors.data_request_get_for_user(user=request.user, pk=pk)
    form = DecisionForm(request.POST)
    back = request.POST.get("next") or reverse("data_request_list")
    if not back.startswith("/") or back.startswith("//"):
        back = reverse("data_request_list")
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
        return redirect(back)
    try:
        decided = services.data_request_decide(
            request=data_request,
            actor=request.user,
            approve=form.cleaned_data["decision"] == "approve",
            note=form.cleaned_data["note"],
        )
    except (ApplicationError, PermissionDenied) as exc:
        messages.error(request, str(exc))
        return redirect(back)
    messages.success(
        request, _("Request #%(number)s: %(status)s.") % {"number": decided.pk, "status": decided.get_status_display()}
    )
    return redirect(back)


@login_required
@staff_required
def data_request_download_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse | FileResponse:
    data_request = selectors.data_request_get_for_user(user=request.user, pk=pk)
    try:
        handle = services.data_export_download(request=data_request, actor=request.user)
    except ApplicationError as exc:
        return TemplateResponse(
            request,
            "privacy/download_refused.html",
            {"message": exc.message, "data_request": data_request},
            status=exc.status,
        )
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"personal-data-export-{data_request.pk}.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "no-store"
    return response
