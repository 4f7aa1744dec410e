"""Writes on the ticket core. Every service is keyword-only, atomic, and writes its TicketEvent.

Locking: every service that changes the ticket's state first locks its row (``_lock_ticket``: SELECT … FOR UPDATE
on PostgreSQL) and refreshes the instance from it, so the transition check, the status guards and the version check
all judge the row as locked, inside the transaction that writes. Another writer (a second save, the SLA sweep that
opens an escalation while holding the row) either finished before and is seen, or waits until we commit.

Optimistic locking: callers that showed a form pass ``expected_version`` (the version the user saw). It is compared
with the locked row's version, so of two concurrent saves exactly one wins; the other gets ``TicketConflict`` naming
who changed the ticket, and nothing of theirs is written.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, F, Max, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk import audit, events
from helpdesk.attachments import attachment_validate
from helpdesk.errors import Conflict
from helpdesk.guards import status_guards_check
from helpdesk.locale import in_language_of
from helpdesk.models import (
    OPEN_STATUSES,
    STAFF_ROLES,
    AssignmentRule,
    Attachment,
    AuditAction,
    Category,
    Channel,
    NotificationKind,
    Priority,
    Role,
    Status,
    Team,
    TeamMembership,
    Ticket,
    TicketEvent,
    TicketPresence,
    User,
)
from helpdesk.notifications import Notice, customer_message_render, notification_enqueue, notifications_enqueue_many
from helpdesk.text import single_line


class TicketConflict(Conflict):
    """The ticket changed since the user loaded it. The API answers 412 (the If-Match precondition failed) with the
    current version; the workspace re-renders with a 409."""

    status = 412

    def __init__(self, *, ticket: Ticket, changed_by: User | None):
        self.ticket = ticket
        self.changed_by = changed_by
        who = changed_by.display_name if changed_by else _("someone else")
        super().__init__(
            _(
                "This ticket was changed by %(who)s while you were editing it. "
                "Nothing of yours was saved: review the current state and try again."
            )
            % {"who": who},
            extra={"current_version": ticket.version},
        )


class InvalidTransition(ValidationError):
    pass


def _lock_ticket(ticket: Ticket) -> None:
    """Lock the ticket's row for the rest of the transaction and bring ``ticket`` up to date with it, so that what
    the caller loaded earlier (a form, a list) is never what a guard or the version check is judged on. Cached
    related objects survive unless their key changed. PostgreSQL row lock; SQLite serialises writers anyway."""
    if not _lock_tickets([ticket]):
        raise Ticket.DoesNotExist("Ticket matching query does not exist.")


def _lock_tickets(tickets: Sequence[Ticket]) -> set[int]:
    """``_lock_ticket`` for a batch: one SELECT … FOR UPDATE (in id order, so two batches cannot deadlock) that
    refreshes each instance from its locked row. Returns the ids found (a deleted ticket is not)."""
    locked = {
        row.pk: row for row in Ticket.objects.select_for_update().filter(pk__in=[t.pk for t in tickets]).order_by("pk")
    }
    for ticket in tickets:
        row = locked.get(ticket.pk)
        if row is None:
            continue
        for field in Ticket._meta.concrete_fields:
            value = getattr(row, field.attname)
            if field.is_relation and ticket.__dict__.get(field.attname) != value and field.is_cached(ticket):  # type: ignore[attr-defined]  # a ForeignKey's cache mixin, unknown to the stubs
                field.delete_cached_value(ticket)  # type: ignore[attr-defined]
            setattr(ticket, field.attname, value)
    return set(locked)


def _bump_version(*, ticket: Ticket, expected_version: int | None) -> None:
    """Check the version the user saw against the locked row (``_lock_ticket`` first) and advance it; raise
    TicketConflict when someone saved first. The UPDATE is still conditional on the version read, so a caller that
    forgot the lock gets a conflict, never a lost update."""
    now = timezone.now()
    current = ticket.version
    if (expected_version is not None and expected_version != current) or Ticket.objects.filter(
        pk=ticket.pk, version=current
    ).update(version=current + 1, updated_at=now) == 0:
        fresh = Ticket.objects.with_list_related().get(pk=ticket.pk)
        last_event = TicketEvent.objects.filter(ticket=fresh).select_related("actor").order_by("-id").first()
        raise TicketConflict(ticket=fresh, changed_by=last_event.actor if last_event else None)
    ticket.version = current + 1
    ticket.updated_at = now


def require_staff(user: User | None, *, to: str = "do this") -> None:
    """The one staff check of every service that only staff may call (``User.is_staff_member``): anyone else,
    or no one (a system caller that forgot to say who acts), is refused with "Only staff can <to>."."""
    if user is None or not user.is_staff_member:
        raise PermissionDenied(f"Only staff can {to}.")


def ticket_url(ticket: Ticket) -> str:
    return reverse("ticket_detail", kwargs={"reference": ticket.reference})


# --- routing ---------------------------------------------------------------------------------------------------


def team_for_category(category: Category | None, *, tier: int = 1) -> Team | None:
    """The team of a tier skilled in the category; falls back to the first team of that tier."""
    teams = Team.objects.filter(tier=tier).order_by("name")
    if category is not None:
        skilled = teams.filter(categories=category).first()
        if skilled is not None:
            return skilled
    return teams.first()


def team_pick_assignee(*, team: Team) -> User | None:
    """Apply the team's assignment rule, skipping away members. Locks the memberships so two simultaneous
    round-robin picks do not choose the same person."""
    if team.assignment_rule == AssignmentRule.MANUAL:
        return None
    # Lock the candidate rows first, then count loads in a separate query: PostgreSQL refuses FOR UPDATE together
    # with GROUP BY, so the load cannot be an aggregate annotation on the locked query.
    candidates = list(
        TeamMembership.objects.select_for_update(of=("self",))
        .filter(team=team, user__is_active=True, user__is_available=True)
        .exclude(user__role=Role.CUSTOMER)
        .select_related("user")
        .order_by(F("last_assigned_at").asc(nulls_first=True), "user_id")
    )
    if not candidates:
        return None
    chosen = candidates[0]
    if team.assignment_rule == AssignmentRule.LEAST_LOADED:
        loads = dict(
            Ticket.objects.filter(assignee_id__in=[m.user_id for m in candidates], status__in=OPEN_STATUSES)
            .values_list("assignee_id")
            .annotate(load=Count("pk"))
            .order_by()
        )
        # min() keeps the first of equals, so ties go to whoever waited longest for an assignment.
        chosen = min(candidates, key=lambda m: loads.get(m.user_id, 0))
    TeamMembership.objects.filter(pk=chosen.pk).update(last_assigned_at=timezone.now())
    return chosen.user


# --- create ----------------------------------------------------------------------------------------------------


@transaction.atomic
def ticket_create(
    *,
    customer: User,
    subject: str,
    description: str,
    category: Category | None = None,
    priority: str = Priority.NORMAL,
    channel: str = Channel.WEB,
    actor: User | None = None,
    files: Sequence[UploadedFile] = (),
) -> Ticket:
    """Open a ticket for a customer, route it to the tier-1 team skilled in its category, apply the team's
    assignment rule, record the event and queue the notifications. Atomic."""
    subject = single_line(subject)
    description = (description or "").strip()
    errors = {}
    if not subject:
        errors["subject"] = _("Please give the request a subject.")
    if not description:
        errors["description"] = _("Please describe the problem.")
    if not customer.is_customer:
        errors["customer"] = "Tickets are opened for a customer."
    elif customer.organization_id is None:
        errors["customer"] = "This customer belongs to no organisation."
    if priority not in Priority.values:
        errors["priority"] = f"Unknown priority {priority!r}."
    if channel not in Channel.values:
        errors["channel"] = f"Unknown channel {channel!r}."
    if errors:
        raise ValidationError(errors)
    _validate_files(files)

    assert customer.organization_id is not None  # refused above with a clear error
    now = timezone.now()
    team = team_for_category(category)
    ticket = Ticket.objects.create(
        # Unique placeholder that fits the column (24 chars); replaced by the HD-<year>-<pk> reference below.
        reference=f"tmp-{uuid.uuid4().hex[:20]}",
        subject=subject[:200],
        description=description,
        customer=customer,
        organization_id=customer.organization_id,
        category=category,
        priority=priority,
        channel=channel,
        team=team,
        tier=team.tier if team else 1,
        created_at=now,
        updated_at=now,
        last_public_activity_at=now,
    )
    ticket.reference = f"HD-{now.year}-{ticket.pk:06d}"
    ticket.save(update_fields=["reference"])
    event = events.ticket_created_event(ticket=ticket, actor=actor or customer)
    _attach_files(ticket=ticket, event=event, files=files, uploaded_by=actor or customer, is_public=True)

    assignee = team_pick_assignee(team=team) if team else None
    if team is not None and assignee is not None:
        ticket.assignee = assignee
        ticket.save(update_fields=["assignee"])
        events.ticket_assigned_event(
            ticket=ticket, actor=None, old_team=None, new_team=team.name, old=None, new=assignee.display_name
        )

    with in_language_of(customer):
        received_subject = f"[{ticket.reference}] " + _("We have received your request")
    notification_enqueue(
        kind=NotificationKind.TICKET_CREATED,
        subject=received_subject,
        body=customer_message_render(
            "ticket_received.txt",
            {"customer_name": customer.display_name, "subject": ticket.subject, "reference": ticket.reference},
            to=customer,
        ),
        recipients=[customer],
        ticket=ticket,
        url=ticket_url(ticket),
        in_app=False,
    )
    staff = [assignee] if assignee else (list(team.members.filter(is_active=True)) if team else [])
    notification_enqueue(
        kind=NotificationKind.TICKET_CREATED,
        subject=f"New ticket {ticket.reference}: {ticket.subject}",
        body=f"{customer.display_name} ({ticket.organization.name}) opened a {ticket.get_priority_display()} ticket.",
        recipients=staff,
        ticket=ticket,
        url=ticket_url(ticket),
        email=False,
    )
    return ticket


def _attach_files(
    *, ticket: Ticket, event: TicketEvent, files: Sequence[UploadedFile], uploaded_by: User, is_public: bool
) -> list[Attachment]:
    from helpdesk.attachments import attachment_store

    return [
        attachment_store(ticket=ticket, event=event, upload=upload, uploaded_by=uploaded_by, is_public=is_public)
        for upload in files
    ]


def _validate_files(files: Sequence[UploadedFile]) -> None:
    if len(files) > settings.ATTACHMENT_MAX_FILES:
        raise ValidationError(
            {"attachments": _("At most %(count)d files per message.") % {"count": settings.ATTACHMENT_MAX_FILES}}
        )
    messages: list[str] = []
    for upload in files:
        try:
            attachment_validate(upload)
        except ValidationError as exc:
            messages.extend(exc.messages)
    if messages:
        raise ValidationError({"attachments": messages})


# --- conversation ----------------------------------------------------------------------------------------------


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    author: User,
    body: str,
    expected_version: int | None = None,
    files: Sequence[UploadedFile] = (),
    template_id: int | None = None,
) -> TicketEvent:
    """A public message. From the customer it reopens a resolved ticket, reopens a closed one within the plan's
    reopen window (``Ticket.customer_reopen_until``) and wakes a pending one; from staff it moves a new ticket to
    open. A closed ticket otherwise takes no message: the customer opens a new request. The other side is notified.
    Atomic."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("The message is empty.")})
    _lock_ticket(ticket)
    now = timezone.now()
    reopening_closed = ticket.status == Status.CLOSED and author.is_customer and ticket.customer_may_reopen(now=now)
    if ticket.status == Status.CLOSED and not reopening_closed:
        raise ValidationError({"body": _("This ticket is closed. Please open a new request.")})
    _validate_files(files)
    if reopening_closed:
        # Refuse before writing anything, as the status services do.
        status_guards_check(ticket=ticket, status=Status.OPEN, actor=author)
    _bump_version(ticket=ticket, expected_version=expected_version)
    if author.is_customer:
        event = events.customer_message_event(ticket=ticket, actor=author, body=body)
        if ticket.status in (Status.PENDING_CUSTOMER, Status.RESOLVED, Status.CLOSED):
            _set_status(
                ticket=ticket,
                actor=author,
                status=Status.OPEN,
                guards_checked=reopening_closed,
                customer_reopen=reopening_closed,
            )
        recipients = [ticket.assignee] if ticket.assignee else list(ticket.team.members.all()) if ticket.team else []
        notification_enqueue(
            kind=NotificationKind.CUSTOMER_MESSAGE,
            subject=f"[{ticket.reference}] New message from {author.display_name}",
            body=body[:500],
            recipients=recipients,
            ticket=ticket,
            url=ticket_url(ticket),
            email=False,
        )
    else:
        require_staff(author)
        event = events.agent_replied_event(ticket=ticket, actor=author, body=body, template_id=template_id)
        if ticket.status == Status.NEW:
            _set_status(ticket=ticket, actor=author, status=Status.OPEN)
        notification_enqueue(
            kind=NotificationKind.AGENT_REPLY,
            subject=f"[{ticket.reference}] {ticket.subject}",
            body=customer_message_render(
                "agent_reply.txt", {"author_name": author.display_name, "message": body}, to=ticket.customer
            ),
            recipients=[ticket.customer],
            ticket=ticket,
            url=ticket_url(ticket),
        )
    _attach_files(ticket=ticket, event=event, files=files, uploaded_by=author, is_public=True)
    ticket.last_public_activity_at = now
    ticket.save(update_fields=["last_public_activity_at"])
    return event


