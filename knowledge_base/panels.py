"""The ticket-page panel: articles for this ticket's category and text (staff get insert / resolved-with tools).

Staff see it in the workspace as a placeholder that loads the ranked panel from ``kb_ticket_suggestions`` after the
page, so the workspace's first response never waits for the ranking; the customer's ticket page renders it at once.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from knowledge_base.selectors import articles_for_ticket


def kb_panel_context(*, request, ticket) -> dict | None:
    user = request.user
    hits = articles_for_ticket(ticket=ticket, user=user)
    if not hits and not user.is_staff_member:
        return None
    used = set(ticket.kb_uses.values_list("article_id", flat=True)) if user.is_staff_member else set()
    return {
        "hits": hits,
        "ticket": ticket,
        "is_staff": user.is_staff_member,
        "used": used,
        "site_url": settings.SITE_URL,
    }


def kb_panel_placeholder_context(*, request, ticket) -> dict:
    """The workspace's placeholder: only the address of the ranked panel (no query)."""
    return {"url": reverse("kb_ticket_suggestions", args=[ticket.reference])}


def before_escalate_articles(*, ticket, user) -> list[dict]:
    """The escalate form's "before you escalate" step: the articles suggested for this ticket, as plain text.

    ``snippet_html`` is escaped HTML with ``<mark>`` highlights; the hook's ``snippet`` is plain text that the template
    escapes, so drop the tags *and* decode the entities here (otherwise "plan's" reaches the page as "plan&#x27;s").
    """
    from html import unescape

    from django.utils.html import strip_tags

    from knowledge_base.selectors import articles_for_escalation

    return [
        {
            "title": hit.article.title,
            "url": reverse("kb_article_detail", args=[hit.article.pk]),
            "snippet": unescape(strip_tags(hit.snippet_html)),
        }
        for hit in articles_for_escalation(ticket=ticket, user=user)
    ]
