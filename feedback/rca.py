"""Root-cause analyses of escalated tickets: written once the ticket is resolved, with corrective actions (a
preventable cause needs at least one), and reviewed by a manager. The cause decides the follow-up: a knowledge gap
drafts a KB article, a training gap gives the agent who escalated a coaching item.

Every service is keyword-only and atomic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from escalations.models import Escalation, RequestedBy
from feedback import events
from feedback.models import ActionStatus, CauseCategory, CoachingItem, CorrectiveAction, RootCauseAnalysis
from feedback.selectors import resolution_summary, ticket_escalations
from feedback.services import SURVEYED_STATUSES
from helpdesk.models import NotificationKind, Role, Ticket, User
from helpdesk.notifications import notification_enqueue
from helpdesk.services import require_staff, ticket_url


@dataclass(frozen=True)
class CorrectiveActionInput:
    description: str
    owner: User | None
    due_date: date | None


def _kb_draft_from_rca(*, rca: RootCauseAnalysis, actor: User):
    """Ask the knowledge base for a draft article, when the KB app provides the hook (it is built in parallel)."""
    try:
        from knowledge_base.services import article_draft_from_rca
    except ImportError:
        return None
    ticket = rca.ticket
    summary, _ = resolution_summary(ticket=ticket)
    body = (
        f"Problem\n{ticket.description}\n\n"
        f"Resolution\n{summary or 'See the ticket.'}\n\n"
        f"Why it happened (5 whys)\n{rca.five_whys}"
    )
    return article_draft_from_rca(
        ticket=ticket, title=f"How to fix: {ticket.subject}", body=body, category=ticket.category, actor=actor
    )


def _escalating_agent(ticket: Ticket) -> User | None:
    """The staff member who escalated first (manual escalations only; the SLA engine has no one to coach)."""
    escalation = (
        Escalation.objects.filter(ticket=ticket, requested_by_kind=RequestedBy.AGENT, requested_by__isnull=False)
        .exclude(requested_by__role=Role.CUSTOMER)
        .select_related("requested_by")
        .order_by("created_at", "id")
        .first()
    )
    return escalation.requested_by if escalation else None


def _apply_cause_follow_ups(*, rca: RootCauseAnalysis, actor: User) -> None:
    """Knowledge gap drafts a KB article; training gap coaches the agent who escalated. Each happens once."""
    if rca.cause_category == CauseCategory.KNOWLEDGE_GAP and rca.kb_article_id is None:
        article = _kb_draft_from_rca(rca=rca, actor=actor)
        if article is not None and getattr(article, "pk", None):
            rca.kb_article_id = article.pk
            rca.save(update_fields=["kb_article_id"])
    elif rca.cause_category == CauseCategory.TRAINING_GAP:
        agent = _escalating_agent(rca.ticket)
        if agent is not None:
            CoachingItem.objects.get_or_create(
                agent=agent,
                rca=rca,
                defaults={"note": f"{rca.ticket.reference} “{rca.ticket.subject}”: training gap.\n{rca.five_whys}"},
            )


def _validate_actions(actions: Sequence[CorrectiveActionInput]) -> list[str]:
    errors = []
    for number, action in enumerate(actions, start=1):
        if not (action.description or "").strip():
            errors.append(f"Corrective action {number}: describe the action.")
        if action.owner is None or not action.owner.is_staff_member:
            errors.append(f"Corrective action {number}: choose a staff member as owner.")
        if action.due_date is None:
            errors.append(f"Corrective action {number}: give a due date.")
    return errors


@transaction.atomic
def rca_create(
    *,
    ticket: Ticket,
    actor: User,
    cause_category: str,
    preventable: bool,
    five_whys: str,
    actions: Sequence[CorrectiveActionInput] = (),
) -> RootCauseAnalysis:
    """Write a resolved ticket's root-cause analysis with its corrective actions (a preventable cause needs at
    least one), then apply the cause's follow-up (KB draft or coaching item). One per ticket. Atomic."""
    require_staff(actor)
    errors: dict[str, list[str]] = {}
    if ticket.status not in SURVEYED_STATUSES:
        errors["__all__"] = ["Resolve the ticket before writing its root-cause analysis."]
    if RootCauseAnalysis.objects.filter(ticket=ticket).exists():
        errors["__all__"] = [
            "This ticket already has a root-cause analysis; a manager can reclassify it from the review queue."
        ]
    if cause_category not in CauseCategory.values:
        errors["cause_category"] = ["Choose the cause category."]
    five_whys = (five_whys or "").strip()
    if not five_whys:
        errors["five_whys"] = ["Write the five whys: why did it happen, and why did that happen?"]
    action_errors = _validate_actions(actions)
    if preventable and not actions:
        action_errors.append("A preventable cause needs at least one corrective action.")
    if action_errors:
        errors["actions"] = action_errors
    if errors:
        raise ValidationError(errors)
    rca = RootCauseAnalysis.objects.create(
        ticket=ticket,
        escalation=ticket_escalations(ticket=ticket).first(),
        cause_category=cause_category,
        preventable=preventable,
        five_whys=five_whys,
        created_by=actor,
        created_at=timezone.now(),
    )
    CorrectiveAction.objects.bulk_create(
        CorrectiveAction(rca=rca, description=a.description.strip()[:300], owner=a.owner, due_date=a.due_date)
        for a in actions
        if a.owner is not None and a.due_date is not None  # always: refused above otherwise
    )
    for action in actions:
        if action.owner is not None and action.owner != actor:
            notification_enqueue(
                kind=NotificationKind.CORRECTIVE_ACTION,
                subject=f"Corrective action for {ticket.reference}, due {action.due_date:%-d %b}",
                body=action.description,
                recipients=[action.owner],
                ticket=ticket,
                url=ticket_url(ticket),
                email=False,
            )
    events.rca_recorded_event(ticket=ticket, actor=actor, rca=rca)
    _apply_cause_follow_ups(rca=rca, actor=actor)
    return rca


