"""The agent queue's URL state as one reusable thing: the filter set over ``tickets_visible_to(user)`` that the queue
page, bulk actions ("all matching the filter") and saved views all build the same way, and the canonical query string
a saved view stores.

The allowlist is ``helpdesk.filters``: only the filter names ``TicketFilter`` declares (the core's and the contributed
columns'), with values its form accepted, and only the sort keys ``queue_sorts()`` lists, ever reach a stored query.
A user's text never becomes a field name or SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from helpdesk.errors import Invalid
from helpdesk.filters import TicketFilter
from helpdesk.models import User
from helpdesk.selectors import tickets_visible_to

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# The queue's own columns that a view may hide (the reference always shows: it is the row's link).
CORE_COLUMNS: dict[str, StrOrPromise] = {
    "subject": _("Subject"),
    "customer": _("Customer"),
    "priority": _("Priority"),
    "status": _("Status"),
    "sla": _("SLA"),
    "age": _("Age"),
    "assignee": _("Assignee"),
    "activity": _("Last activity"),
}
COLUMNS_PARAM = "cols"


def queue_column_choices() -> list[tuple[str, StrOrPromise]]:
    """The columns a view may hide: the core's. (A contributed column, ``queue_column_register``, renders its own
    cell and always shows.)"""
    return list(CORE_COLUMNS.items())


def queue_filterset(*, user: User, data: Mapping[str, str] | QueryDict) -> TicketFilter:
    """The queue's filter over the tickets ``user`` may see, exactly as the queue page builds it."""
    # TicketFilter reads only ``request.user`` (the "mine" scope); services have no request, so a stand-in carries it.
    return TicketFilter(data, queryset=tickets_visible_to(user), request=SimpleNamespace(user=user))


def queue_filterset_valid(*, user: User, data: Mapping[str, str] | QueryDict) -> TicketFilter:
    """``queue_filterset`` that refuses an invalid state (an unknown status, a deleted team ...) with ``Invalid``."""
    filterset = queue_filterset(user=user, data=data)
    if not filterset.is_valid():
        problems = "; ".join(
            f"{filterset.form.fields[name].label if name in filterset.form.fields else name}: {' '.join(errors)}"
            for name, errors in filterset.form.errors.items()
        )
        raise Invalid(f"The queue filter is not valid ({problems}).", extra={"field": "query"})
    return filterset


def queue_visible_columns(data: Mapping[str, str] | QueryDict) -> list[str] | None:
    """The columns the URL asks to show, allowlisted and in the queue's order; None = every column."""
    raw = data.get(COLUMNS_PARAM) or ""
    if not raw:
        return None
    asked = set(raw.split(","))
    chosen = [name for name, _ in queue_column_choices() if name in asked]
    return chosen or None


def queue_hidden_columns(data: Mapping[str, str] | QueryDict) -> list[str]:
    """The core columns the URL state hides (the queue table gets a ``hide-<name>`` class for each)."""
    shown = queue_visible_columns(data)
    return [] if shown is None else [name for name in CORE_COLUMNS if name not in shown]


def queue_query_canonical(*, user: User, data: Mapping[str, str] | QueryDict) -> str:
    """The validated, allowlisted query string of a queue state (what a saved view stores): the filter form's
    declared fields with the values it accepted, defaults left out, plus the allowlisted visible columns."""
    filterset = queue_filterset_valid(user=user, data=data)
    form = filterset.form
    state = QueryDict(mutable=True)
    for name in filterset.filters:
        value = form.cleaned_data.get(name)
        if value in (None, ""):
            continue
        # Model choices are stored by key, as the queue's own links carry them.
        state[name] = str(getattr(value, "pk", value))
    columns = queue_visible_columns(data)
    if columns is not None:
        state[COLUMNS_PARAM] = ",".join(columns)
    return state.urlencode()
