"""Ticket tags: staff labels ("outage-eu", "vip") that the queue shows, filters on (``?tag=<slug>``) and adds in bulk.

One rule, one home: the workspace's add/remove and the queue's "Add a tag" bulk action all call the batch-first
services below (the workspace with a batch of one). Per batch they cost a constant number of queries whatever its
size: the tag (locked, so two concurrent adds of one tag cannot both think they added it), the visible tickets, the
tickets already tagged, one insert of the links (``ignore_conflicts`` on the unique pair) and one insert of the
timeline events — one ``TAGGED``/``UNTAGGED`` event per ticket that changed, none for a ticket that already had (or
never had) the tag. Tags are internal: their events are never public and customers never see a tag.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from helpdesk.errors import Invalid, NotFound
from helpdesk.models import TAG_NAME_MAX, EventKind, Tag, Ticket, TicketEvent, TicketTag, User
from helpdesk.selectors import tickets_visible_to
from helpdesk.services import require_staff
from helpdesk.signals import ticket_event_recorded
from helpdesk.text import single_line


class TagOutcome(enum.StrEnum):
    TAGGED = "tagged"
    ALREADY_TAGGED = "already_tagged"
    UNTAGGED = "untagged"
    NOT_TAGGED = "not_tagged"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class TagResult:
    ticket: Ticket
    outcome: TagOutcome

    @property
    def changed(self) -> bool:
        return self.outcome in (TagOutcome.TAGGED, TagOutcome.UNTAGGED)


def tag_name_normalise(name: str | None) -> str:
    """The tag name as stored: one line, trimmed, at most ``TAG_NAME_MAX`` characters (else ``Invalid``)."""
    cleaned = single_line(name)
    if not cleaned:
        raise Invalid(_("Give the tag a name."), extra={"field": "name"})
    if len(cleaned) > TAG_NAME_MAX:
        raise Invalid(
            _("A tag name is at most %(max)d characters (this one has %(length)d).")
            % {"max": TAG_NAME_MAX, "length": len(cleaned)},
            extra={"field": "name"},
        )
    return cleaned


def _tag_locked(name: str, *, create: bool) -> Tag | None:
    """The tag named ``name`` whatever its case, locked for this transaction; created first if ``create``."""
    tag = Tag.objects.select_for_update().filter(name__iexact=name).first()
    if tag is not None or not create:
        return tag
    base = slugify(name, allow_unicode=True)[:50] or "tag"
    taken = set(Tag.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:  # "C++" and "C" both slugify to "c"
        slug, n = f"{base}-{n}", n + 1
    try:
        with transaction.atomic():
            Tag.objects.create(name=name, slug=slug)
    except IntegrityError:
        pass  # created meanwhile by someone else: use theirs
    return Tag.objects.select_for_update().get(name__iexact=name)


def _visible(tickets: Sequence[Ticket], actor: User) -> tuple[list[Ticket], set[int]]:
    unique = list({ticket.pk: ticket for ticket in tickets}.values())
    visible = set(tickets_visible_to(actor).filter(pk__in=[t.pk for t in unique]).values_list("pk", flat=True))
    return unique, visible


def _events(*, tickets: Sequence[Ticket], kind: str, actor: User, tag: Tag) -> None:
    now = timezone.now()
    written = TicketEvent.objects.bulk_create(
        [
            TicketEvent(
                ticket=ticket,
                kind=kind,
                actor=actor,
                is_public=False,
                data={"tag": tag.name, "slug": tag.slug},
                created_at=now,
            )
            for ticket in tickets
        ]
    )
    # The same signal as ``helpdesk.events.event_record``, so listeners (live screens, reports) see each change.
    for event, ticket in zip(written, tickets, strict=True):
        ticket_event_recorded.send(sender=TicketEvent, event=event, ticket=ticket)


@transaction.atomic
def tickets_tag_add(*, tickets: Sequence[Ticket], name: str, actor: User) -> list[TagResult]:
    """Tag each ticket with ``name`` (the tag is created if missing). Staff only; a ticket the actor may not see is
    ``NOT_FOUND`` and untouched; one already tagged is ``ALREADY_TAGGED`` and gets no event. Constant queries."""
    require_staff(actor, to="tag tickets")
    name = tag_name_normalise(name)
    tag = _tag_locked(name, create=True)
    assert tag is not None
    unique, visible = _visible(tickets, actor)
    already = set(TicketTag.objects.filter(tag=tag, ticket_id__in=list(visible)).values_list("ticket_id", flat=True))
    results = [
        TagResult(
            ticket,
            TagOutcome.NOT_FOUND
            if ticket.pk not in visible
            else TagOutcome.ALREADY_TAGGED
            if ticket.pk in already
            else TagOutcome.TAGGED,
        )
        for ticket in unique
    ]
    to_tag = [r.ticket for r in results if r.outcome == TagOutcome.TAGGED]
    now = timezone.now()
    TicketTag.objects.bulk_create(
        [TicketTag(ticket=ticket, tag=tag, added_by=actor, added_at=now) for ticket in to_tag], ignore_conflicts=True
    )
    _events(tickets=to_tag, kind=EventKind.TAGGED, actor=actor, tag=tag)
    return results


@transaction.atomic
def tickets_tag_remove(*, tickets: Sequence[Ticket], name: str, actor: User) -> list[TagResult]:
    """Take the tag ``name`` off each ticket. Staff only; ``NOT_FOUND`` for a ticket the actor may not see,
    ``NOT_TAGGED`` (no event) for one without the tag. Constant queries."""
    require_staff(actor, to="tag tickets")
    name = tag_name_normalise(name)
    tag = _tag_locked(name, create=False)
    unique, visible = _visible(tickets, actor)
    if tag is None:
        return [TagResult(t, TagOutcome.NOT_TAGGED if t.pk in visible else TagOutcome.NOT_FOUND) for t in unique]
    links = TicketTag.objects.filter(tag=tag, ticket_id__in=list(visible))
    had = set(links.values_list("ticket_id", flat=True))
    links.delete()
    results = [
        TagResult(
            t,
            TagOutcome.NOT_FOUND
            if t.pk not in visible
            else TagOutcome.UNTAGGED
            if t.pk in had
            else TagOutcome.NOT_TAGGED,
        )
        for t in unique
    ]
    _events(tickets=[r.ticket for r in results if r.changed], kind=EventKind.UNTAGGED, actor=actor, tag=tag)
    return results


def ticket_tag_add(*, ticket: Ticket, name: str, actor: User) -> bool:
    """The workspace's add: a batch of one. True if the tag was added; ``NotFound`` if the actor may not see it."""
    return _one(tickets_tag_add(tickets=[ticket], name=name, actor=actor))


def ticket_tag_remove(*, ticket: Ticket, name: str, actor: User) -> bool:
    """The workspace's remove: a batch of one. True if the tag was on the ticket."""
    return _one(tickets_tag_remove(tickets=[ticket], name=name, actor=actor))


def _one(results: list[TagResult]) -> bool:
    (result,) = results
    if result.outcome == TagOutcome.NOT_FOUND:
        raise NotFound("No such ticket.")
    return result.changed