@transaction.atomic
def ticket_add_internal_note(
    *, ticket: Ticket, author: User, body: str, files: Sequence[UploadedFile] = ()
) -> TicketEvent:
    """A staff-only note; never shown or sent to the customer. A note changes no ticket state, so it does not
    advance the version: a colleague's note never turns someone's pending reply or edit into a conflict. Atomic."""
    require_staff(author)
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("The note is empty.")})
    _validate_files(files)
    ticket.updated_at = timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=ticket.updated_at)
    event = events.internal_note_added_event(ticket=ticket, actor=author, body=body)
    _attach_files(ticket=ticket, event=event, files=files, uploaded_by=author, is_public=False)
    return event


# --- fields ----------------------------------------------------------------------------------------------------


def _set_status(
    *, ticket: Ticket, actor: User | None, status: str, guards_checked: bool = False, customer_reopen: bool = False
) -> None:
    """Apply a status change and record it. The caller holds the row lock (``_lock_ticket``), so the guards judge
    the row as locked. ``guards_checked``: the caller already ran the status guards before writing anything (so a
    refusal comes before a version conflict) and they need not run twice. ``customer_reopen``: the customer's
    reply reopens a closed ticket inside its reopen window (checked by ``ticket_reply``), the one way out of
    "closed"."""
    _check_transition(ticket=ticket, status=status, customer_reopen=customer_reopen)
    if status == ticket.status:
        return
    if not guards_checked:
        status_guards_check(ticket=ticket, status=status, actor=actor)
    old = ticket.status
    now = timezone.now()
    ticket.status = status
    if status == Status.RESOLVED:
        ticket.resolved_at = now
    elif status == Status.CLOSED:
        ticket.closed_at = now
    elif old in (Status.RESOLVED, Status.CLOSED):
        ticket.resolved_at = None
        ticket.closed_at = None
    ticket.save(update_fields=["status", "resolved_at", "closed_at"])
    events.ticket_status_changed_event(ticket=ticket, actor=actor, old=old, new=status)


