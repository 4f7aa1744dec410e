"""Other apps add their API resources here from their AppConfig.ready(), so ``helpdesk`` never imports them:

    api_route_register(prefix="escalations", viewset=EscalationViewSet, basename="escalation")

``helpdesk.api.urls`` builds its router from this list when the URLconf is first loaded (after every ready())."""

from __future__ import annotations

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
