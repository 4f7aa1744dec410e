"""The translation check behind ``manage.py i18n_check`` (run by ``make lint`` and CI).

It fails when a customer-facing template has words outside a translation tag (``unmarked_text``), or when a language
in ``settings.LANGUAGES`` lacks a translation for any marked string of the current sources (``catalog_gaps``: the
catalogues are regenerated from the sources into a scratch copy, so a string added or changed since the last
``makemessages`` shows up as untranslated). The translated surface is listed in ``TRANSLATED_TEMPLATES``: the customer
side, and the staff screens of the folders listed whole (README, *Languages and time zones*).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings
from django.template.base import Lexer, TokenType

# Globs under templates/: every page, fragment and email a customer or an anonymous visitor reads, and the folders
# whose staff screens are translated too (every template in them, so a new one is checked from its first commit).
TRANSLATED_TEMPLATES = (
    "base.html",
    "403.html",
    "404.html",
    "500.html",
    "_partials/*.html",
    "registration/login.html",
    "helpdesk/*.html",
    "feedback/survey.html",
    "feedback/survey_thanks.html",
    "knowledge_base/*.html",
    "knowledge_base/help/*.html",
    "privacy/*.html",
    "emails/*.txt",
    "escalations/_manager_request_panel.html",
    "escalations/sla/_panel_promise.html",
    "chat/customer.html",
    "chat/_log.html",
    "chat/_composer.html",
    "chat/_end.html",
    "chat/widget.html",
    "chat/widget_refused.html",
    # The staff screens of escalations (with calls and SLA), feedback, incidents and reports (README, *Languages
    # and time zones*).
    "escalations/*.html",
    "escalations/calls/*.html",
    "escalations/sla/*.html",
    "feedback/*.html",
    "incidents/*.html",
    "reports/*.html",
    "chat/*.html",
    "chat/guest.html",
    "chat/_guest_log.html",
    "chat/_guest_composer.html",
)

_WORDS = re.compile(r"[A-Za-z]{2,}")
_ENTITY = re.compile(r"&[a-z]+;|&#\d+;")
# Blocks whose text is markup, not words (a body class name).
_MARKUP_BLOCKS = {"body_class"}
_WORDY_ATTRIBUTES = {"placeholder", "aria-label", "title", "alt"}
# Names that stay as they are in every language.
_PROPER_NAMES = ("Escalation Helpdesk",)


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: not marked for translation: {self.text!r}"


def template_files(root: Path | None = None) -> list[Path]:
    root = root or Path(settings.BASE_DIR) / "templates"
    files: set[Path] = set()
    for pattern in TRANSLATED_TEMPLATES:
        files.update(root.glob(pattern))
    return sorted(files)


class _Words(HTMLParser):
    """Collects the words a reader sees in the template's own text: data between tags and wordy attributes."""

    def __init__(self, skeleton: str):
        super().__init__(convert_charrefs=False)
        self.skeleton = skeleton
        self.found: list[tuple[int, str]] = []
        self.in_code = 0  # inside <style> or <script>: CSS and JavaScript, not words

    def _add(self, text: str) -> None:
        text = _ENTITY.sub(" ", text.replace(_HOLE, " "))
        for name in _PROPER_NAMES:
            text = text.replace(name, " ")
        if _WORDS.search(text):
            self.found.append((self.getpos()[0], " ".join(text.split())[:80]))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self.in_code += 1
        values = dict(attrs)
        for name, value in attrs:
            if value and (name in _WORDY_ATTRIBUTES or (name == "content" and values.get("name") == "description")):
                self._add(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self.in_code = max(self.in_code - 1, 0)

    def handle_data(self, data: str) -> None:
        if not self.in_code:
            self._add(data)


_HOLE = "\x00"


def unmarked_text(source: str, *, path: str = "") -> list[Finding]:
    """Words in a template that no ``{% translate %}`` / ``{% blocktranslate %}`` covers: text between tags and the
    text of placeholder / aria-label / title / alt attributes (and a description meta's content). Template tags,
    variables, comments and whatever a blocktranslate holds count as covered."""
    parts = []
    skipping = 0
    for token in Lexer(source).tokenize():
        words = token.contents.split()
        name = words[0] if token.token_type == TokenType.BLOCK and words else ""
        opens = name in ("comment", "blocktranslate", "blocktrans") or (
            name == "block" and len(words) > 1 and words[1] in _MARKUP_BLOCKS
        )
        closes = name in ("endcomment", "endblocktranslate", "endblocktrans") or (name == "endblock" and skipping)
        if opens:
            skipping += 1
        elif closes:
            skipping = max(skipping - 1, 0)
        raw = token.contents
        if token.token_type == TokenType.TEXT and not skipping:
            parts.append(raw)
        else:
            # A hole with no letters, keeping the line count so that findings name the right line.
            parts.append(_HOLE + "\n" * raw.count("\n"))
    parser = _Words("".join(parts))
    parser.feed(parser.skeleton)
    parser.close()
    return [Finding(path, line, text) for line, text in parser.found]


def templates_unmarked(root: Path | None = None) -> list[Finding]:
    root = root or Path(settings.BASE_DIR) / "templates"
    findings = []
    for file in template_files(root):
        findings += unmarked_text(file.read_text(), path=f"templates/{file.relative_to(root)}")
    return findings


def catalog_gaps() -> list[str]:
    """Regenerate each language's catalogue from the sources; list what is untranslated or fuzzy there (needs GNU
    gettext, as ``makemessages`` does).

    ``makemessages`` writes into the ``locale`` directory that sits above the sources it scans, whatever
    ``LOCALE_PATHS`` says, so it cannot be pointed at a scratch copy: the committed catalogues are kept byte for byte
    and put back afterwards, and the check leaves the tree as it found it."""
    from django.core.management import call_command

    base = Path(settings.BASE_DIR)
    gaps = []
    languages = [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
    committed = {po: po.read_bytes() for po in (base / "locale").glob("*/LC_MESSAGES/django.po")}
    try:
        call_command(
            "makemessages",
            locale=languages,
            no_location=True,
            ignore_patterns=[".venv", "var", "tests", "bench", "templates/admin", "node_modules"],
            verbosity=0,
        )
        for code in languages:
            po = base / "locale" / code / "LC_MESSAGES" / "django.po"
            stats = subprocess.run(  # noqa: S603 - a fixed gettext tool on our own file
                ["msgfmt", "--statistics", "-o", "/dev/null", str(po)],  # noqa: S607 - gettext on PATH, as makemessages
                capture_output=True,
                text=True,
                check=True,
            ).stderr
            if "untranslated" in stats or "fuzzy" in stats:
                gaps.append(f"{code}: {stats.strip()} (run makemessages and translate locale/{code})")
            compiled = base / "locale" / code / "LC_MESSAGES" / "django.mo"
            if not compiled.exists():
                gaps.append(f"{code}: django.mo is missing (run compilemessages)")
    finally:
        for po, content in committed.items():
            po.write_bytes(content)
    return gaps
