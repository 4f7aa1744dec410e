"""The API's error docs have one home, ``helpdesk.api.views``: no other module defines its own copy."""

from __future__ import annotations

import re
from pathlib import Path

from helpdesk.api import views

ROOT = Path(__file__).resolve().parents[3]
HOME = ROOT / "helpdesk" / "api" / "views.py"
DEFINITION = re.compile(r"^(?:LIST_ERRORS|READ_ERRORS)\s*(?::[^=]+)?=|^def error_doc\b", re.MULTILINE)


def _sources():
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if parts[0] in {".venv", "tests", "node_modules"} or "migrations" in parts:
            continue
        yield path


def test_only_the_platform_defines_the_error_docs():
    # given every application module of the project
    # when each is searched for a definition of the shared error docs
    defining = sorted(
        str(path.relative_to(ROOT)) for path in _sources() if DEFINITION.search(path.read_text(encoding="utf-8"))
    )
    # then the platform's module is the only one
    assert defining == ["helpdesk/api/views.py"]


def test_the_platform_error_docs_nest():
    # the list errors are the read errors without the 404, and writes add the 415
    assert set(views.READ_ERRORS) == set(views.LIST_ERRORS) | {404}
    assert set(views.LIST_ERRORS) == {400, 401, 403}
    assert set(views.WRITE_ERRORS) == set(views.READ_ERRORS) | {415}
