"""The ticket-page panel: articles for this ticket's category and text (staff get insert / resolved-with tools)."""

from __future__ import annotations

from django.conf import settings

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
