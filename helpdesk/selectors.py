"""Reads, and the one authorisation layer for tickets.

``tickets_visible_to(user)`` is the only way any list, detail, search, export, count, notification or API reaches
tickets. Detail pages fetch through ``ticket_get_for_user`` and answer 404 on a miss, never 403, so that a
ticket's existence is not confirmed to someone who may not see it.

Rules:
- customers see their organisation's tickets (their own, if they have no organisation), never internal events;
- staff see every unrestricted ticket;
- a restricted (compliance) ticket is visible only to members of its team, tier 3 (managers) and admins, and on the
  customer side only to the customer who raised it (``ticket.customer``), never to the other contacts of the
  organisation: a data-protection request may be about a colleague.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import BooleanField, Case, Exists, OuterRef, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from helpdesk.models import (
    Attachment,
    Notification,
    NotificationChannel,
    NotificationQuerySet,
    Organization,
    ReplyTemplate,
    Role,
    TeamMembership,
    Ticket,
    TicketEvent,
    TicketPresence,
    TicketQuerySet,
    User,
)


def ticket_visibility_q(user: User) -> Q:
    """The visibility rule as a ``Q`` on Ticket, for use in querysets of Ticket."""
    return ticket_visibility_q_for(user, prefix="")


def ticket_visibility_q_for(user: User, *, prefix: str) -> Q:
    """The same rule, for a queryset of another model that reaches Ticket through ``prefix`` (e.g. ``ticket__``)."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_customer:
        own = Q(**{f"{prefix}customer_id": user.pk})
        if user.organization_id:
            # Colleagues share the organisation's requests, but a restricted one only reaches whoever raised it.
            return Q(**{f"{prefix}organization_id": user.organization_id}) & (Q(**{f"{prefix}restricted": False}) | own)
        return own
    if user.is_manager:
        return Q()
    if user.is_agent or user.is_specialist:
        my_team = TeamMembership.objects.filter(user_id=user.pk, team_id=OuterRef(f"{prefix}team_id"))
        return Q(**{f"{prefix}restricted": False}) | Q(Exists(my_team))
    return Q(pk__in=[])


def tickets_visible_to(user: User) -> TicketQuerySet:
    return Ticket.objects.filter(ticket_visibility_q(user))


def ticket_get_for_user(*, user: User, reference: str, for_update: bool = False) -> Ticket:
    """Fetch and authorise in one call; a miss (absent or invisible) is a 404."""
    qs = tickets_visible_to(user).with_list_related()
    if for_update:
        qs = qs.select_for_update(of=("self",))
    ticket = qs.filter(reference=reference).first()
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


def ticket_is_visible_to(*, user: User, ticket: Ticket) -> bool:
    return tickets_visible_to(user).filter(pk=ticket.pk).exists()


def ticket_events_visible_to(*, user: User, ticket: Ticket) -> QuerySet[TicketEvent]:
    """The timeline a user may see of a ticket they can see: customers get public events of a customer kind only
    (``TicketEventQuerySet.public``; the push to their screens uses the same rule, ``TicketEvent.customer_may_see``)."""
    events = TicketEvent.objects.filter(ticket=ticket).select_related("actor")
    if user.is_customer:
        events = events.public()
    return events


def attachments_visible_to(user: User) -> QuerySet[Attachment]:
    qs = Attachment.objects.filter(ticket_visibility_q_for(user, prefix="ticket__"))
    if user.is_customer:
        qs = qs.filter(is_public=True)
    return qs


def attachment_get_for_user(*, user: User, pk: int) -> Attachment:
    attachment = attachments_visible_to(user).select_related("ticket").filter(pk=pk).first()
    if attachment is None:
        raise Http404("No such attachment.")
    return attachment


def users_who_can_see(*, ticket: Ticket, users) -> list[User]:
    """Filter candidate recipients through the same visibility rule as the detail page."""
    return ticket_audiences(ticket_ids=[ticket.pk], users=users)[ticket.pk]


