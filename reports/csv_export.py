"""CSV that is safe to open in a spreadsheet: a cell that starts with ``= + - @`` (or a tab or carriage return)
would be read as a formula, so it is prefixed with an apostrophe and shown as text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_neutralise(value: object) -> object:
    """Strings that a spreadsheet would evaluate become text; numbers are written as numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def csv_render(*, header: list[str], rows: Iterable[Iterable[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow(["" if cell is None else csv_neutralise(cell) for cell in row])
    return buffer.getvalue()
