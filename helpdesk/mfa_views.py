"""Two-step sign-in screens, reached from the profile page: set up an authenticator app (QR code drawn on the
server), see the recovery codes once, get new ones, remove it. The rules are in helpdesk/mfa.py."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.mfa import (
    mfa_enrol_confirm,
    mfa_enrol_start,
    mfa_enrolled,
    mfa_recovery_codes_regenerate,
    mfa_remove,
    mfa_required_for,
)
from helpdesk.services import require_staff
from helpdesk.typing import AuthenticatedHttpRequest


def _recovery_codes_page(request: AuthenticatedHttpRequest, codes: list[str], *, first_time: bool) -> TemplateResponse:
    response = TemplateResponse(
        request,
        "helpdesk/mfa_recovery_codes.html",
        {"page_title": _("Your recovery codes"), "codes": codes, "first_time": first_time},
    )
    response["Cache-Control"] = "no-store"  # the codes are on this page once; no cache may keep them
    return response


@login_required
@require_http_methods(["GET", "POST"])
def mfa_setup_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """GET shows the QR code and the secret of the pending authenticator app (the same on every reload until it is
    confirmed); POST confirms it with a code and shows the recovery codes once."""
    require_staff(request.user, to="set up two-step sign-in")
    if mfa_enrolled(request.user):
        messages.info(request, _("Two-step sign-in is already set up."))
        return redirect("profile")
    error = ""
    if request.method == "POST":
        try:
            codes = mfa_enrol_confirm(user=request.user, code=request.POST.get("code", ""), request=request)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            return _recovery_codes_page(request, codes, first_time=True)
    pending = mfa_enrol_start(user=request.user)
    response = TemplateResponse(
        request,
        "helpdesk/mfa_setup.html",
        {
            "page_title": _("Set up two-step sign-in"),
            "pending": pending,
            "required": mfa_required_for(request.user),
            "error": error,
        },
        status=400 if error else 200,
    )
    response["Cache-Control"] = "no-store"  # the secret is on this page
    return response


@login_required
@require_POST
def mfa_recovery_codes_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    require_staff(request.user, to="manage two-step sign-in")
    try:
        codes = mfa_recovery_codes_regenerate(user=request.user, code=request.POST.get("code", ""), request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("profile")
    return _recovery_codes_page(request, codes, first_time=False)


@login_required
@require_POST
def mfa_remove_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    require_staff(request.user, to="manage two-step sign-in")
    try:
        mfa_remove(user=request.user, actor=request.user, code=request.POST.get("code", ""), request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("profile")
    if mfa_required_for(request.user):
        messages.success(request, _("Two-step sign-in is removed. Your role requires it: set up your new app now."))
        return redirect("mfa_setup")
    messages.success(request, _("Two-step sign-in is removed: you sign in with your password alone."))
    return redirect("profile")
