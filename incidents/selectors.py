"""Reads on major incidents. Tickets are reached only through ``tickets_visible_to``: a ticket the viewer may not
see is never listed, suggested or counted for them."""

from __future__ import annotations

import re
from datetime import datetime

from django.db.models import Count, F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from helpdesk.models import Ticket, TicketQuerySet, User
from helpdesk.selectors import tickets_visible_to
from incidents.models import Incident, IncidentLink, IncidentQuerySet, IncidentUpdate

# Words too common in ticket subjects to say anything about an outage.
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "at",
        "be",
        "but",
        "by",
        "can",
        "cannot",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "not",
        "of",
        "on",
        "or",
        "our",
        "the",
        "this",
        "to",
        "was",
        "we",
        "with",
        "since",
        "after",
        "before",
        "all",
        "any",
        "very",
    ]
)
MIN_WORD_LENGTH = 4


def incident_match_words(incident: Incident) -> list[str]:
    """The subject words an incident suggests tickets by: its keywords, else the words of its title (four letters
    or more, common words left out)."""
    source = incident.keywords or incident.title
    words = [w.lower() for w in re.findall(r"[\w-]+", source)]
    return sorted({w for w in words if len(w) >= MIN_WORD_LENGTH and w not in _STOPWORDS})


def incidents_for_staff(user: User) -> IncidentQuerySet:
    """Incidents are internal records: every staff member reads them, no customer does."""
    if not user.is_authenticated or not user.is_staff_member:
        return Incident.objects.none()
    return Incident.objects.all()


def incident_get_for_user(*, user: User, pk: int) -> Incident:
    incident = incidents_for_staff(user).select_related("category", "declared_by", "resolved_by").filter(pk=pk).first()
    if incident is None:
        raise Http404("No such incident.")
    return incident


def incidents_open_with_counts(*, user: User) -> list[Incident]:
    """Open incidents, newest first, each with ``linked_count``: its linked tickets the user may see."""
    visible = tickets_visible_to(user).values("pk")
    return list(
        incidents_for_staff(user)
        .open()
        .annotate(
            linked_count=Count(
                "links", filter=Q(links__released_at__isnull=True, links__ticket_id__in=visible), distinct=True
            )
        )
        .order_by("-declared_at", "-id")
    )


def incident_tickets_visible_to(*, incident: Incident, user: User) -> TicketQuerySet:
    """The incident's tickets (linked now or, once resolved, when it was open) that the user may see."""
    return tickets_visible_to(user).filter(incident_links__incident=incident)


def incident_suggestions(
    *, incident: Incident, user: User, now: datetime | None = None, limit: int = 200
) -> TicketQuerySet:
    """Open tickets the user may see, arrived within the incident's window (from ``affected_since`` to now or its
    resolution), whose subject has one of the incident's words or whose category is the incident's, and that belong
    to no open incident. Oldest first."""
    now = now or timezone.now()
    end = incident.resolved_at or now
    match = Q()
    for word in incident_match_words(incident):
        match |= Q(subject__icontains=word)
    if incident.category_id:
        match |= Q(category_id=incident.category_id)
    if not match:
        return Ticket.objects.none()
    in_incident = IncidentLink.objects.active().values("ticket_id")
    return (
        tickets_visible_to(user)
        .open()
        .filter(match, created_at__gte=incident.affected_since, created_at__lte=end)
        .exclude(pk__in=in_incident)
        .with_list_related()
        .order_by("created_at", "pk")[:limit]
    )


def incident_for_ticket(*, ticket: Ticket) -> IncidentLink | None:
    """The ticket's link to the open incident it belongs to (or the most recent one it belonged to), if any."""
    return (
        IncidentLink.objects.filter(ticket=ticket)
        .select_related("incident")
        .order_by(F("released_at").desc(nulls_first=True), "-linked_at")
        .first()
    )


def incident_updates(*, incident: Incident) -> QuerySet[IncidentUpdate]:
    return (
        incident.updates.select_related("author")
        .annotate(
            delivered_count=Count("deliveries", filter=Q(deliveries__event__isnull=False)),
            skipped_count=Count("deliveries", filter=Q(deliveries__event__isnull=True)),
        )
        .order_by("-created_at", "-id")
    )


def incidents_open_for_linking() -> QuerySet[Incident]:
    return Incident.objects.open().order_by("-declared_at")
