"""Scoped, cache-backed throttles. Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (read at request time,
so tests and settings overrides take effect). Scopes: login, token_create, survey_submit, escalation_request."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

LOGIN = "login"
TOKEN_CREATE = "token_create"  # noqa: S105 - a throttle scope name
SURVEY_SUBMIT = "survey_submit"
ESCALATION_REQUEST = "escalation_request"


class ScopedThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, applied only to the methods a view lists in ``throttle_methods`` (all when unset)."""

    @property
    def THROTTLE_RATES(self):
        return api_settings.DEFAULT_THROTTLE_RATES

    def allow_request(self, request, view):
        methods = getattr(view, "throttle_methods", None)
        if methods is not None and request.method not in methods:
            return True
        return super().allow_request(request, view)