def _apply_priority(*, ticket: Ticket, actor: User | None, priority: str) -> bool:
    if priority not in Priority.values:
        raise ValidationError({"priority": f"Unknown priority {priority!r}."})
    if priority == ticket.priority:
        return False
    old = ticket.priority
    ticket.priority = priority
    ticket.save(update_fields=["priority"])
    events.ticket_priority_changed_event(ticket=ticket, actor=actor, old=old, new=priority)
    return True


def _apply_category(*, ticket: Ticket, actor: User | None, category: Category | None) -> bool:
    if category == ticket.category:
        return False
    old = ticket.category.name if ticket.category else None
    ticket.category = category
    ticket.save(update_fields=["category"])
    events.ticket_category_changed_event(ticket=ticket, actor=actor, old=old, new=category.name if category else None)
    return True


def _check_assignment(*, team: Team | None, assignee: User | None) -> None:
    if assignee is not None:
        if not assignee.is_staff_member:
            raise ValidationError({"assignee": _("Tickets can only be assigned to staff.")})
        if team is not None and not TeamMembership.objects.filter(team=team, user=assignee).exists():
            raise ValidationError(
                {
                    "assignee": _("%(name)s is not a member of %(team)s.")
                    % {"name": assignee.display_name, "team": team.name}
                }
            )


