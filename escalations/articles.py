"""What escalations give back to the knowledge base: a resolved escalation drafted as an internal article.

It lives here, not in ``knowledge_base``, because the knowledge base imports neither escalations nor feedback: the
escalation side reads its own record (status, dossier, resolution) and calls the knowledge base's public service.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext

from escalations.models import Escalation, EscalationStatus
from helpdesk.events import event_record
from helpdesk.models import EventKind, User
from helpdesk.selectors import ticket_is_visible_to
from knowledge_base.models import Article, ArticleOrigin, ArticleVisibility
from knowledge_base.services import article_create


def _draft_body(escalation: Escalation) -> str:
    return "\n\n".join(
        [
            "## Problem",
            escalation.dossier_problem.strip() or "_Describe the problem._",
            "## What was tried first",
            escalation.dossier_tried.strip() or "_What did not work._",
            "## Resolution",
            escalation.resolution_summary.strip() or "_How it was resolved._",
            f"_Drafted from escalated ticket {escalation.ticket.reference}._",
        ]
    )


@transaction.atomic
def article_draft_from_escalation(*, escalation: Escalation, actor: User) -> Article:
    """Turn a resolved escalation into a draft internal article pre-filled from the handoff dossier and the
    resolution. Atomic and idempotent: one article per escalation (a second call returns the first draft)."""
    existing = Article.objects.filter(source_escalation=escalation).first()
    if existing is not None:
        return existing
    ticket = escalation.ticket
    if not actor.is_staff_member or not ticket_is_visible_to(user=actor, ticket=ticket):
        raise PermissionDenied(gettext("Only staff who can see the ticket can write its article."))
    if escalation.status != EscalationStatus.RESOLVED:
        raise ValidationError(gettext("Only a resolved escalation can become an article."))
    article = article_create(
        actor=actor,
        title=ticket.subject,
        body=_draft_body(escalation),
        category=ticket.category,
        visibility=ArticleVisibility.INTERNAL,
        tags=[ticket.category.name] if ticket.category else [],
        origin=ArticleOrigin.ESCALATION,
        source_ticket=ticket,
        source_escalation=escalation,
        note=f"Drafted from the escalation of {ticket.reference}",
    )
    event_record(
        ticket=ticket,
        kind=EventKind.KB,
        actor=actor,
        is_public=False,
        body=f"Draft article “{article.title}” created from this escalation.",
        data={"action": "draft_from_escalation", "article_id": article.pk, "escalation_id": escalation.pk},
    )
    return article