def ticket_audiences(*, ticket_ids: Iterable[int], users: Iterable[User], chunk: int = 100) -> dict[int, list[User]]:
    """Who of ``users`` may see each ticket, by the rule of ``tickets_visible_to`` (each user's own
    ``ticket_visibility_q``). Users the rule cannot tell apart (``_visibility_key``: a floor of agents of one team) are
    asked once, through one of them; the rule runs as one query per ``chunk`` such users whatever the number of
    tickets: a column per user, a row per ticket. Inactive users see nothing. Push and notifications use it."""
    ids = list(dict.fromkeys(ticket_ids))
    audiences: dict[int, list[User]] = {pk: [] for pk in ids}
    active = [user for user in dict.fromkeys(users) if user.is_active]
    if not ids or not active:
        return audiences
    teams: dict[int, set[int]] = {}
    staff = [user.pk for user in active if user.is_agent or user.is_specialist]
    for user_id, team_id in TeamMembership.objects.filter(user_id__in=staff).values_list("user_id", "team_id"):
        teams.setdefault(user_id, set()).add(team_id)
    alike: dict[tuple, list[User]] = {}
    for user in active:
        alike.setdefault(_visibility_key(user, teams), []).append(user)
    representatives = [group[0] for group in alike.values()]
    for start in range(0, len(representatives), chunk):
        part = representatives[start : start + chunk]
        columns = {f"sees_{index}": _sees(user) for index, user in enumerate(part)}
        rows = Ticket.objects.filter(pk__in=ids).annotate(**columns).values_list("pk", *columns)
        for pk, *flags in rows:
            for user, sees in zip(part, flags, strict=True):
                if sees:
                    audiences[pk].extend(alike[_visibility_key(user, teams)])
    order = {user.pk: index for index, user in enumerate(active)}
    for members in audiences.values():
        members.sort(key=lambda user: order[user.pk])
    return audiences


def _visibility_key(user: User, teams: dict[int, set[int]]) -> tuple:
    """Everything ``ticket_visibility_q_for`` reads of a user: two users with the same key see the same tickets.
    Change it with the rule (tests/helpdesk/test_live.py compares ``ticket_audiences`` with ``tickets_visible_to``
    user by user)."""
    if user.is_customer:
        return ("customer", user.pk, user.organization_id)
    if user.is_manager:
        return ("manager",)
    if user.is_agent or user.is_specialist:
        return ("team member", frozenset(teams.get(user.pk, ())))
    return ("nobody",)


def _sees(user: User) -> Case | Value:
    rule = ticket_visibility_q(user)
    if not rule:  # Q(): every ticket (an empty Q cannot be a When condition)
        return Value(True, output_field=BooleanField())
    return Case(When(rule, then=Value(True)), default=Value(False), output_field=BooleanField())


def notifications_visible_to(user: User) -> NotificationQuerySet:
    """The in-app list: my notifications, minus those about tickets I may no longer see."""
    if not user.is_authenticated:
        return Notification.objects.none()
    mine = Notification.objects.filter(recipient=user, channel=NotificationChannel.IN_APP)
    # The ticket rule applied to each notification's own ticket (a join), not "ticket in (every ticket I may see)":
    # the bell's count on every page then reads my few notifications, never the whole ticket table.
    rule = ticket_visibility_q_for(user, prefix="ticket__")
    return mine.filter(Q(ticket__isnull=True) | rule) if rule else mine


def notification_unread_count(user: User) -> int:
    return notifications_visible_to(user).unread().count()


def organizations_visible_to(user: User) -> QuerySet[Organization]:
    """Staff see every customer organisation (the workspace shows any ticket's customer); a customer sees their
    own. Nothing here counts or lists tickets, so no restricted ticket shows through an organisation."""
    if not user.is_authenticated or not user.is_active:
        return Organization.objects.none()
    if user.is_staff_member:
        return Organization.objects.select_related("plan")
    if user.is_customer and user.organization_id:
        return Organization.objects.select_related("plan").filter(pk=user.organization_id)
    return Organization.objects.none()