def _apply_assignment(*, ticket: Ticket, actor: User | None, team: Team | None, assignee: User | None) -> bool:
    if team == ticket.team and assignee == ticket.assignee:
        return False
    old_team, old_assignee = ticket.team, ticket.assignee
    ticket.team = team
    ticket.assignee = assignee
    if team is not None:
        ticket.tier = team.tier
    ticket.save(update_fields=["team", "assignee", "tier"])
    events.ticket_assigned_event(
        ticket=ticket,
        actor=actor,
        old_team=old_team.name if old_team else None,
        new_team=team.name if team else None,
        old=old_assignee.display_name if old_assignee else None,
        new=assignee.display_name if assignee else None,
    )
    notices = _assignment_notices(tickets=[ticket], actor=actor, assignee=assignee)
    if notices:
        notifications_enqueue_many(notices)
    return True


def _assignment_notices(*, tickets: Sequence[Ticket], actor: User | None, assignee: User | None) -> list[Notice]:
    """The assignee hears of each ticket given to them (in-app only), unless they gave it to themselves."""
    if assignee is None or assignee == actor:
        return []
    return [
        Notice(
            kind=NotificationKind.TICKET_ASSIGNED,
            subject=f"{ticket.reference} was assigned to you",
            body=ticket.subject,
            recipients=[assignee],
            ticket=ticket,
            url=ticket_url(ticket),
            email=False,
        )
        for ticket in tickets
    ]


