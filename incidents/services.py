"""Writes on major incidents. Every service is keyword-only; the ones that change one incident are atomic.

Tickets are only ever changed through the ticket core's services (``ticket_change_status``, ``ticket_reply``), so
the status machine, the status guards, the version, the timeline events and the outbox behave exactly as for a
change made by hand; a ticket one of them refuses is reported and the others go ahead (each in its own savepoint).

Holding the linked tickets: when an incident is acknowledged (it first reaches "identified" or "monitoring"), its
open linked tickets move to "Waiting on third party" (and every ticket linked later, at linking). That is the one
rule by which the SLA engine pauses a clock (the ticket's status is one of its policy's pause statuses), so the
clocks pause exactly when the policy's "pause on waiting on third party" option is on, and resume when the
resolution returns or resolves the ticket. No second pause rule exists for incidents.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, override

from helpdesk.errors import ApplicationError, Conflict
from helpdesk.locale import user_language
from helpdesk.models import OPEN_STATUSES, Category, Status, Ticket, User
from helpdesk.notifications import customer_message_render
from helpdesk.selectors import tickets_visible_to
from helpdesk.services import require_staff, ticket_change_status, ticket_reply
from helpdesk.text import single_line
from incidents import events
from incidents.models import (
    ACKNOWLEDGED_STATUSES,
    Incident,
    IncidentDelivery,
    IncidentLink,
    IncidentResolution,
    IncidentStatus,
    IncidentUpdate,
)

logger = logging.getLogger(__name__)

# What customers read for each status (templates/emails/incident_update.txt); never the internal description.
CUSTOMER_STATUS_WORDS = {
    IncidentStatus.INVESTIGATING: gettext_lazy("We are investigating the problem."),
    IncidentStatus.IDENTIFIED: gettext_lazy("We have found the cause and are working on a fix."),
    IncidentStatus.MONITORING: gettext_lazy("A fix is in place and we are watching it closely."),
    IncidentStatus.RESOLVED: gettext_lazy("The problem is fixed."),
}


class IncidentConflict(Conflict):
    """The incident is in a state that does not allow this (e.g. it is resolved)."""


def require_incident_manager(user: User | None, *, to: str = "manage major incidents") -> None:
    """Declaring, updating and resolving an incident is for tier 3 (managers) and administrators."""
    if user is None or not user.is_manager:
        raise PermissionDenied(f"Only managers can {to}.")


def _messages(exc: Exception) -> str:
    return " ".join(getattr(exc, "messages", None) or [str(exc)])


def _lock(incident: Incident) -> Incident:
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    for field in ("status", "acknowledged_at", "resolved_at", "resolved_by_id", "resolution"):
        setattr(incident, field, getattr(locked, field))
    return incident


# --- declare -----------------------------------------------------------------------------------------------------


@transaction.atomic
def incident_declare(
    *,
    actor: User,
    title: str,
    customer_message: str,
    description: str = "",
    category: Category | None = None,
    keywords: str = "",
    affected_since: datetime | None = None,
    status: str = IncidentStatus.INVESTIGATING,
) -> Incident:
    """Declare a major incident (managers only). Declared straight as "identified" or "monitoring", it is
    acknowledged at once. Atomic."""
    require_incident_manager(actor, to="declare a major incident")
    now = timezone.now()
    title = single_line(title)
    errors = {}
    if not title:
        errors["title"] = gettext("Give the incident a title.")
    if not (customer_message or "").strip():
        errors["customer_message"] = gettext("Write what customers will be told.")
    if status not in IncidentStatus.values or status == IncidentStatus.RESOLVED:
        errors["status"] = gettext("A new incident is investigating, identified or monitoring.")
    if affected_since is not None and affected_since > now:
        errors["affected_since"] = gettext("The problem cannot start in the future.")
    if errors:
        raise ValidationError(errors)
    incident = Incident.objects.create(
        title=title[:200],
        status=status,
        description=(description or "").strip(),
        customer_message=customer_message.strip(),
        category=category,
        keywords=single_line(keywords)[:200],
        affected_since=affected_since or now - timedelta(hours=settings.INCIDENT_DEFAULT_WINDOW_HOURS),
        declared_by=actor,
        declared_at=now,
        acknowledged_at=now if status in ACKNOWLEDGED_STATUSES else None,
    )
    return incident


# --- link --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkResult:
    """What ``incident_link_tickets`` did with one ticket: ``linked``, ``already_linked`` or ``refused`` (reason)."""

    ticket: Ticket
    outcome: str
    reason: str = ""

    LINKED = "linked"
    ALREADY_LINKED = "already_linked"
    REFUSED = "refused"


@transaction.atomic
def incident_link_tickets(*, incident: Incident, tickets: Sequence[Ticket], actor: User) -> list[LinkResult]:
    """Link tickets to an open incident (staff who can see them); batch-first: the workspace links one ticket
    through it, the suggestions and the bulk action many. Per ticket: linked, already linked, or refused with the
    reason (not visible, not open, in another open incident); the refused ones change nothing and the rest are
    linked. Linked to an acknowledged incident, a ticket is held at once (see the module docstring). Atomic."""
    require_staff(actor, to="link tickets to an incident")
    _lock(incident)
    if not incident.is_open:
        raise IncidentConflict(f"{incident.reference} is resolved: no ticket can be linked to it.")
    ids = [ticket.pk for ticket in tickets]
    visible = set(tickets_visible_to(actor).filter(pk__in=ids).values_list("pk", flat=True))
    active = dict(IncidentLink.objects.active().filter(ticket_id__in=ids).values_list("ticket_id", "incident_id"))
    results: list[LinkResult] = []
    to_link: list[Ticket] = []
    seen: set[int] = set()
    for ticket in tickets:
        if ticket.pk in seen:
            continue
        seen.add(ticket.pk)
        if ticket.pk not in visible:
            results.append(LinkResult(ticket, LinkResult.REFUSED, "No such ticket."))
        elif active.get(ticket.pk) == incident.pk:
            results.append(LinkResult(ticket, LinkResult.ALREADY_LINKED))
        elif ticket.pk in active:
            results.append(
                LinkResult(
                    ticket, LinkResult.REFUSED, f"Already linked to another open incident, INC-{active[ticket.pk]}."
                )
            )
        elif ticket.status not in OPEN_STATUSES:
            results.append(
                LinkResult(
                    ticket,
                    LinkResult.REFUSED,
                    gettext("The ticket is %(status)s.") % {"status": str(Status(ticket.status).label).lower()},
                )
            )
        else:
            to_link.append(ticket)
            results.append(LinkResult(ticket, LinkResult.LINKED))
    now = timezone.now()
    links = IncidentLink.objects.bulk_create(
        [
            IncidentLink(
                incident=incident, ticket=ticket, linked_by=actor, linked_at=now, previous_team_id=ticket.team_id
            )
            for ticket in to_link
        ]
    )
    for ticket in to_link:
        events.ticket_linked_to_incident_event(ticket=ticket, actor=actor, incident=incident)
    if incident.is_acknowledged and links:
        _hold(incident=incident, links=links, actor=actor, now=now)
    return results


def _hold(*, incident: Incident, links: Sequence[IncidentLink], actor: User, now: datetime) -> None:
    """Move the open linked tickets to "Waiting on third party" through the status service, remembering where each
    was. A ticket the status service refuses stays as it is (its link says why)."""
    held: list[IncidentLink] = []
    for link in links:
        ticket = link.ticket
        previous = ticket.status
        if previous not in OPEN_STATUSES or link.held_at is not None:
            continue
        try:
            with transaction.atomic():
                if previous != Status.PENDING_THIRD_PARTY:
                    ticket_change_status(ticket=ticket, actor=actor, status=Status.PENDING_THIRD_PARTY)
        except (ValidationError, ApplicationError) as exc:
            link.outcome = f"Not held: {_messages(exc)}"[:200]
        else:
            link.previous_status, link.held_at = previous, now
        held.append(link)
    IncidentLink.objects.bulk_update(held, ["previous_status", "held_at", "outcome"])


# --- status and updates ------------------------------------------------------------------------------------------


def _acknowledge(*, incident: Incident, actor: User, now: datetime) -> None:
    incident.acknowledged_at = now
    links = list(IncidentLink.objects.active().filter(incident=incident, held_at__isnull=True).select_related("ticket"))
    _hold(incident=incident, links=links, actor=actor, now=now)


@transaction.atomic
def incident_update_post(
    *,
    incident: Incident,
    actor: User,
    message: str,
    status: str | None = None,
    idempotency_key: str | None = None,
    deliver_later: bool = True,
) -> IncidentUpdate:
    """Post an update for the customers of every linked ticket (managers only), optionally moving the incident to a
    new status; reaching "identified" or "monitoring" the first time acknowledges it and holds its tickets. The
    replies are written by ``incident_update_deliver``: by the worker after commit (``deliver_later``), or by the
    caller, which then calls it itself. Idempotent per ``idempotency_key`` (the form's): a second
    submit returns the first update and changes nothing. Atomic."""
    require_incident_manager(actor, to="post an incident update")
    if idempotency_key:
        existing = IncidentUpdate.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    _lock(incident)
    if not incident.is_open:
        raise IncidentConflict(f"{incident.reference} is resolved: it takes no more updates.")
    status = status or incident.status
    message = (message or "").strip()
    errors = {}
    if not message:
        errors["message"] = gettext("Write the update for customers.")
    if status not in IncidentStatus.values or status == IncidentStatus.RESOLVED:
        errors["status"] = gettext("Resolve the incident with the resolve form.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    return _update_create(
        incident=incident,
        actor=actor,
        message=message,
        status=status,
        idempotency_key=idempotency_key,
        now=now,
        deliver_later=deliver_later,
    )


def _update_create(
    *,
    incident: Incident,
    actor: User,
    message: str,
    status: str,
    idempotency_key: str | None,
    now: datetime,
    deliver_later: bool,
) -> IncidentUpdate:
    if status in ACKNOWLEDGED_STATUSES and incident.acknowledged_at is None:
        _acknowledge(incident=incident, actor=actor, now=now)
    incident.status = status
    incident.save(update_fields=["status", "acknowledged_at"])
    fields = {"incident": incident, "author": actor, "status": status, "message": message, "created_at": now}
    if idempotency_key:
        fields["idempotency_key"] = idempotency_key
    try:
        with transaction.atomic():
            update = IncidentUpdate.objects.create(**fields)
    except IntegrityError:
        # A concurrent submit of the same form won the race: its update is the one.
        assert idempotency_key is not None  # only a given key can collide
        return IncidentUpdate.objects.get(idempotency_key=idempotency_key)
    if deliver_later:
        # robust: a broker outage must not fail the manager's request; the beat task delivers it instead.
        transaction.on_commit(lambda: _deliver_later(update.pk), robust=True)
    return update


def _deliver_later(update_id: int) -> None:
    from incidents.tasks import incident_update_deliver_task

    incident_update_deliver_task.delay(update_id)


def incident_update_body(*, update: IncidentUpdate, customer: User | None = None) -> str:
    """The customer's words of an update, from the customer-safe template: the status in plain words and the
    message written for customers; never the incident's internal description. In ``customer``'s language (the
    manager's own message stays as they wrote it)."""
    return customer_message_render(
        "incident_update.txt",
        {"status_words": CUSTOMER_STATUS_WORDS[IncidentStatus(update.status)], "message": update.message},
        to=customer,
    )


CLOSED_SKIP_REASON = "The ticket is closed: the customer opens a new request."


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int
    skipped: int
    pending: int


def incident_update_deliver(*, update: IncidentUpdate, batch_size: int = 50) -> DeliveryReport:
    """Reply once with the update on each ticket linked when it was posted, through the reply service (its event and
    the outbox row to the customer). Idempotent: each reply commits with its ``IncidentDelivery`` row, unique per
    update and ticket, so a re-run, a second worker or a retried task skips what was delivered. A ticket that
    takes no reply (closed) is recorded as skipped. Atomic per batch of ``batch_size`` tickets (each ticket in its own
    savepoint), not as a whole: an interrupted run resumes after the last committed batch."""
    author = update.author
    if author is None:  # the manager's account was deleted: the update is signed by no one and cannot be sent
        raise IncidentConflict(gettext("This update has no author any more and cannot be sent."))
    bodies: dict[str, str] = {}  # one rendering per customer language
    delivered = skipped = 0
    last = 0
    while True:
        batch = list(
            Ticket.objects.filter(
                incident_links__incident_id=update.incident_id,
                incident_links__linked_at__lte=update.created_at,
                pk__gt=last,
            )
            .exclude(pk__in=IncidentDelivery.objects.filter(update=update).values("ticket_id"))
            .select_related("customer", "team", "assignee")
            .order_by("pk")[:batch_size]
        )
        if not batch:
            break
        # One transaction per batch (the reply service's after-commit work, e.g. risk rescoring, then runs once for
        # the batch), one savepoint per ticket inside it: a refused ticket rolls back alone.
        with transaction.atomic():
            for ticket in batch:
                last = ticket.pk
                event, reason = None, ""
                try:
                    # The reply and its delivery row are written together or not at all.
                    with transaction.atomic():
                        if ticket.status == Status.CLOSED:
                            reason = CLOSED_SKIP_REASON  # the reply service refuses staff replies on closed tickets
                        else:
                            language = user_language(ticket.customer)
                            if language not in bodies:
                                bodies[language] = incident_update_body(update=update, customer=ticket.customer)
                            event = ticket_reply(ticket=ticket, author=author, body=bodies[language])
                        IncidentDelivery.objects.create(update=update, ticket=ticket, event=event, skipped=reason)
                except IntegrityError:
                    continue  # delivered meanwhile by another run
                except (ValidationError, PermissionDenied) as exc:
                    reason = _messages(exc)[:200]
                    IncidentDelivery.objects.get_or_create(update=update, ticket=ticket, defaults={"skipped": reason})
                if event is None:
                    skipped += 1
                else:
                    delivered += 1
    pending = (
        Ticket.objects.filter(
            incident_links__incident_id=update.incident_id, incident_links__linked_at__lte=update.created_at
        )
        .exclude(pk__in=IncidentDelivery.objects.filter(update=update).values("ticket_id"))
        .count()
    )
    if pending == 0 and update.delivered_at is None:
        update.delivered_at = timezone.now()
        IncidentUpdate.objects.filter(pk=update.pk, delivered_at__isnull=True).update(delivered_at=update.delivered_at)
    return DeliveryReport(delivered=delivered, skipped=skipped, pending=pending)


def incident_updates_deliver_pending(*, now: datetime | None = None, grace_seconds: int = 30) -> int:
    """The beat's safety net: deliver every update still not delivered ``grace_seconds`` after it was posted (its
    task was lost, or a worker died half-way). Idempotent. Returns the updates visited."""
    now = now or timezone.now()
    updates = IncidentUpdate.objects.filter(
        delivered_at__isnull=True, created_at__lte=now - timedelta(seconds=grace_seconds)
    ).select_related("author")
    count = 0
    for update in updates.order_by("pk"):
        incident_update_deliver(update=update)
        count += 1
    return count


# --- resolve -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseResult:
    ticket: Ticket
    outcome: str


@transaction.atomic
def incident_resolve(
    *,
    incident: Incident,
    actor: User,
    resolution: str,
    message: str = "",
    idempotency_key: str | None = None,
    deliver_later: bool = True,
) -> list[ReleaseResult]:
    """Resolve the incident (managers only) and release its tickets by the choice made now: ``resolve`` resolves each
    open linked ticket; ``return`` brings each held ticket back to the status it had (a new ticket comes back open)
    and leaves alone one whose status someone changed meanwhile. A ticket the status service refuses to resolve is
    returned instead, with the reason. With a message, a last update goes to the customers first. Each ticket
    through the ticket services; per-ticket outcomes returned. Atomic."""
    require_incident_manager(actor, to="resolve a major incident")
    _lock(incident)
    if not incident.is_open:
        raise IncidentConflict(f"{incident.reference} is already resolved.")
    if resolution not in IncidentResolution.values:
        raise ValidationError({"resolution": gettext("Choose whether to resolve the tickets or return them.")})
    now = timezone.now()
    message = (message or "").strip()
    if message:
        _update_create(
            incident=incident,
            actor=actor,
            message=message,
            status=IncidentStatus.RESOLVED,
            idempotency_key=idempotency_key,
            now=now,
            deliver_later=deliver_later,
        )
    incident.status = IncidentStatus.RESOLVED
    incident.resolved_at, incident.resolved_by, incident.resolution = now, actor, resolution
    incident.save(update_fields=["status", "resolved_at", "resolved_by", "resolution"])
    links = list(incident.links.active().select_related("ticket").order_by("pk"))
    results = []
    for link in links:
        outcome = _release(link=link, actor=actor, resolution=resolution)
        link.released_at, link.outcome = now, outcome[:200]
        events.ticket_released_from_incident_event(ticket=link.ticket, actor=actor, incident=incident, outcome=outcome)
        results.append(ReleaseResult(ticket=link.ticket, outcome=outcome))
    IncidentLink.objects.bulk_update(links, ["released_at", "outcome"])
    return results


def _release(*, link: IncidentLink, actor: User, resolution: str) -> str:
    """The release's outcome is stored on the link and written to the audit trail: one sentence in the product's
    language, status label included, whatever language the manager reads."""
    with override(settings.LANGUAGE_CODE):
        return _release_in_house_language(link=link, actor=actor, resolution=resolution)


def _release_in_house_language(*, link: IncidentLink, actor: User, resolution: str) -> str:
    ticket = link.ticket
    ticket.refresh_from_db()
    if ticket.status not in OPEN_STATUSES:
        return f"Left {Status(ticket.status).label.lower()}."
    refused = ""
    if resolution == IncidentResolution.RESOLVE:
        try:
            with transaction.atomic():
                ticket_change_status(ticket=ticket, actor=actor, status=Status.RESOLVED)
            return "Resolved."
        except (ValidationError, ApplicationError) as exc:
            refused = f"Not resolved: {_messages(exc)} "
            ticket.refresh_from_db()
    if link.held_at is None or ticket.status != Status.PENDING_THIRD_PARTY:
        return f"{refused}Left {Status(ticket.status).label.lower()}.".strip()
    back = Status.OPEN if link.previous_status in ("", Status.NEW) else link.previous_status
    if back == ticket.status:
        return f"{refused}Returned to {Status(back).label.lower()}.".strip()
    try:
        with transaction.atomic():
            ticket_change_status(ticket=ticket, actor=actor, status=back)
    except (ValidationError, ApplicationError) as exc:
        return f"{refused}Not returned: {_messages(exc)}".strip()
    return f"{refused}Returned to {Status(back).label.lower()}.".strip()
