"""Keyset ("seek") pagination: a page starts after (or ends before) a given row in the queryset's own order, so page
500 costs what page 1 costs and rows added or removed meanwhile neither repeat nor vanish at a page boundary.

The cursor in the URL is a row's primary key (``?after=<pk>`` / ``?before=<pk>``); its sort values are read back
through ``cursor_queryset`` (the caller's authorised queryset: a cursor outside it means "from the top"). The
boundary is one row comparison ``(k1, k2, …, pk) > (v1, v2, …, pk)`` when the order's keys run one way and hold no
NULLs, which an index in that order (``helpdesk.models.Ticket``'s ``ticket_open_*`` indexes) answers as a range;
leading boolean keys (emergencies pinned first) are split off as an equality. Any other order falls back to the
expanded form ``k1 > v1 OR (k1 = v1 AND k2 > v2) …`` with NULLs placed as the ORDER BY places them.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Any

from django.db.models import BooleanField, Expression, F, OrderBy, Q, QuerySet


@dataclass(frozen=True)
class SortKey:
    name: str
    descending: bool
    nulls_last: bool  # where the ORDER BY puts NULLs (for a key that holds none, it does not matter)


@dataclass
class KeysetPage:
    """One page: its rows, whether there are rows before and after it, and the cursors to reach them."""

    object_list: list
    has_previous: bool
    has_next: bool
    previous_before: Any = None
    next_after: Any = None

    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next


class RowCompare(Expression):
    """``(col1, col2, …) > (%s, %s, …)`` (or ``<``): SQL row-value comparison, which PostgreSQL and SQLite (3.15+)
    both evaluate as an index range when the index's leading columns are these, in this order and direction."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, names: list[str], values: list, *, greater: bool) -> None:
        super().__init__()
        self.columns = [F(name) for name in names]
        self.values = values
        self.greater = greater

    def get_source_expressions(self):
        return self.columns

    def set_source_expressions(self, exprs):
        self.columns = exprs

    def as_sql(self, compiler, connection):
        lhs, params = [], []
        for column, value in zip(self.columns, self.values, strict=True):
            sql, column_params = compiler.compile(column)
            lhs.append(sql)
            params += column_params
            params.append(column.output_field.get_db_prep_value(value, connection))
        placeholders = ", ".join(["%s"] * len(self.values))
        return f"({', '.join(lhs)}) {'>' if self.greater else '<'} ({placeholders})", params


def sort_keys(queryset: QuerySet) -> list[SortKey]:
    """The queryset's ORDER BY as plain keys; an order by anything but fields (a CASE, an annotation) is refused."""
    keys = []
    for item in queryset.query.order_by:
        if isinstance(item, str):
            descending = item.startswith("-")
            name = item.lstrip("-")
            keys.append(SortKey(name, descending, nulls_last=not descending))  # PostgreSQL's default placement
        elif isinstance(item, OrderBy) and isinstance(item.expression, F):
            field: Any = item.expression
            nulls_last = bool(item.nulls_last) or (not item.nulls_first and not item.descending)
            keys.append(SortKey(field.name, item.descending, nulls_last))
        else:
            raise ValueError(f"keyset pagination needs an order by fields, not {item!r}")
    if not keys or keys[-1].name not in ("pk", "id"):
        raise ValueError("keyset pagination needs the primary key as the last sort key (a total order)")
    return keys


def _beyond(key: SortKey, value: Any) -> Q:
    """Rows strictly after ``value`` in this key's order."""
    if value is None:
        return Q(pk__in=[]) if key.nulls_last else Q(**{f"{key.name}__isnull": False})
    if isinstance(value, bool):  # False < True
        later = (not value) if not key.descending else value
        return Q(**{key.name: not value}) if later else Q(pk__in=[])
    q = Q(**{f"{key.name}__{'lt' if key.descending else 'gt'}": value})
    return q | Q(**{f"{key.name}__isnull": True}) if key.nulls_last else q


def _equal(key: SortKey, value: Any) -> Q:
    return Q(**{f"{key.name}__isnull": True}) if value is None else Q(**{key.name: value})


def after_q(keys: list[SortKey], values: list, *, non_null: frozenset[str]) -> Q:
    """Rows after the row whose sort values are ``values``; ``non_null``: the keys known to hold no NULLs."""
    pinned = Q()
    while keys and isinstance(values[0], bool):  # split off a leading boolean: equality, or "the other value"
        key, value = keys[0], values[0]
        rest = _beyond(key, value)
        keys, values = keys[1:], values[1:]
        if rest == Q(pk__in=[]):
            pinned &= _equal(key, value)
            continue
        return pinned & (rest | (_equal(key, value) & after_q(keys, values, non_null=non_null)))
    if (
        keys
        and len({key.descending for key in keys}) == 1
        and all(key.name in non_null for key in keys)
        and None not in values
    ):
        return pinned & Q(RowCompare([key.name for key in keys], values, greater=not keys[0].descending))
    expanded, equal = Q(pk__in=[]), Q()
    for key, value in zip(keys, values, strict=True):
        expanded |= equal & _beyond(key, value)
        equal &= _equal(key, value)
    return pinned & expanded