def _check_transition(*, ticket: Ticket, status: str, customer_reopen: bool = False) -> None:
    if status not in Status.values:
        raise InvalidTransition(f"Unknown status {status!r}.")
    if customer_reopen and (ticket.status, status) == (Status.CLOSED, Status.OPEN):
        return
    if status != ticket.status and not ticket.can_transition_to(status):
        raise InvalidTransition(
            _("A ticket cannot go from “%(old)s” to “%(new)s”.")
            % {"old": Status(ticket.status).label, "new": Status(status).label}
        )


def _notify_status(*, ticket: Ticket, status: str) -> None:
    if status in (Status.RESOLVED, Status.PENDING_CUSTOMER):
        with in_language_of(ticket.customer):
            status_subject = f"[{ticket.reference}] {Status(status).label}"
        notification_enqueue(
            kind=NotificationKind.for_status(status),
            subject=status_subject,
            body=customer_message_render(f"status_{status}.txt", {}, to=ticket.customer),
            recipients=[ticket.customer],
            ticket=ticket,
            url=ticket_url(ticket),
        )


@transaction.atomic
def ticket_change_status(*, ticket: Ticket, actor: User, status: str, expected_version: int | None = None) -> Ticket:
    """Move the ticket through the guarded state machine; an illegal move is a clear error. The transition, the
    guards and the version are judged on the locked row. Atomic."""
    require_staff(actor)
    _lock_ticket(ticket)
    _check_transition(ticket=ticket, status=status)
    if status == ticket.status:
        return ticket
    status_guards_check(ticket=ticket, status=status, actor=actor)
    _bump_version(ticket=ticket, expected_version=expected_version)
    _set_status(ticket=ticket, actor=actor, status=status, guards_checked=True)
    _notify_status(ticket=ticket, status=status)
    return ticket


@transaction.atomic
def ticket_change_priority(
    *, ticket: Ticket, actor: User, priority: str, expected_version: int | None = None
) -> Ticket:
    """Change the priority (staff only). Atomic."""
    require_staff(actor)
    _lock_ticket(ticket)
    if priority != ticket.priority:
        _bump_version(ticket=ticket, expected_version=expected_version)
        _apply_priority(ticket=ticket, actor=actor, priority=priority)
    return ticket


class AssignOutcome(enum.StrEnum):
    ASSIGNED = "assigned"
    UNCHANGED = "unchanged"  # already with that team and assignee: no event, no version bump
    REFUSED = "refused"  # ``error`` says why (a conflict, or the ticket no longer exists); the ticket is untouched


@dataclass(frozen=True)
class AssignResult:
    ticket: Ticket
    outcome: AssignOutcome
    error: Exception | None = None


@transaction.atomic
def ticket_assign(
    *,
    ticket: Ticket,
    actor: User | None,
    team: Team | None,
    assignee: User | None,
    expected_version: int | None = None,
) -> Ticket:
    """Give the ticket to a team and (optionally) one of its members; the assignee is notified. A batch of one
    ``ticket_assign_many``: raises its refusal. Atomic."""
    versions = {ticket.pk: expected_version} if expected_version is not None else None
    (result,) = ticket_assign_many(
        tickets=[ticket], actor=actor, team=team, assignee=assignee, expected_versions=versions
    )
    if result.error is not None:
        raise result.error
    return ticket


