"""``ids_in``: a filter on a column being one of many ids, for batch code (the SLA sweep's 1,000 tickets at a time).

Django writes ``__in=[…]`` as ``IN (%s, %s, …)``, one parameter per id. On PostgreSQL the driver then parses the
statement for its thousand placeholders and adapts each id on every run (statements that long are never cached),
about 2.5 ms of CPU per 1,000 ids, several times per batch. ``ids_in("ticket_id", ids)`` gives the same rows with a
single parameter there, ``ticket_id = ANY('{1,2,…}'::bigint[])``; elsewhere it is the usual ``IN`` list.

    Escalation.objects.filter(ids_in("ticket_id", ticket_ids), status="open")
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import BooleanField, Expression, F


def ids_in(name: str, ids: Iterable[int]) -> IdsIn:
    """True where the column ``name`` (a field name, may span relations) is one of ``ids`` (integers)."""
    return IdsIn(name, ids)


class IdsIn(Expression):
    """The condition of ``ids_in``."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, name: str, ids: Iterable[int]) -> None:
        super().__init__()
        self.column: Any = F(name)
        self.ids = [int(pk) for pk in ids]

    def get_source_expressions(self) -> list:
        return [self.column]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        (self.column,) = exprs

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple]:
        if not self.ids:
            raise EmptyResultSet
        sql, params = compiler.compile(self.column)
        if connection.vendor == "postgresql":
            return f"{sql} = ANY(%s::bigint[])", (*params, "{" + ",".join(map(str, self.ids)) + "}")
        return f"{sql} IN ({', '.join(['%s'] * len(self.ids))})", (*params, *self.ids)
