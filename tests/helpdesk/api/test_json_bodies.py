"""Hostile JSON bodies: nesting deep enough to exhaust Python's stack, and keys repeated in one object, are a clear
400 on every JSON endpoint (the API's one parser, ``helpdesk.api.parsers.StrictJSONParser``), never a 500."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from helpdesk.api.parsers import JSON_MAX_DEPTH, json_body_loads
from helpdesk.models import EventKind, Ticket

DEEP = "[" * 100_000 + "]" * 100_000
TOO_DEEP = {"detail": f"JSON nesting is too deep: at most {JSON_MAX_DEPTH} levels of arrays and objects."}
LOGIN = "/api/auth/login/"


def _post_raw(client: Client, path: str, body: str, headers: dict | None = None):
    return client.post(path, body, content_type="application/json", headers=headers or {})


def test_deeply_nested_body_on_the_anonymous_login_is_a_400(people):
    # given an anonymous client
    client = Client()
    # when it posts 100,000 nested arrays, bare or as a field's value
    bare = _post_raw(client, LOGIN, DEEP)
    inside = _post_raw(client, LOGIN, '{"username": "customer", "password": ' + DEEP + "}")
    # then both are a 400 that says why
    assert (bare.status_code, bare.json()) == (400, TOO_DEEP)
    assert (inside.status_code, inside.json()) == (400, TOO_DEEP)


def test_deeply_nested_body_on_an_authenticated_write_is_a_400_and_saves_nothing(people, tickets, api_as):
    # given an agent about to change a ticket and to reply on it
    ticket = tickets["mine"]
    api = api_as(people["agent"])
    headers = {**api.headers, "If-Match": f'"{ticket.version}"'}
    # when the bodies are nested 100,000 levels deep
    patched = api.client.patch(
        f"/api/tickets/{ticket.reference}/",
        '{"priority": "high", "category": ' + "{" * 50_000 + "}" * 50_000 + "}",
        content_type="application/json",
        headers=headers,
    )
    replied = _post_raw(api.client, f"/api/tickets/{ticket.reference}/replies/", DEEP, api.headers)
    # then each is a 400 naming the problem, and the ticket is unchanged
    assert (patched.status_code, patched.json()) == (400, TOO_DEEP)
    assert (replied.status_code, replied.json()) == (400, TOO_DEEP)
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert (fresh.priority, fresh.version) == (ticket.priority, ticket.version)
    assert not fresh.events.filter(kind=EventKind.AGENT_REPLY).exists()


def test_a_duplicate_key_is_a_400_naming_the_key(people, tickets, api_as):
    # given a login whose username appears twice (the second would have won), and a reply whose body does
    login = _post_raw(Client(), LOGIN, '{"username": "nobody", "password": "x", "username": "customer"}')
    api = api_as(people["agent"])
    reply = _post_raw(
        api.client,
        f"/api/tickets/{tickets['mine'].reference}/replies/",
        '{"body": "Checked, all fine", "meta": {"a": 1, "a": 2}}',
        api.headers,
    )
    # then both are refused, naming the key, and nothing was written
    assert (login.status_code, login.json()) == (
        400,
        {"detail": 'Duplicate key "username" in a JSON object: send each key once.'},
    )
    assert (reply.status_code, reply.json()) == (
        400,
        {"detail": 'Duplicate key "a" in a JSON object: send each key once.'},
    )
    assert not tickets["mine"].events.filter(kind=EventKind.AGENT_REPLY).exists()


def test_normal_json_still_works_brackets_in_strings_included(people, tickets, api_as):
    # given ordinary bodies, one with a text full of brackets and escaped quotes (data, not nesting)
    client = Client()
    api = api_as(people["agent"])
    text = 'Log says "[[[{{{" and \\"]]]' + "[" * 5_000
    # when they are sent
    login = _post_raw(client, LOGIN, json.dumps({"username": "customer", "password": "pw-customer"}))
    reply = _post_raw(
        api.client, f"/api/tickets/{tickets['mine'].reference}/replies/", json.dumps({"body": text}), api.headers
    )
    broken = _post_raw(client, LOGIN, '{"username": "customer",')
    # then they work as before, and broken JSON is still the parser's 400
    assert login.status_code == 200
    assert reply.status_code == 201
    assert tickets["mine"].events.get(kind=EventKind.AGENT_REPLY).body == text.strip()
    assert broken.status_code == 400
    assert broken.json()["detail"].startswith("JSON parse error - ")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("[" * JSON_MAX_DEPTH + "]" * JSON_MAX_DEPTH, "ok"),
        ("[" * (JSON_MAX_DEPTH + 1) + "]" * (JSON_MAX_DEPTH + 1), "too deep"),
        ('{"a": "\\"[[[[[[[[[[", "b": [1, {"c": "]]]"}]}', "ok"),
        ('{"a": 1, "b": {"a": 2}}', "ok"),
        ('{"x": NaN}', "refused"),
    ],
)
def test_json_body_loads_limits_depth_and_ignores_brackets_in_strings(body, expected):
    # when a body is parsed by the one function every JSON reader uses
    try:
        json_body_loads(body.encode())
        outcome = "ok"
    except ValueError as exc:
        outcome = "too deep" if "too deep" in str(exc) else "refused"
    # then only real nesting counts
    assert outcome == expected