@transaction.atomic
def ticket_assign_many(
    *,
    tickets: Sequence[Ticket],
    actor: User | None,
    team: Team | None,
    assignee: User | None,
    expected_versions: Mapping[int, int | None] | None = None,
) -> list[AssignResult]:
    """Give each ticket to ``team`` and (optionally) ``assignee``, one rule for one ticket or five hundred (the
    workspace, the API and the queue's bulk action): staff only; the assignee must be staff and in the team (else
    ``ValidationError`` for the whole batch); each row is locked and judged as locked (one SELECT … FOR UPDATE); a
    ticket whose version differs from ``expected_versions[pk]`` (what the user saw) is refused with
    ``TicketConflict`` and untouched; the rest are written with one UPDATE, one INSERT of ``ASSIGNED`` events (the
    usual signal per event, so live screens and rollups see each) and one INSERT of the assignee's notifications.
    A ticket already so assigned is ``UNCHANGED``. Constant queries whatever the batch size. Atomic."""
    if actor is not None:
        require_staff(actor)
    _check_assignment(team=team, assignee=assignee)
    expected = expected_versions or {}
    unique = list({ticket.pk: ticket for ticket in tickets}.values())
    found = _lock_tickets(unique)
    results: dict[int, AssignResult] = {}
    changing: list[Ticket] = []
    conflicted: list[Ticket] = []
    for ticket in unique:
        if ticket.pk not in found:
            results[ticket.pk] = AssignResult(
                ticket, AssignOutcome.REFUSED, Ticket.DoesNotExist("Ticket matching query does not exist.")
            )
        elif team == ticket.team and assignee == ticket.assignee:
            results[ticket.pk] = AssignResult(ticket, AssignOutcome.UNCHANGED)
        elif (version := expected.get(ticket.pk)) is not None and version != ticket.version:
            conflicted.append(ticket)
        else:
            changing.append(ticket)
    if conflicted:
        changed_by = _last_actors([ticket.pk for ticket in conflicted])
        for ticket in conflicted:
            error = TicketConflict(ticket=ticket, changed_by=changed_by.get(ticket.pk))
            results[ticket.pk] = AssignResult(ticket, AssignOutcome.REFUSED, error)
    if changing:
        _assign_rows(tickets=changing, actor=actor, team=team, assignee=assignee)
        for ticket in changing:
            results[ticket.pk] = AssignResult(ticket, AssignOutcome.ASSIGNED)
    return [results[ticket.pk] for ticket in unique]


def _assign_rows(*, tickets: Sequence[Ticket], actor: User | None, team: Team | None, assignee: User | None) -> None:
    """Write an assignment to locked, version-checked rows: one UPDATE (version bumped), the events, the notices."""
    now = timezone.now()
    values: dict = {"team": team, "assignee": assignee, "version": F("version") + 1, "updated_at": now}
    if team is not None:
        values["tier"] = team.tier
    written = Ticket.objects.filter(pk__in=[ticket.pk for ticket in tickets]).update(**values)
    if written != len(tickets):  # the rows are locked: only a deleted ticket could get here
        raise Conflict("Some of these tickets changed while they were being assigned: nothing was saved.")
    # The previous team's and assignee's names, for the events: from the cache when the caller loaded them (the
    # queue's rows do), else one query each for the batch.
    old_teams = _names(tickets, "team", lambda team: team.name)
    old_assignees = _names(tickets, "assignee", lambda user: user.display_name)
    changes = []
    for ticket in tickets:
        old_team = old_teams.get(ticket.team_id) if ticket.team_id is not None else None
        old_assignee = old_assignees.get(ticket.assignee_id) if ticket.assignee_id is not None else None
        changes.append((ticket, old_team, old_assignee))
        ticket.team, ticket.assignee = team, assignee
        if team is not None:
            ticket.tier = team.tier
        ticket.version += 1
        ticket.updated_at = now
    events.ticket_assigned_events(
        changes=changes,
        actor=actor,
        new_team=team.name if team else None,
        new=assignee.display_name if assignee else None,
    )
    notices = _assignment_notices(tickets=tickets, actor=actor, assignee=assignee)
    if notices:
        notifications_enqueue_many(notices)


