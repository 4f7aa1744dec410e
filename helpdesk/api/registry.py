"""Other apps add their API resources here from their AppConfig.ready(), so ``helpdesk`` never imports them:

    api_route_register(prefix="escalations", viewset=EscalationViewSet, basename="escalation")

A resource that is not a viewset (a single public path such as ``surveys/<str:token>/``) registers a plain view:

    api_view_register(route="surveys/<str:token>/", view=SurveyApi.as_view(), name="survey")

A plain view under a ticket names the reference with ``<ticket_reference:reference>`` (the ticket routes' lookup).

``helpdesk.api.urls`` builds its router from these lists when the URLconf is first loaded (after every ready())."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ApiRoute:
    prefix: str
    viewset: type
    basename: str


_ROUTES: list[ApiRoute] = []


def api_route_register(*, prefix: str, viewset: type, basename: str) -> None:
    if any(route.prefix == prefix for route in _ROUTES):
        return
    _ROUTES.append(ApiRoute(prefix=prefix, viewset=viewset, basename=basename))


def api_routes() -> list[ApiRoute]:
    return list(_ROUTES)


@dataclass(frozen=True)
class ApiView:
    route: str
    view: Callable
    name: str


_VIEWS: list[ApiView] = []


def api_view_register(*, route: str, view: Callable, name: str) -> None:
    if any(entry.route == route for entry in _VIEWS):
        return
    _VIEWS.append(ApiView(route=route, view=view, name=name))


def api_views() -> list[ApiView]:
    return list(_VIEWS)


@dataclass(frozen=True)
class TicketFields:
    name: str
    fields: Callable[[], dict]
    select_related: tuple[str, ...] = ()


_TICKET_FIELDS: list[TicketFields] = []


def api_ticket_fields_register(*, name: str, fields: Callable[[], dict], select_related: tuple[str, ...] = ()) -> None:
    """Read-only fields another app adds to the staff view of a ticket (``fields()`` returns ``{name: Field}``),
    with the relations to load with the ticket list so the list stays a constant number of queries. The ticket is
    still fetched through the visibility selectors, so an added field is seen exactly by those who see the ticket."""
    if all(entry.name != name for entry in _TICKET_FIELDS):
        _TICKET_FIELDS.append(TicketFields(name=name, fields=fields, select_related=select_related))


def api_ticket_fields() -> list[TicketFields]:
    return list(_TICKET_FIELDS)
