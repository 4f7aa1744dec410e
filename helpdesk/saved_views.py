"""Saved views of the agent queue: a name over the queue's own URL state (filter + sort + visible columns).

A view is personal (its owner only) or a team view (every member of the team sees it in their navigation; the team's
leads and managers add, rename and delete it). The stored state is ``helpdesk.queue_state.queue_query_canonical``:
rebuilt from the validated filter form, so only allowlisted names and accepted values are ever stored, and a view is
opened by simply following ``/tickets/?<query>``, which the queue validates again.

Counts: ``saved_view_counts(user)`` counts every view's tickets in ONE query (a scalar COUNT subquery per view over
``tickets_visible_to(user)`` through the queue's own filter), plus one query for the views and at most one per
model-valued filter (category, team, assignee) to check the stored keys: at most 5 queries whatever the number of
views or tickets. A team view counts what *the viewer* may see, with "mine" meaning the viewer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Func, IntegerField, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.forms import ModelChoiceField
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.errors import Conflict, Invalid, NotAllowed, NotFound
from helpdesk.models import SavedView, Team, TeamMembership, TicketQuerySet, User
from helpdesk.queue_state import queue_filterset, queue_filterset_valid, queue_query_canonical
from helpdesk.services import require_staff
from helpdesk.text import single_line

NAME_MAX = 60
NAV_MAX_VIEWS = 30


def saved_views_visible_to(user: User) -> QuerySet[SavedView]:
    """The user's personal views and the views of their teams (staff only), personal first, then by name."""
    if not user.is_staff_member or not user.is_active:
        return SavedView.objects.none()
    return (
        SavedView.objects.filter(
            Q(owner_id=user.pk, team__isnull=True) | Q(team__in=TeamMembership.objects.filter(user=user).values("team"))
        )
        .select_related("team")
        .order_by(F("team__name").asc(nulls_first=True), "name", "pk")
    )


def saved_view_get_for_user(*, user: User, pk: int) -> SavedView:
    """Fetch-and-authorise: a view the user may not see is not found."""
    view = saved_views_visible_to(user).filter(pk=pk).first()
    if view is None:
        raise NotFound(_("No such saved view."))
    return view


def saved_view_teams_for(user: User) -> QuerySet[Team]:
    """The teams for which ``user`` may keep team views: every team for a manager, else the teams they lead."""
    if user.is_manager:
        return Team.objects.order_by("tier", "name")
    if not user.is_staff_member or not user.is_active:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user, memberships__is_lead=True).order_by("tier", "name")


def saved_views_manageable(*, user: User, views: list[SavedView]) -> set[int]:
    """The ids of ``views`` that ``user`` may rename, change and delete: a personal view its owner (staff), a team
    view the team's leads and managers (``saved_view_teams_for``). One query at most, whatever the number of views."""
    if not user.is_staff_member or not user.is_active:
        return set()
    team_ids = {view.team_id for view in views if view.team_id is not None}
    led = set(saved_view_teams_for(user).filter(pk__in=team_ids).values_list("pk", flat=True)) if team_ids else set()
    return {
        view.pk
        for view in views
        if (view.team_id is None and view.owner_id == user.pk) or (view.team_id is not None and view.team_id in led)
    }


def saved_view_may_manage(*, user: User, view: SavedView) -> bool:
    return view.pk in saved_views_manageable(user=user, views=[view])


def saved_view_tickets(*, user: User, view: SavedView) -> TicketQuerySet:
    """The tickets a view shows ``user`` now, in its sort: the queue's own filter (``queue_filterset``) over
    ``tickets_visible_to(user)``, so "mine" means the viewer and nothing hidden from them is ever in it. A stored
    state that no longer validates (its team was deleted ...) is ``Invalid``."""
    return queue_filterset_valid(user=user, data=QueryDict(view.query)).qs


def _clean_name(name: str) -> str:
    name = single_line(name)
    if not name:
        raise Invalid(_("Give the view a name."), extra={"field": "name"})
    if len(name) > NAME_MAX:
        raise Invalid(_("A view's name has at most %(max)d characters.") % {"max": NAME_MAX}, extra={"field": "name"})
    return name


def _duplicate(view: SavedView) -> Invalid:
    if view.team:
        words = _("%(team)s already has a view called “%(name)s”.") % {"team": view.team.name, "name": view.name}
    else:
        words = _("You already have a view called “%(name)s”.") % {"name": view.name}
    return Invalid(words, extra={"field": "name"})


def _save_unique(view: SavedView, **kwargs) -> None:
    try:
        with transaction.atomic():
            view.save(**kwargs)
    except IntegrityError:
        raise _duplicate(view) from None


@transaction.atomic
def saved_view_create(
    *, owner: User, name: str, query: QueryDict | Mapping[str, str], team: Team | None = None
) -> SavedView:
    """Save the queue state ``query`` under ``name``: personal, or for ``team`` (its leads and managers only). The
    query is validated and rebuilt from the queue's allowlist. Atomic."""
    require_staff(owner, to="save queue views")
    if team is not None and not saved_view_teams_for(owner).filter(pk=team.pk).exists():
        raise NotAllowed(
            _("Only the leads of %(team)s and managers can add a view for the team.") % {"team": team.name}
        )
    view = SavedView(
        owner=owner, team=team, name=_clean_name(name), query=queue_query_canonical(user=owner, data=query)
    )
    _save_unique(view)
    return view