def _names(tickets: Sequence[Ticket], field_name: str, name: Callable[[Any], str]) -> dict[int, str]:
    """``{id: name}`` of a foreign key's targets over the batch: cached objects first, one query for the rest."""
    field: Any = Ticket._meta.get_field(field_name)  # a ForeignKey (its cache mixin is unknown to the stubs)
    names: dict[int, str] = {}
    missing: set[int] = set()
    for ticket in tickets:
        key = getattr(ticket, field.attname)
        if key is None or key in names:
            continue
        if field.is_cached(ticket):
            names[key] = name(getattr(ticket, field_name))
        else:
            missing.add(key)
    if missing:
        names.update({obj.pk: name(obj) for obj in field.related_model._default_manager.filter(pk__in=missing)})
    return names


def _last_actors(ticket_ids: list[int]) -> dict[int, User | None]:
    """Who last changed each ticket (its latest event's actor), for the conflict message: one query."""
    latest = TicketEvent.objects.filter(ticket_id__in=ticket_ids).values("ticket_id").annotate(last=Max("id"))
    return {
        event.ticket_id: event.actor
        for event in TicketEvent.objects.filter(pk__in=latest.values("last")).select_related("actor")
    }


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    actor: User,
    expected_version: int,
    status: str,
    priority: str,
    category: Category | None,
    team: Team | None,
    assignee: User | None,
) -> list[str]:
    """The workspace's one-form save: one version check for all properties, each change its own event.
    Returns the names of what changed. The transition, the status guards and the version are judged on the row as
    locked here, so a concurrent writer (e.g. the SLA sweep opening an escalation) is either seen or waits. Atomic:
    an invalid field saves nothing."""
    require_staff(actor)
    _lock_ticket(ticket)
    _check_transition(ticket=ticket, status=status)
    if priority not in Priority.values:
        raise ValidationError({"priority": f"Unknown priority {priority!r}."})
    _check_assignment(team=team, assignee=assignee)
    if status != ticket.status:
        status_guards_check(ticket=ticket, status=status, actor=actor)
    _bump_version(ticket=ticket, expected_version=expected_version)
    changed = []
    if _apply_priority(ticket=ticket, actor=actor, priority=priority):
        changed.append("priority")
    if _apply_category(ticket=ticket, actor=actor, category=category):
        changed.append("category")
    if _apply_assignment(ticket=ticket, actor=actor, team=team, assignee=assignee):
        changed.append("assignment")
    if status != ticket.status:
        _set_status(ticket=ticket, actor=actor, status=status, guards_checked=True)
        _notify_status(ticket=ticket, status=status)
        changed.append("status")
    return changed


@transaction.atomic
def user_set_availability(*, user: User, is_available: bool) -> User:
    """Mark a staff member away or available; away members get no automatic assignments. Atomic."""
    require_staff(user)
    user.is_available = is_available
    user.save(update_fields=["is_available"])
    return user


