"""Markdown to safe HTML: render with ``markdown``, then sanitise the result with an ``nh3`` allowlist.

Sanitising the *output* (not the Markdown) is what makes it robust: whatever trick produced the HTML (raw HTML,
reference links, autolinks, entities, odd whitespace in a scheme), only allowlisted tags, attributes and URL schemes
survive, and the browser never sees an event handler, a ``style``, an ``<svg>`` or a ``javascript:``/``data:`` URL.
"""

from __future__ import annotations

import html
import re

import markdown
import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "dl", "dt", "em", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "summary", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
# Dropped together with everything inside them (not just the tags).
CLEAN_CONTENT_TAGS = {"script", "style", "iframe", "object", "embed", "svg", "math", "template", "noscript"}

_TAGS = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def markdown_to_html(source: str) -> str:
    """Render Markdown and sanitise the HTML; the only way article bodies reach a page."""
    rendered = markdown.markdown(source or "", extensions=["extra", "sane_lists"], output_format="html")
    return sanitise_html(rendered)


def sanitise_html(dirty: str) -> str:
    return nh3.clean(
        dirty,
        tags=ALLOWED_TAGS,
        clean_content_tags=CLEAN_CONTENT_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        attribute_filter=_url_filter,
    )


def _url_filter(element: str, attribute: str, value: str) -> str | None:
    """Belt and braces on top of nh3's scheme check: drop a URL whose scheme, once every space and control
    character is squeezed out, is not allowlisted ("java    script:" is harmless to browsers, but not worth it)."""
    if attribute not in ("href", "src"):
        return value
    compact = "".join(ch for ch in value if ch.isprintable() and not ch.isspace()).lower()
    head = re.split(r"[/?#]", compact, maxsplit=1)[0]
    if ":" in head and head.split(":", 1)[0] not in ALLOWED_URL_SCHEMES:
        return None
    return value


def html_to_text(safe_html: str) -> str:
    """Plain text of sanitised HTML (for snippets and the search index)."""
    text = html.unescape(_TAGS.sub(" ", safe_html))
    return _SPACE.sub(" ", _CONTROL.sub("", text)).strip()