def _require_manage(*, actor: User, view: SavedView) -> None:
    if not saved_view_may_manage(user=actor, view=view):
        if view.team_id is None:
            raise NotAllowed(_("Only its owner can change a personal view."))
        raise NotAllowed(
            _("Only the leads of %(team)s and managers can change the team's views.") % {"team": view.team.name}  # type: ignore[union-attr]
        )


class SavedViewConflict(Conflict):
    """The view changed since the caller read it. The API answers 412 (its If-Match precondition failed) with the
    current version."""

    status = 412

    def __init__(self, *, current: int, expected: int):
        super().__init__(
            f"This view was changed (version {current}) since you read version {expected}. Nothing was saved: "
            "read it again and retry.",
            extra={"current_version": current},
        )


@transaction.atomic
def saved_view_update(
    *,
    actor: User,
    view: SavedView,
    name: str | None = None,
    query: QueryDict | Mapping[str, str] | None = None,
    expected_version: int | None = None,
) -> SavedView:
    """Rename a view and/or replace its queue state (personal: its owner; team: the team's leads and managers).
    The query is validated and rebuilt from the queue's allowlist, as on creation. With ``expected_version``, a
    view changed since is refused (``SavedViewConflict``). Every change bumps the version. Atomic."""
    _require_manage(actor=actor, view=view)
    current = SavedView.objects.select_for_update().get(pk=view.pk)
    if expected_version is not None and current.version != expected_version:
        raise SavedViewConflict(current=current.version, expected=expected_version)
    fields = ["updated_at", "version"]
    if name is not None:
        view.name = _clean_name(name)
        fields.append("name")
    if query is not None:
        view.query = queue_query_canonical(user=actor, data=query)
        fields.append("query")
    view.updated_at = timezone.now()
    view.version = current.version + 1
    _save_unique(view, update_fields=fields)
    return view


def saved_view_rename(*, actor: User, view: SavedView, name: str) -> SavedView:
    """Rename a view: ``saved_view_update`` with a name only (the screen's rename form)."""
    return saved_view_update(actor=actor, view=view, name=name)


@transaction.atomic
def saved_view_delete(*, actor: User, view: SavedView) -> None:
    """Delete a view (personal: its owner; team: the team's leads and managers). Atomic."""
    _require_manage(actor=actor, view=view)
    view.delete()


# --- counts ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewCount:
    view: SavedView
    count: int | None  # None: the stored state no longer validates (e.g. its team was deleted)

    @property
    def url_query(self) -> str:
        return self.view.query


class _Count(Func):
    """COUNT(*) of a subquery's rows as a scalar: no GROUP BY, so exactly one row even when nothing matches."""

    function = "COUNT"
    template = "%(function)s(*)"
    output_field = IntegerField()

    def __init__(self):
        super().__init__()


def _primed_filterset(*, user: User, data: QueryDict, known: dict[str, dict[str, object]]):
    """``queue_filterset`` whose model choices (category, team, assignee) are looked up in ``known`` (loaded once
    for all the views) instead of one query per value; an unknown key still takes the real lookup, and fails."""
    filterset = queue_filterset(user=user, data=data)
    for name, field in filterset.form.fields.items():
        if isinstance(field, ModelChoiceField) and name in known:
            original = field.to_python

            def to_python(value, original=original, rows=known[name]):
                return rows[value] if value in rows else original(value)

            field.to_python = to_python  # type: ignore[method-assign]
    return filterset


def saved_view_counts(user: User, *, views: list[SavedView] | None = None) -> list[ViewCount]:
    """The user's views (``saved_views_visible_to``, at most ``NAV_MAX_VIEWS``; or the given ``views``, which the
    caller fetched through ``saved_view_get_for_user``) with the number of tickets each shows them now. The
    navigation and the API's ``count`` both call this. At most 5 queries whatever the number of views or tickets
    (see the module docstring)."""
    if views is None:
        views = list(saved_views_visible_to(user)[:NAV_MAX_VIEWS])
    if not views:
        return []
    states = {view.pk: QueryDict(view.query) for view in views}
    known: dict[str, dict[str, object]] = {}
    probe = queue_filterset(user=user, data={})
    for name, field in probe.form.fields.items():
        if not isinstance(field, ModelChoiceField):
            continue
        keys = {state[name] for state in states.values() if state.get(name, "").isdigit()}
        if keys and field.queryset is not None:
            known[name] = {str(row.pk): row for row in field.queryset.filter(pk__in=keys)}
    counts: dict[str, Coalesce] = {}
    for view in views:
        filterset = _primed_filterset(user=user, data=states[view.pk], known=known)
        if filterset.is_valid():
            rows = filterset.qs.order_by().annotate(n=_Count()).values("n")
            counts[f"v{view.pk}"] = Coalesce(Subquery(rows), 0)
    row = User.objects.filter(pk=user.pk).values(**counts).first() if counts else None
    values: dict[str, Any] = dict(row) if row else {}
    return [ViewCount(view=view, count=values.get(f"v{view.pk}")) for view in views]