def _reverse(key: SortKey) -> SortKey:
    return SortKey(key.name, not key.descending, not key.nulls_last)


def _order_by(keys: list[SortKey], *, non_null: frozenset[str]) -> list[OrderBy]:
    expressions: list[OrderBy] = []
    for key in keys:
        column = F(key.name)
        # NULL placement only where NULLs can be: a NULLS clause the index does not have costs SQLite its index.
        placement = {} if key.name in non_null else {"nulls_last": True} if key.nulls_last else {"nulls_first": True}
        expressions.append(column.desc(**placement) if key.descending else column.asc(**placement))
    return expressions


def _is_boolean(model, name: str) -> bool:
    """Whether the sort key ``name`` (a field, or a path like ``ticket__is_emergency``) is a boolean column."""
    *path, last = name.split("__")
    for step in path:
        model = model._meta.get_field(step).related_model
    if last in ("pk", "id"):
        return False
    return isinstance(model._meta.get_field(last), BooleanField)


def keyset_page(
    queryset: QuerySet,
    *,
    cursor_queryset: QuerySet,
    size: int,
    after: str | None = None,
    before: str | None = None,
    non_null: frozenset[str] = frozenset(),
    split_pinned: bool = False,
) -> KeysetPage:
    """A page of ``queryset`` (ordered, ending with the primary key) after or before the cursor row; rows are the
    queryset's own items (``values_list("pk", flat=True)`` for ids). One query without a cursor, two with one.

    ``split_pinned``: the order's leading boolean keys (pinned rows, e.g. an emergency on the escalation's ticket) are
    read as one query per combination of their values instead of one ORDER BY across them, so that each query is a
    plain range of an index on the remaining keys: a boolean of a joined table otherwise makes the database join and
    sort every matching row. Always every combination, so the query count never depends on the data."""
    if not queryset.query.order_by:
        queryset = queryset.order_by("pk")
    keys = sort_keys(queryset)
    names = [key.name for key in keys]
    non_null = non_null | {"pk", "id"}
    cursor = after or before
    values = None
    if cursor and str(cursor).isdigit():
        found = cursor_queryset.filter(pk=int(cursor)).values_list(*names).first()
        values = list(found) if found is not None else None
    if split_pinned:
        return _split_page(queryset, keys, values, size=size, backwards=bool(before and values), non_null=non_null)
    if values is None:
        rows = list(queryset[: size + 1])
        return _page(rows[:size], has_previous=False, has_next=len(rows) > size)
    if after:
        rows = list(queryset.filter(after_q(keys, values, non_null=non_null))[: size + 1])
        return _page(rows[:size], has_previous=True, has_next=len(rows) > size)
    reversed_keys = [_reverse(key) for key in keys]
    backwards = queryset.filter(after_q(reversed_keys, values, non_null=non_null))
    rows = list(backwards.order_by(*_order_by(reversed_keys, non_null=non_null))[: size + 1])
    return _page(list(reversed(rows[:size])), has_previous=len(rows) > size, has_next=True)


def _split_page(
    queryset: QuerySet, keys: list[SortKey], values: list | None, *, size: int, backwards: bool, non_null: frozenset
) -> KeysetPage:
    pinned = 0
    while pinned < len(keys) and _is_boolean(queryset.model, keys[pinned].name):
        pinned += 1
    pins, rest = keys[:pinned], keys[pinned:]
    # the combinations of the pinned values, in the order's order (True first for a descending key)
    segments = list(product(*([True, False] if key.descending else [False, True] for key in pins)))
    if backwards:
        segments.reverse()
        rest = [_reverse(key) for key in rest]
    start = segments.index(tuple(values[:pinned])) if values is not None else 0
    rows: list = []
    for position, segment in enumerate(segments):
        part = queryset.filter(**{key.name: value for key, value in zip(pins, segment, strict=True)})
        part = part.order_by(*_order_by(rest, non_null=non_null))
        if position < start:
            part = part.none()  # still a query slot, so the count stays the same (none() runs no SQL)
        elif position == start and values is not None:
            part = part.filter(after_q(rest, values[pinned:], non_null=non_null))
        rows += list(part[: size + 1])
    if backwards:
        return _page(list(reversed(rows[:size])), has_previous=len(rows) > size, has_next=True)
    return _page(rows[:size], has_previous=values is not None, has_next=len(rows) > size)


def _page(rows: list, *, has_previous: bool, has_next: bool) -> KeysetPage:
    def pk(row: Any) -> Any:
        return getattr(row, "pk", row)

    return KeysetPage(
        rows,
        has_previous=has_previous and bool(rows),
        has_next=has_next and bool(rows),
        previous_before=pk(rows[0]) if rows and has_previous else None,
        next_after=pk(rows[-1]) if rows and has_next else None,
    )