def contacts_visible_to(user: User) -> QuerySet[User]:
    """The customers (contacts of organisations) staff may look up; customers look up nobody."""
    if not user.is_authenticated or not user.is_active or not user.is_staff_member:
        return User.objects.none()
    return User.objects.filter(role=Role.CUSTOMER).select_related("organization")


# --- screens: queue pages, workspace side data -----------------------------------------------------------------


def tickets_in_order(*, ids: list[int], related: tuple[str, ...] = ()) -> list[Ticket]:
    """The list rows of a page of ticket ids, in the order of ``ids`` (one query, whatever the page size), with the
    ``related`` rows that contributed queue columns read joined in."""
    rows = Ticket.objects.with_list_related().select_related(*related).in_bulk(ids)
    return [rows[pk] for pk in ids if pk in rows]


def ticket_other_tickets(*, user: User, ticket: Ticket, limit: int = 10) -> QuerySet[Ticket]:
    """The same customer's other tickets that the user may see, newest first."""
    return (
        tickets_visible_to(user)
        .filter(customer_id=ticket.customer_id)
        .exclude(pk=ticket.pk)
        .order_by("-created_at")[:limit]
    )


def reply_templates_for(*, ticket: Ticket) -> QuerySet[ReplyTemplate]:
    """Active canned responses for the ticket's category, plus the general ones."""
    return ReplyTemplate.objects.active().for_category(ticket.category_id).select_related("category")


def reply_template_render(*, template: ReplyTemplate, ticket: Ticket, agent: User) -> str:
    """Fill a template's variables by plain string replacement (no template engine: nothing else is reachable).
    The result is plain text; it is escaped wherever it is shown."""
    text = template.body
    for name, value in reply_template_variables(ticket=ticket, agent=agent).items():
        text = text.replace("{{" + name + "}}", value).replace("{{ " + name + " }}", value)
    return text


REPLY_TEMPLATE_VARIABLES = (
    "customer_name",
    "customer_first_name",
    "organization_name",
    "ticket_reference",
    "ticket_subject",
    "agent_name",
    "plan_name",
)


def reply_template_variables(*, ticket: Ticket, agent: User) -> dict[str, str]:
    customer = ticket.customer
    return {
        "customer_name": customer.display_name,
        "customer_first_name": customer.first_name or customer.display_name,
        "organization_name": ticket.organization.name,
        "ticket_reference": ticket.reference,
        "ticket_subject": ticket.subject,
        "agent_name": agent.display_name,
        "plan_name": ticket.organization.plan.name,
    }


@dataclass(frozen=True)
class Viewer:
    user: User
    typing: bool

    @property
    def display_name(self) -> str:
        return self.user.display_name


def ticket_viewers(*, ticket: Ticket, exclude: User | None = None, now: datetime | None = None) -> list[Viewer]:
    """Staff who had the ticket's workspace open within the presence window: three poll intervals
    (``PRESENCE_POLL_SECONDS``), so one slow or lost refresh does not make a viewer vanish; ``typing`` when they typed
    in its reply or note box within ``PRESENCE_TYPING_SECONDS``."""
    now = now or timezone.now()
    window = timedelta(seconds=3 * settings.PRESENCE_POLL_SECONDS)
    typing_since = now - timedelta(seconds=settings.PRESENCE_TYPING_SECONDS)
    presences = TicketPresence.objects.filter(ticket=ticket, last_seen_at__gte=now - window).select_related("user")
    if exclude is not None:
        presences = presences.exclude(user=exclude)
    return [
        Viewer(user=presence.user, typing=presence.typing_at is not None and presence.typing_at >= typing_since)
        for presence in presences.order_by("user__first_name", "user__username")
    ]