@transaction.atomic
def user_preferences_set(*, user: User, language: str, timezone_name: str) -> User:
    """Set the language (blank: the browser's) and time zone (blank: the organisation's, else the contact centre's)
    a user reads the product in. Atomic; an unsupported language or an unknown zone is refused by field."""
    import zoneinfo

    from helpdesk.locale import supported_language

    language = (language or "").strip()
    timezone_name = (timezone_name or "").strip()
    errors = {}
    if language and not supported_language(language):
        errors["language"] = _("Choose one of the languages offered.")
    if timezone_name:
        try:
            zoneinfo.ZoneInfo(timezone_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors["timezone"] = _("Choose a time zone from the list.")
    if errors:
        raise ValidationError(errors)
    user.language = language
    user.timezone = timezone_name
    user.save(update_fields=["language", "timezone"])
    return user


@transaction.atomic
def ticket_presence_touch(*, ticket: Ticket, user: User, typing: bool = False) -> bool:
    """Record that a staff member has the ticket's workspace open now (and is typing in it, with ``typing``).
    Idempotent (one row per ticket and user); not a ticket change, so no event and no version bump. When what the
    others see changes (a new viewer, or typing starts) their open workspaces are told after commit. Returns whether
    it changed. Atomic."""
    require_staff(user)
    now = timezone.now()
    before = TicketPresence.objects.filter(ticket=ticket, user=user).values("last_seen_at", "typing_at").first()
    TicketPresence.objects.update_or_create(
        ticket=ticket, user=user, defaults={"last_seen_at": now, **({"typing_at": now} if typing else {})}
    )
    was_viewing = before is not None and before["last_seen_at"] >= now - presence_window()
    was_typing = before is not None and before["typing_at"] is not None and before["typing_at"] >= now - typing_window()
    changed = not was_viewing or (typing and not was_typing)
    if changed:
        _presence_changed(ticket)
    return changed


def presence_window() -> timedelta:
    """A viewer counts for three poll intervals, so one slow or lost refresh does not make them vanish."""
    return timedelta(seconds=3 * settings.PRESENCE_POLL_SECONDS)


def typing_window() -> timedelta:
    return timedelta(seconds=settings.PRESENCE_TYPING_SECONDS)


def _presence_changed(ticket: Ticket) -> None:
    from helpdesk.live import LiveKind, live_publish

    live_publish(kind=LiveKind.PRESENCE, payload={"ticket": ticket.reference}, ticket=ticket)


def ticket_presence_enter(*, ticket_id: int, user_id: int) -> bool:
    """A workspace's push stream opened (helpdesk/live/hub.py): the same as a touch, by ids. Atomic."""
    ticket = Ticket.objects.get(pk=ticket_id)
    return ticket_presence_touch(ticket=ticket, user=User.objects.get(pk=user_id))


@transaction.atomic
def ticket_presence_leave(*, ticket_id: int, user_id: int) -> None:
    """The last stream of this user on the ticket closed: they stop counting at once. Atomic, idempotent."""
    deleted, _ = TicketPresence.objects.filter(ticket_id=ticket_id, user_id=user_id).delete()
    if deleted:
        _presence_changed(Ticket.objects.get(pk=ticket_id))


def ticket_presences_refresh(*, pairs: list[tuple[int, int]]) -> int:
    """Keep the presence of open streams fresh, ``(ticket id, user id)`` pairs, one UPDATE. Idempotent."""
    match = Q(pk__in=[])
    for ticket_id, user_id in pairs:
        match |= Q(ticket_id=ticket_id, user_id=user_id)
    return TicketPresence.objects.filter(match).update(last_seen_at=timezone.now())


# --- staff roles and teams -------------------------------------------------------------------------------------


@transaction.atomic
def staff_access_set(
    *,
    user: User,
    role: str,
    teams: Sequence[Team],
    actor: User | None,
    reason: str,
    request: HttpRequest | None = None,
) -> bool:
    """Give a staff member exactly this role and these team memberships (a lead keeps the lead flag of a team they
    stay in); Django admin access follows the administrator role. Only staff roles: nobody becomes a customer, and
    a superuser's powers are never changed here. Records ``ROLE_CHANGED`` when anything changed; a repeat is a no-op.
    Atomic. Returns whether anything changed."""
    if role not in STAFF_ROLES:
        raise ValidationError({"role": f"'{role}' is not a staff role."})
    locked = User.objects.select_for_update().get(pk=user.pk)
    old_role = locked.role
    old_team_ids = set(TeamMembership.objects.filter(user=locked).values_list("team_id", flat=True))
    new_team_ids = {team.pk for team in teams}
    is_staff = role == Role.ADMIN or locked.is_superuser
    if old_role == role and old_team_ids == new_team_ids and locked.is_staff == is_staff:
        return False
    old_names = sorted(Team.objects.filter(pk__in=old_team_ids).values_list("name", flat=True))
    User.objects.filter(pk=locked.pk).update(role=role, is_staff=is_staff)
    user.role, user.is_staff = role, is_staff
    TeamMembership.objects.filter(user=locked).exclude(team_id__in=new_team_ids).delete()
    TeamMembership.objects.bulk_create(
        [TeamMembership(team_id=team_id, user=locked) for team_id in sorted(new_team_ids - old_team_ids)]
    )
    audit.record(
        AuditAction.ROLE_CHANGED,
        actor=actor,
        target=locked,
        request=request,
        detail={
            "reason": reason,
            "old_role": old_role,
            "new_role": role,
            "old_teams": old_names,
            "new_teams": sorted(team.name for team in teams),
        },
    )
    return True
