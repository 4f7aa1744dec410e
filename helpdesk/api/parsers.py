"""Strict JSON request bodies: one function, ``json_body_loads``, for every place that reads JSON from a client.

Python's parser recurses once per nesting level, so a body of 100,000 ``[`` exhausts the interpreter's stack
(``RecursionError``, a 500) before anything else looks at it. And a JSON object may repeat a key, with the last one
silently winning, so what a proxy, a log or a signature check read is not what the service acts on. Both are
refused here with a ``ValueError`` whose message says what is wrong; ``StrictJSONParser`` (the API's only parser,
``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``) turns it into a 400. A view outside DRF that reads a JSON body must call
``json_body_loads`` and answer 400 on ``ValueError``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding  # type: ignore[attr-defined]  # public in DRF, missing from its stubs
from rest_framework.utils.json import strict_constant

JSON_MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted; nothing the API takes comes near it."""

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class JSONBodyError(ValueError):
    """A JSON body that parses but is refused (too deep, or a duplicate key); the message is for the client."""


def _check_depth(text: str, limit: int) -> None:
    """Count brackets outside strings; stop at the first one past the limit (so the cost of a hostile body is
    bounded by the limit, not by its length)."""
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                raise JSONBodyError(f"JSON nesting is too deep: at most {limit} levels of arrays and objects.")
        else:
            depth -= 1


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JSONBodyError(f"Duplicate key {json.dumps(key)} in a JSON object: send each key once.")
        result[key] = value
    return result


def json_body_loads(text: str | bytes, *, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """Parse a client's JSON body. Raises ``ValueError`` (a ``JSONBodyError`` with a client-facing message for
    nesting deeper than ``max_depth`` or a key repeated in one object; ``json.JSONDecodeError`` for broken JSON,
    ``UnicodeDecodeError`` for bytes that are not UTF-8). NaN and Infinity are refused, as DRF's strict mode does."""
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8")
    _check_depth(text, max_depth)
    try:
        return json.loads(text, object_pairs_hook=_object_without_duplicates, parse_constant=strict_constant)
    except RecursionError as exc:  # a backstop: the pre-scan should have refused it already
        raise JSONBodyError("JSON nesting is too deep.") from exc


class StrictJSONParser(JSONParser):
    """DRF's JSON parser through ``json_body_loads``: every refusal is a 400 ``{"detail": "…"}``."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return json_body_loads(stream.read().decode(get_encoding(parser_context or {})))
        except JSONBodyError as exc:
            raise ParseError(str(exc)) from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
