"""Bulk actions on the agent queue: select rows (or every ticket matching the queue's filter), choose an action,
confirm, and read per ticket what was done and what was refused and why.

Who and which tickets: the selection is always resolved here, server-side, through ``tickets_visible_to(actor)``;
"all matching" is the queue's own filter (``helpdesk.queue_state.queue_filterset``). Ids the browser sent that the
actor may not see are refused as "not found" (the same answer as a detail page's 404), never acted on.

How: each action is a small registry entry (``bulk_action_register``) whose ``run`` takes the whole batch, so an app
with a set-based batch service (e.g. linking tickets to a major incident) plugs it in directly. "Assign" is
set-based: one call of the batch-first ``services.ticket_assign_many`` (the workspace's ``ticket_assign`` is the same
function with one ticket), so the guards, version checks, permission checks, events and outbox rows are the
workspace's and a run costs a constant number of queries whatever its size. The other core actions wrap their
single-ticket services (``ticket_change_status``, ``ticket_change_priority``, ``ticket_update``, ``ticket_reply``)
with ``each_ticket``: one call per ticket, each in its own savepoint, so one refusal undoes nothing else. The whole
run is one transaction with its ``BulkActionRun`` record: either the report and every done ticket are committed
together, or (a crash) nothing is.

Sync or async: a run is synchronous, capped at ``BULK_MAX_TICKETS`` (500; a larger selection is refused with a
message asking to narrow the filter). Assign costs 21 queries for 10 or 500 tickets (``bench/bulk_assign.py``); the
per-ticket actions a constant 9 plus at most a dozen per ticket, because status, priority and category changes
recompute each ticket's SLA clocks (the SLA engine's per-ticket reaction to their events) and a status change runs
its guards and the customer's message per ticket. A Celery task would only add a progress page and a second place
for the same transaction to fail.

"Add a tag" is set-based: its ``run`` calls the batch-first ``helpdesk.tags.tickets_tag_add`` once for the whole
batch (constant queries), the same service the workspace calls for one ticket.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk import services, tags
from helpdesk.admin_services import REFUSALS, refusal_text
from helpdesk.errors import ApplicationError, Invalid, NotAllowed, NotFound
from helpdesk.filters import queue_related
from helpdesk.models import BulkActionRun, Category, Priority, ReplyTemplate, Status, Team, Ticket, User
from helpdesk.queue_state import queue_filterset_valid
from helpdesk.selectors import reply_template_render, reply_templates_for, tickets_in_order, tickets_visible_to

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

BULK_MAX_TICKETS = 500
NOT_FOUND = gettext_lazy("Not found, or you may not see it.")


@dataclass(frozen=True)
class TicketOutcome:
    """What happened to one ticket: ``done`` with what was done, or refused with why (in the service's words)."""

    ticket_id: int
    reference: str
    done: bool
    text: str


@dataclass
class BulkSelection:
    """The tickets to act on (in queue order), the version the user saw of each, and ids that resolved to nothing."""

    tickets: list[Ticket]
    versions: dict[int, int]
    missing: list[int] = field(default_factory=list)


class BulkParamsForm(forms.Form):
    """An action's parameters; built with the acting user (``actor=``) so that choices can depend on who acts."""

    def __init__(self, *args, actor: User, **kwargs):
        self.actor = actor
        super().__init__(*args, **kwargs)


BulkRun = Callable[..., list[TicketOutcome]]  # run(*, tickets, versions, actor, params) -> one outcome per ticket


@dataclass(frozen=True)
class BulkAction:
    """A bulk action. ``form_class`` asks for its parameters (built with ``actor=``); ``run`` acts on the batch;
    ``describe(params)`` names the run for the report ("Assign to Frontline"); ``allowed(actor)`` is a role
    predicate (staff by default)."""

    name: str
    label: StrOrPromise  # lazy, so each user reads it in their own language
    form_class: type[BulkParamsForm]
    run: BulkRun
    describe: Callable[[dict[str, Any]], str]
    allowed: Callable[[User], bool] = lambda user: user.is_staff_member
    order: int = 100


_ACTIONS: dict[str, BulkAction] = {}


def bulk_action_register(action: BulkAction) -> None:
    """Add (or replace) a bulk action; other apps call this from ``AppConfig.ready()``."""
    _ACTIONS[action.name] = action


def bulk_actions_for(user: User) -> list[BulkAction]:
    return sorted((a for a in _ACTIONS.values() if a.allowed(user)), key=lambda a: (a.order, a.name))


def _not_allowed(action: BulkAction) -> str:
    return _("You may not %(action)s in bulk.") % {"action": str(action.label).lower()}


def bulk_action_get(*, user: User, name: str) -> BulkAction:
    action = _ACTIONS.get(name)
    if action is None:
        raise Invalid(_("Choose an action."), extra={"field": "action"})
    if not action.allowed(user):
        raise NotAllowed(_not_allowed(action), extra={"field": "action"})
    return action


def each_ticket(apply: Callable[..., str], *, refusals: tuple[type[Exception], ...] = ()) -> BulkRun:
    """A batch runner over a single-ticket service call: ``apply(ticket=, actor=, expected_version=, params=)``
    returns what it did in words. Each call runs in its own savepoint; a refusal (``REFUSALS``, any
    ``ApplicationError`` or the given types) rolls back that ticket only and is reported in the service's words."""
    caught: tuple[type[Exception], ...] = (*REFUSALS, ApplicationError, *refusals)

    def run(
        *, tickets: Sequence[Ticket], versions: Mapping[int, int], actor: User, params: dict
    ) -> list[TicketOutcome]:
        outcomes = []
        for ticket in tickets:
            try:
                with transaction.atomic():
                    text = apply(ticket=ticket, actor=actor, expected_version=versions.get(ticket.pk), params=params)
            except caught as exc:
                outcomes.append(TicketOutcome(ticket.pk, ticket.reference, False, refusal_text(exc)))
            else:
                outcomes.append(TicketOutcome(ticket.pk, ticket.reference, True, text))
        return outcomes

    return run


# --- selection -------------------------------------------------------------------------------------------------


def parse_selected(values: Sequence[str]) -> dict[int, int | None]:
    """Row checkboxes carry ``<id>:<version the user saw>`` (a bare id means "whatever version is current")."""
    selected: dict[int, int | None] = {}
    for value in values:
        pk, _colon, version = value.partition(":")
        if not pk.isdigit() or (version and not version.isdigit()):
            raise Invalid(_("The selection is not valid: reload the queue and select the tickets again."))
        selected[int(pk)] = int(version) if version else None
    return selected


def bulk_selection_resolve(
    *, actor: User, selected: Mapping[int, int | None] | None = None, query: QueryDict | Mapping[str, str] | None = None
) -> BulkSelection:
    """The tickets a bulk action will touch: the selected ids, or every ticket matching the queue ``query`` (when
    ``selected`` is None), always among ``tickets_visible_to(actor)``. Two queries. Refuses an empty or too large
    selection with ``Invalid``."""
    if selected is None:
        filterset = queue_filterset_valid(user=actor, data=query or {})
        ids = list(filterset.qs.values_list("pk", flat=True)[: BULK_MAX_TICKETS + 1])
        versions: dict[int, int | None] = dict.fromkeys(ids)
        missing: list[int] = []
    else:
        versions = dict(selected)
        ids = list(tickets_visible_to(actor).filter(pk__in=list(versions)).order_by("pk").values_list("pk", flat=True))
        missing = sorted(set(versions) - set(ids))
    if not ids and not missing:
        raise Invalid(_("No tickets selected."))
    if len(ids) > BULK_MAX_TICKETS:
        raise Invalid(
            f"A bulk action takes at most {BULK_MAX_TICKETS} tickets; this selection has more. Narrow the filter."
        )
    tickets = tickets_in_order(ids=ids, related=queue_related())
    return BulkSelection(
        tickets=tickets,
        versions={t.pk: v if (v := versions[t.pk]) is not None else t.version for t in tickets},
        missing=missing,
    )


# --- running ---------------------------------------------------------------------------------------------------


@transaction.atomic
def bulk_action_run(
    *, actor: User, action: BulkAction, selection: BulkSelection, params: dict[str, Any], token: uuid.UUID
) -> BulkActionRun:
    """Run ``action`` over the selection and record its per-ticket report. Atomic (each ticket in its own
    savepoint). Idempotent per ``token``: the same form submitted twice returns the first run and does nothing."""
    services.require_staff(actor, to="act on tickets in bulk")
    if not action.allowed(actor):
        raise NotAllowed(_not_allowed(action))
    existing = BulkActionRun.objects.filter(token=token, actor=actor).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            run = BulkActionRun.objects.create(token=token, actor=actor, action=action.name, label="")
    except IntegrityError:
        # The same token from someone else (or a concurrent double submit, now committed): never run twice.
        raise Invalid(_("This bulk action was already submitted.")) from None
    outcomes = action.run(tickets=selection.tickets, versions=selection.versions, actor=actor, params=params)
    outcomes += [
        TicketOutcome(pk, _("Ticket id %(pk)s") % {"pk": pk}, False, str(NOT_FOUND)) for pk in selection.missing
    ]
    done = [o for o in outcomes if o.done]
    refused = [o for o in outcomes if not o.done]
    run.label = action.describe(params)[:200]
    run.done_count, run.refused_count = len(done), len(refused)
    run.report = {
        "done": [{"reference": o.reference, "text": o.text} for o in done],
        "refused": [{"reference": o.reference, "text": o.text} for o in refused],
    }
    run.save(update_fields=["label", "done_count", "refused_count", "report"])
    return run


def bulk_run_get_for_user(*, user: User, pk: int) -> BulkActionRun:
    """A run's report, for the person who ran it only (anyone else: not found)."""
    run = BulkActionRun.objects.filter(pk=pk, actor=user).first()
    if run is None:
        raise NotFound("No such bulk action.")
    return run


# --- the core's actions ----------------------------------------------------------------------------------------


def _staff_queryset():
    return User.objects.exclude(role="customer").filter(is_active=True).order_by("first_name", "last_name", "username")


class AssignParams(BulkParamsForm):
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("tier", "name"), label=gettext_lazy("Team"))
    assignee = forms.ModelChoiceField(
        queryset=_staff_queryset(),
        required=False,
        label=gettext_lazy("Assignee"),
        empty_label=gettext_lazy("Nobody (the team's queue)"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].label_from_instance = lambda team: team.name


class StatusParams(BulkParamsForm):
    status = forms.ChoiceField(choices=Status.choices, label=gettext_lazy("New status"))


class PriorityParams(BulkParamsForm):
    priority = forms.ChoiceField(choices=Priority.choices, label=gettext_lazy("New priority"))


class CategoryParams(BulkParamsForm):
    category = forms.ModelChoiceField(queryset=Category.objects.order_by("name"), label=gettext_lazy("New category"))


class ReplyParams(BulkParamsForm):
    template = forms.ModelChoiceField(
        queryset=ReplyTemplate.objects.active().select_related("category").order_by("name"),
        label=gettext_lazy("Reply template"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].label_from_instance = lambda t: (
            f"{t.name} ({t.category.name if t.category else _('any category')})"
        )


class TagParams(BulkParamsForm):
    name = forms.CharField(
        label=gettext_lazy("Tag"), max_length=200, help_text=gettext_lazy("Created if it does not exist yet.")
    )

    def clean_name(self) -> str:
        try:
            return tags.tag_name_normalise(self.cleaned_data["name"])
        except ApplicationError as exc:
            raise ValidationError(str(exc)) from None


_TAG_WORDS = {
    tags.TagOutcome.TAGGED: gettext_lazy("Tagged “%(name)s”."),
    tags.TagOutcome.ALREADY_TAGGED: gettext_lazy("Already tagged “%(name)s”."),
    tags.TagOutcome.NOT_FOUND: NOT_FOUND,
}


def _tag(*, tickets: Sequence[Ticket], versions: Mapping[int, int], actor: User, params: dict) -> list[TicketOutcome]:
    # Tagging changes no property the version guards (status, team...), so the versions the user saw do not matter.
    results = tags.tickets_tag_add(tickets=tickets, name=params["name"], actor=actor)
    return [
        TicketOutcome(
            r.ticket.pk,
            r.ticket.reference,
            r.outcome != tags.TagOutcome.NOT_FOUND,
            str(_TAG_WORDS[r.outcome]) % {"name": params["name"]},
        )
        for r in results
    ]


def _unchanged(ticket: Ticket, version: int | None) -> bool:
    """The service found nothing to change (it bumps the version on every change)."""
    return version is not None and ticket.version == version


def _assign(
    *, tickets: Sequence[Ticket], versions: Mapping[int, int], actor: User, params: dict
) -> list[TicketOutcome]:
    # Set-based: one call of the batch-first service that the workspace calls with one ticket (``ticket_assign``).
    team, assignee = params["team"], params["assignee"]
    if assignee:
        target = f"{team.name} · {assignee.display_name}"
    else:
        target = _("%(team)s (unassigned)") % {"team": team.name}
    try:
        with transaction.atomic():
            results = services.ticket_assign_many(
                tickets=tickets, actor=actor, team=team, assignee=assignee, expected_versions=versions
            )
    except _BATCH_REFUSALS as exc:  # a refusal of the whole batch (the assignee is not in the team)
        return [TicketOutcome(t.pk, t.reference, False, refusal_text(exc)) for t in tickets]
    words = {
        services.AssignOutcome.ASSIGNED: _("Assigned to %(target)s.") % {"target": target},
        services.AssignOutcome.UNCHANGED: _("Already with %(target)s.") % {"target": target},
    }
    return [
        TicketOutcome(
            r.ticket.pk,
            r.ticket.reference,
            r.error is None,
            words[r.outcome] if r.error is None else _refusal_words(r.error),
        )
        for r in results
    ]


_BATCH_REFUSALS: tuple[type[Exception], ...] = (*REFUSALS, ApplicationError)


def _refusal_words(exc: Exception) -> str:
    return str(NOT_FOUND) if isinstance(exc, Ticket.DoesNotExist) else refusal_text(exc)


def _status(*, ticket: Ticket, actor: User, expected_version: int | None, params: dict) -> str:
    services.ticket_change_status(
        ticket=ticket, actor=actor, status=params["status"], expected_version=expected_version
    )
    label = Status(params["status"]).label
    words = _("Already “%(status)s”.") if _unchanged(ticket, expected_version) else _("Status set to “%(status)s”.")
    return words % {"status": label}


def _priority(*, ticket: Ticket, actor: User, expected_version: int | None, params: dict) -> str:
    services.ticket_change_priority(
        ticket=ticket, actor=actor, priority=params["priority"], expected_version=expected_version
    )
    label = Priority(params["priority"]).label
    words = _("Already %(priority)s.") if _unchanged(ticket, expected_version) else _("Priority set to %(priority)s.")
    return words % {"priority": label}


def _category(*, ticket: Ticket, actor: User, expected_version: int | None, params: dict) -> str:
    # No category-only service exists: the workspace's one-form save with every other property as the user saw it.
    # The version check makes that safe: had anyone changed the ticket since, it is a conflict, never a revert.
    category = params["category"]
    if expected_version is None:
        expected_version = ticket.version
    changed = services.ticket_update(
        ticket=ticket,
        actor=actor,
        expected_version=expected_version,
        status=ticket.status,
        priority=ticket.priority,
        category=category,
        team=ticket.team,
        assignee=ticket.assignee,
    )
    return (_("Category set to %(name)s.") if changed else _("Already in %(name)s.")) % {"name": category.name}


def _reply(*, ticket: Ticket, actor: User, expected_version: int | None, params: dict) -> str:
    template: ReplyTemplate = params["template"]
    if not reply_templates_for(ticket=ticket).filter(pk=template.pk).exists():
        raise ValidationError(
            _("The template “%(name)s” is for %(category)s tickets, not this one.")
            % {"name": template.name, "category": template.category}
        )
    body = reply_template_render(template=template, ticket=ticket, agent=actor)
    services.ticket_reply(
        ticket=ticket, author=actor, body=body, expected_version=expected_version, template_id=template.pk
    )
    return _("Replied with “%(name)s”.") % {"name": template.name}


def _register_core_actions() -> None:
    bulk_action_register(
        BulkAction(
            name="assign",
            label=gettext_lazy("Assign"),
            form_class=AssignParams,
            run=_assign,
            describe=lambda p: (
                _("Assign to %(target)s")
                % {"target": f"{p['team'].name} · {p['assignee'].display_name}" if p["assignee"] else p["team"].name}
            ),
            order=10,
        )
    )
    bulk_action_register(
        BulkAction(
            name="status",
            label=gettext_lazy("Change status"),
            form_class=StatusParams,
            run=each_ticket(_status),
            describe=lambda p: _("Change status to “%(status)s”") % {"status": Status(p["status"]).label},
            order=20,
        )
    )
    bulk_action_register(
        BulkAction(
            name="priority",
            label=gettext_lazy("Change priority"),
            form_class=PriorityParams,
            run=each_ticket(_priority),
            describe=lambda p: _("Change priority to %(priority)s") % {"priority": Priority(p["priority"]).label},
            order=30,
        )
    )
    bulk_action_register(
        BulkAction(
            name="category",
            label=gettext_lazy("Change category"),
            form_class=CategoryParams,
            run=each_ticket(_category),
            describe=lambda p: _("Change category to %(name)s") % {"name": p["category"].name},
            order=40,
        )
    )
    bulk_action_register(
        BulkAction(
            name="tag",
            label=gettext_lazy("Add a tag"),
            form_class=TagParams,
            run=_tag,
            describe=lambda p: _("Add the tag “%(name)s”") % {"name": p["name"]},
            order=50,
        )
    )
    bulk_action_register(
        BulkAction(
            name="reply",
            label=gettext_lazy("Reply with a template"),
            form_class=ReplyParams,
            run=each_ticket(_reply),
            describe=lambda p: _("Reply with “%(name)s”") % {"name": p["template"].name},
            order=60,
        )
    )


_register_core_actions()
