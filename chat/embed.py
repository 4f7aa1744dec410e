"""Who may embed the chat widget: our own origin and the origins in ``CHAT_EMBED_ALLOWED_ORIGINS``. One rule for the
three places that enforce it: the widget page's ``frame-ancestors`` (the browser refuses other framers), the server's
check of the framing page's Origin/Referer (``chat.views.chat_widget_view`` answers 403), and ``embed.js``, which
does nothing on a page whose origin is not in the list it is served with."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lower-cased (default ports dropped); None when it is not http(s)."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def embed_allowed_origins() -> list[str]:
    """The configured origins, normalised; entries that are not an http(s) origin are ignored."""
    origins = (origin_of(entry) for entry in settings.CHAT_EMBED_ALLOWED_ORIGINS)
    return sorted({origin for origin in origins if origin})


def embed_origin_allowed(*, origin: str | None, request: HttpRequest) -> bool:
    """True for our own origin and the configured ones."""
    if not origin:
        return False
    return origin == origin_of(request.build_absolute_uri("/")) or origin in embed_allowed_origins()


def embed_framing_origin(request: HttpRequest) -> str | None:
    """The origin of the page framing the widget, as the browser says it: the Referer's origin (browsers send at
    least the origin to a cross-origin frame by default), else the ``origin`` the embed script passed. None for a
    direct visit that names neither."""
    referer = origin_of(request.headers.get("Referer", ""))
    return referer or origin_of(request.GET.get("origin", ""))