@transaction.atomic
def rca_review(*, rca: RootCauseAnalysis, actor: User, cause_category: str, note: str = "") -> RootCauseAnalysis:
    """A manager confirms or reclassifies an RCA; a reclassification keeps the old category and applies the new
    category's follow-up. Atomic."""
    if not actor.is_manager:
        raise PermissionDenied("Only managers review root-cause analyses.")
    if cause_category not in CauseCategory.values:
        raise ValidationError({"cause_category": "Choose the cause category."})
    rca = RootCauseAnalysis.objects.select_for_update().select_related("ticket").get(pk=rca.pk)
    old = rca.cause_category
    if cause_category != old:
        rca.reclassified_from = old
        rca.cause_category = cause_category
    rca.reviewed_by = actor
    rca.reviewed_at = timezone.now()
    rca.review_note = (note or "").strip()
    rca.save(update_fields=["reclassified_from", "cause_category", "reviewed_by", "reviewed_at", "review_note"])
    events.rca_reviewed_event(ticket=rca.ticket, actor=actor, rca=rca, old_category=old)
    if cause_category != old:
        _apply_cause_follow_ups(rca=rca, actor=actor)
    return rca


@transaction.atomic
def corrective_action_complete(*, action: CorrectiveAction, actor: User) -> CorrectiveAction:
    """Mark a corrective action done (its owner or a manager). Idempotent. Atomic."""
    if actor.pk != action.owner_id and not actor.is_manager:
        raise PermissionDenied("Only the owner of this action or a manager can mark it done.")
    CorrectiveAction.objects.filter(pk=action.pk, status=ActionStatus.OPEN).update(
        status=ActionStatus.DONE, done_at=timezone.now()
    )
    action.refresh_from_db()
    return action
