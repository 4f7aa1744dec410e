"""Request types for annotations: what the middleware and decorators guarantee, stated once for mypy."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from helpdesk.models import User


class HtmxHttpRequest(HttpRequest):
    """Any request: ``HtmxMiddleware`` sets ``request.htmx``."""

    htmx: HtmxDetails


class AuthenticatedHttpRequest(HtmxHttpRequest):
    """A request behind ``login_required`` (or a decorator used under it): ``request.user`` is a real ``User``."""

    user: User
