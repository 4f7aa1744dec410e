"""Request types for annotations: what the middleware and permission checks guarantee, stated once for mypy."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails
from rest_framework.request import Request

from helpdesk.models import User


class HtmxHttpRequest(HttpRequest):
    """Any request: ``HtmxMiddleware`` sets ``request.htmx``."""

    htmx: HtmxDetails


class AuthenticatedHttpRequest(HtmxHttpRequest):
    """A request behind ``login_required`` (or a decorator used under it): ``request.user`` is a real ``User``."""

    user: User


class AuthenticatedRequest(Request):
    """A DRF request that passed ``IsAuthenticated`` (the default permission) or a stricter class."""

    user: User
