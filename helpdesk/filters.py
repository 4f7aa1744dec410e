"""The agent queue's filter bar: django-filter over ``tickets_visible_to(user)``; the state lives in the URL.

Sorting is an allowlist of named keys mapped to ORDER BY expressions: a user can never order by an arbitrary
column. Emergencies stay pinned on top whatever the sort, and ``pk`` breaks ties so pages never overlap.

Other apps add a column to the queue (with its sort key and its filter) with ``queue_column_register`` from their
``AppConfig.ready()``: ``helpdesk`` never imports them. A column names the related rows its cell reads
(``related``), which the page's one row query joins, so a contributed column costs no query per row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import django_filters
from django.db.models import CharField, Exists, F, Lookup, OuterRef, Q, QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from helpdesk.models import OPEN_STATUSES, Category, Channel, Priority, Status, Team, TicketTag, User

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# sort key in the URL -> (label, ORDER BY). The default is the SLA order of the design. Each core sort reads stored
# keys in one direction and ends with the primary key in that direction: ``Ticket``'s partial ``ticket_open_<sort>``
# index has exactly these columns after ``is_emergency DESC``, so the first page is that index's first rows and a
# later page (helpdesk.keyset) is a range of it. ``priority_order`` (0 = urgent) and ``sla_order_at`` (sla_due_at,
# or the far future with no clock running) are generated columns of the ticket (helpdesk.models.tickets).
SORTS: dict[str, tuple[StrOrPromise, tuple]] = {
    "sla": (_("SLA due (soonest first)"), ("sla_order_at", "created_at", "pk")),
    "oldest": (_("Oldest first"), ("created_at", "pk")),
    "newest": (_("Newest first"), ("-created_at", "-pk")),
    "priority": (_("Priority (highest first)"), ("priority_order", "sla_order_at", "pk")),
    "activity": (_("Last public activity (latest first)"), ("-last_public_activity_at", "-pk")),
    "reference": (_("Reference"), ("reference", "pk")),
}
DEFAULT_SORT = "sla"
OPEN = "open"
ANY = "any"
# The sort keys that hold no NULL (keyset pagination compares them as one row value).
NON_NULL_SORT_KEYS = frozenset({"is_emergency", "sla_order_at", "priority_order", "created_at", "reference"})
NON_NULL_SORT_KEYS |= {"last_public_activity_at", "risk_order"}


class InLiteral(Lookup):
    """``field__in_literal=(...)``: ``IN ('a', 'b')`` with the values written into the SQL, for our own constants only.

    "Any open status" must be the very predicate of the ``ticket_open_*`` partial indexes: SQLite plans a statement
    before its parameters are bound, so ``status IN (?, ?, ?, ?)`` cannot prove the index's WHERE and it scans and
    sorts the whole table instead (45-75 ms at 100k tickets, against 0.03 ms with the literal). A lookup (not raw
    ``extra()`` SQL) so that the column is written with whatever alias the query gives the table, as in a subquery
    (the saved views' counts)."""

    lookup_name = "in_literal"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        values = tuple(self.rhs)
        if not values or not all(isinstance(v, str) and v.replace("_", "").isalnum() for v in values):
            raise ValueError("in_literal takes a non-empty tuple of our own word-like constants.")
        return f"{lhs} IN ({', '.join(f"'{v}'" for v in values)})", params


CharField.register_lookup(InLiteral)

# Emergencies are pinned on top whatever the sort: the plain column, which leads every ``ticket_open_*`` index.
EMERGENCY_FIRST = F("is_emergency").desc()


@dataclass(frozen=True)
class QueueColumn:
    """A column another app adds to the queue. ``cell_template`` renders one row's cell (``t`` is the ticket);
    ``sort`` adds a sort key (label, ORDER BY expressions) under the column's name; ``filter_choices`` and
    ``filter_method(queryset, value)`` add a filter of that name to the bar; ``related``: select_related paths."""

    name: str
    label: str
    cell_template: str
    sort: tuple[StrOrPromise, tuple] | None = None
    filter_label: str = ""
    filter_choices: tuple[tuple[str, str], ...] = ()
    filter_method: Callable[[QuerySet, str], QuerySet] | None = None
    related: tuple[str, ...] = ()
    order: int = 100


_COLUMNS: dict[str, QueueColumn] = {}


def queue_column_register(column: QueueColumn) -> None:
    _COLUMNS[column.name] = column


def queue_columns() -> list[QueueColumn]:
    return sorted(_COLUMNS.values(), key=lambda c: (c.order, c.name))


def queue_sorts() -> dict[str, tuple[StrOrPromise, tuple]]:
    """The allowlist: the core's sorts and the contributed columns' sorts."""
    return SORTS | {column.name: column.sort for column in queue_columns() if column.sort}


def queue_related() -> tuple[str, ...]:
    return tuple(path for column in queue_columns() for path in column.related)


def queue_order(queryset: QuerySet, sort: str | None) -> QuerySet:
    """Emergencies first, then the chosen (allowlisted) order, then the primary key (a total order, so pages never
    overlap)."""
    sorts = queue_sorts()
    _label, ordering = sorts.get(sort or DEFAULT_SORT, SORTS[DEFAULT_SORT])
    ends_with_pk = bool(ordering) and isinstance(ordering[-1], str) and ordering[-1].lstrip("-") == "pk"
    return queryset.order_by(EMERGENCY_FIRST, *ordering, *(() if ends_with_pk else ("pk",)))


def _staff_users(request=None) -> QuerySet[User]:
    return User.objects.exclude(role="customer").filter(is_active=True).order_by("first_name", "last_name", "username")


class TicketFilter(django_filters.FilterSet):
    """Filters of the agent queue. ``scope``: "mine" = assigned to me plus the unassigned tickets of my teams;
    "all" = every ticket I may see. ``status`` defaults to the open statuses."""

    scope = django_filters.ChoiceFilter(
        choices=[("mine", _("My queue")), ("all", _("All tickets"))],
        method="filter_scope",
        empty_label=None,
        label=_("Show"),
    )
    q = django_filters.CharFilter(method="filter_search", label=_("Search"))
    status = django_filters.ChoiceFilter(
        choices=[(OPEN, _("Any open status")), (ANY, _("Any status")), *Status.choices],
        method="filter_status",
        empty_label=None,
        label=_("Status"),
    )
    priority = django_filters.ChoiceFilter(choices=Priority.choices, empty_label=_("Any priority"), label=_("Priority"))
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.order_by("name"), empty_label=_("Any category"), label=_("Category")
    )
    channel = django_filters.ChoiceFilter(choices=Channel.choices, empty_label=_("Any channel"), label=_("Channel"))
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.order_by("tier", "name"),
        empty_label=_("Any team"),
        null_label=_("No team"),
        label=_("Team"),
    )
    assignee = django_filters.ModelChoiceFilter(
        queryset=_staff_users, empty_label=_("Anyone"), null_label=_("Unassigned"), label=_("Assignee")
    )
    # A text filter (no query to list every tag in a select): the slug the queue's tag chips link to, or a tag's
    # name in any case.
    tag = django_filters.CharFilter(method="filter_tag", label=_("Tag"), max_length=60)
    sort = django_filters.ChoiceFilter(
        choices=lambda: [(key, label) for key, (label, _ordering) in queue_sorts().items()],
        method="filter_sort",
        empty_label=None,
        label=_("Sort by"),
    )

    def __init__(self, data=None, *args, **kwargs):
        # Defaults apply when a parameter is absent, so a bare /tickets/ is "my open tickets, SLA order".
        data = data.copy() if data is not None else {}
        for name, default in (("scope", "mine"), ("status", OPEN), ("sort", DEFAULT_SORT)):
            if not data.get(name):
                data[name] = default
        super().__init__(data, *args, **kwargs)
        for column in queue_columns():
            if column.filter_method is not None:
                self.filters[column.name] = django_filters.ChoiceFilter(
                    field_name=column.name,
                    choices=column.filter_choices,
                    method=_contributed(column.filter_method),
                    empty_label=gettext("Any %(column)s") % {"column": str(column.label).lower()},
                    label=column.filter_label or column.label,
                )

    def filter_scope(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        user = self.request.user
        if value == "all":
            return queryset
        return queryset.filter(Q(assignee=user) | Q(assignee__isnull=True, team__in=user.teams.values("pk")))

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == ANY:
            return queryset
        if value == OPEN:
            return queryset.filter(status__in_literal=tuple(OPEN_STATUSES))
        return queryset.filter(status=value)

    def filter_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        tagged = TicketTag.objects.filter(Q(tag__slug=value) | Q(tag__name__iexact=value), ticket_id=OuterRef("pk"))
        return queryset.filter(Exists(tagged))

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Reference (exact), or every word found in the subject or the customer's name or email."""
        value = value.strip()
        if not value:
            return queryset
        if value.upper().startswith("HD-"):
            return queryset.filter(reference__iexact=value)
        for word in value.split()[:6]:
            queryset = queryset.filter(
                Q(subject__icontains=word)
                | Q(customer__first_name__icontains=word)
                | Q(customer__last_name__icontains=word)
                | Q(customer__email__icontains=word)
                | Q(customer__username__iexact=word)
            )
        return queryset

    def filter_sort(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queue_order(queryset, value)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("sort"):
            queryset = queue_order(queryset, DEFAULT_SORT)
        return queryset


def _contributed(method: Callable[[QuerySet, str], QuerySet]) -> Callable[[QuerySet, str, str], QuerySet]:
    def apply(queryset: QuerySet, name: str, value: str) -> QuerySet:
        return method(queryset, value) if value else queryset

    return apply
