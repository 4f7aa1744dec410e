"""Workspace side panels contributed by other apps (SLA clocks, escalation chain, KB suggestions, risk).

An app registers ``(template, context function)`` from ``AppConfig.ready()``; the ticket pages render each panel
whose function returns a context (``None`` hides it). ``helpdesk`` never imports the contributing apps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    context: Callable
    audience: str  # "staff", "customer" or "all"
    column: str = "right"
    order: int = 100


_PANELS: dict[str, Panel] = {}


def panel_register(
    *, name: str, template: str, context: Callable, audience: str = "staff", column: str = "right", order: int = 100
) -> None:
    _PANELS[name] = Panel(name=name, template=template, context=context, audience=audience, column=column, order=order)


def panels_for(*, request, ticket, column: str = "right") -> list[dict]:
    audience = "staff" if request.user.is_staff_member else "customer"
    rendered = []
    for panel in sorted(_PANELS.values(), key=lambda p: (p.order, p.name)):
        if panel.column != column or panel.audience not in (audience, "all"):
            continue
        context = panel.context(request=request, ticket=ticket)
        if context is not None:
            rendered.append({"template": panel.template, "context": context, "name": panel.name})
    return rendered


# --- template slots: extra fragments other apps add to a core form (e.g. KB suggestions on the new-ticket form) ---

_SLOTS: dict[str, list[tuple[int, str]]] = {}


def slot_register(*, slot: str, template: str, order: int = 100) -> None:
    entries = _SLOTS.setdefault(slot, [])
    if all(existing != template for _, existing in entries):
        entries.append((order, template))


def slot_templates(slot: str) -> list[str]:
    return [template for _, template in sorted(_SLOTS.get(slot, []))]
