"""The left navigation, per role. Other apps add their screens from ``AppConfig.ready()`` with ``nav_register``,
so ``helpdesk`` never imports them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise


@dataclass(frozen=True)
class NavItem:
    label: str | Promise  # a lazy translation: written in the language of the request that renders it
    url_name: str
    roles: frozenset[str]
    order: int = 100
    query: str = ""


_ITEMS: list[NavItem] = []


def nav_register(
    *, label: str | Promise, url_name: str, roles: Iterable[str], order: int = 100, query: str = ""
) -> None:
    item = NavItem(label=label, url_name=url_name, roles=frozenset(roles), order=order, query=query)
    if item not in _ITEMS:
        _ITEMS.append(item)


def nav_for(user) -> list[dict[str, str]]:
    role = user.effective_role  # a superuser sees the admin's navigation
    items = []
    for item in sorted(_ITEMS, key=lambda i: (i.order, str(i.label))):
        if role not in item.roles:
            continue
        try:
            url = reverse(item.url_name) + item.query
        except NoReverseMatch:
            continue
        items.append({"label": str(item.label), "url": url, "url_name": item.url_name})
    return items
