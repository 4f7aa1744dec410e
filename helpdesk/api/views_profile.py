"""The profile page: my account, my two-step sign-in (staff; its screens are helpdesk/mfa_views.py) and my personal
API tokens (create, optionally read-only, shown once; revoke, effective at once)."""

from __future__ import annotations

import zoneinfo
from functools import cache

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.api.schema import api_operations
from helpdesk.api.services import api_token_create, api_token_revoke
from helpdesk.customer_time import customer_timezone
from helpdesk.locale import supported_language
from helpdesk.mfa import mfa_enrolled, mfa_recovery_codes_left, mfa_required_for
from helpdesk.models import ApiToken
from helpdesk.services import user_preferences_set
from helpdesk.typing import AuthenticatedHttpRequest


@login_required
@require_http_methods(["GET", "POST"])
def profile_view(request: AuthenticatedHttpRequest) -> TemplateResponse:
    new_token = ""
    error = ""
    if request.method == "POST":
        try:
            _token, new_token = api_token_create(
                user=request.user, name=request.POST.get("name", ""), read_only=request.POST.get("read_only") == "on"
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    response = TemplateResponse(
        request,
        "helpdesk/profile.html",
        {
            "page_title": "Profile & API tokens",
            "tokens": ApiToken.objects.filter(user=request.user),
            "new_token": new_token,
            "error": error,
            "mfa": _mfa_state(request.user) if request.user.is_staff_member else None,
            **_preferences_context(request.user),
        },
        status=400 if error else 200,
    )
    if new_token:
        response["Cache-Control"] = "no-store"  # the token is on this page once; no cache may keep it
    return response


def _mfa_state(user) -> dict:
    enrolled = mfa_enrolled(user)
    return {
        "enrolled": enrolled,
        "required": mfa_required_for(user),
        "recovery_left": mfa_recovery_codes_left(user) if enrolled else 0,
    }


@cache
def _zone_names() -> list[str]:
    return sorted(name for name in zoneinfo.available_timezones() if "/" in name and not name.startswith("Etc/"))


def _preferences_context(user, *, errors: dict | None = None, posted: dict | None = None) -> dict:
    posted = posted or {}
    return {
        "languages": settings.LANGUAGES,
        "zone_names": _zone_names(),
        "chosen_language": posted.get("language", user.language),
        "chosen_timezone": posted.get("timezone", user.timezone),
        "effective_timezone": customer_timezone(user).key,
        "preference_errors": errors or {},
    }


@login_required
@require_POST
def profile_preferences_view(request: AuthenticatedHttpRequest):
    """Set my language and time zone (``user_preferences_set``); errors next to their fields."""
    try:
        user_preferences_set(
            user=request.user,
            language=request.POST.get("language", ""),
            timezone_name=request.POST.get("timezone", ""),
        )
    except ValidationError as exc:
        return TemplateResponse(
            request,
            "helpdesk/profile.html",
            {
                "page_title": _("Profile"),
                "tokens": ApiToken.objects.filter(user=request.user),
                "mfa": _mfa_state(request.user) if request.user.is_staff_member else None,
                **_preferences_context(request.user, errors=exc.message_dict, posted=request.POST),
            },
            status=400,
        )
    # The new language applies from this response on: the message is written in it.
    with translation.override(supported_language(request.user.language) or translation.get_language()):
        messages.success(request, _("Your language and time zone are saved."))
    return redirect("profile")


@login_required
@require_POST
def token_revoke_view(request: AuthenticatedHttpRequest, pk: int):
    token = api_token_revoke(user=request.user, token_id=pk)
    messages.success(request, f"The token “{token.name}” is revoked: it no longer works.")
    return redirect("profile")


@require_http_methods(["GET"])
def api_docs_view(request: HttpRequest) -> TemplateResponse:
    """Interactive docs without third-party JS: every operation of /api/schema/, rendered on the server."""
    return TemplateResponse(
        request, "helpdesk/api_docs.html", {"page_title": "API documentation", "operations": api_operations()}
    )
