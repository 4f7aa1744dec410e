"""Page views for customers and agents: thin function-based views over selectors and services.

Permissions are decided here (decorators and selectors), never only in templates. Every ticket is fetched through
``ticket_get_for_user`` and a miss is a 404.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet, prefetch_related_objects
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk import selectors, services, tags
from helpdesk.attachments import attachment_file_response
from helpdesk.bulk_actions import bulk_actions_for
from helpdesk.errors import ApplicationError
from helpdesk.filters import NON_NULL_SORT_KEYS, queue_columns, queue_related
from helpdesk.forms import AuditExportForm, NoteForm, ReplyForm, TicketCreateForm, TicketUpdateForm
from helpdesk.keyset import keyset_page
from helpdesk.models import ReplyTemplate, Status, Ticket
from helpdesk.navigation import nav_for
from helpdesk.notifications import notification_mark_read
from helpdesk.panels import panels_for, slot_templates
from helpdesk.queue_state import queue_filterset, queue_hidden_columns
from helpdesk.typing import AuthenticatedHttpRequest


def staff_required(view):
    @wraps(view)
    def wrapper(request: AuthenticatedHttpRequest, *args, **kwargs):
        if not request.user.is_staff_member:
            raise PermissionDenied(_("This page is for staff."))
        return view(request, *args, **kwargs)

    return wrapper


def customer_required(view):
    @wraps(view)
    def wrapper(request: AuthenticatedHttpRequest, *args, **kwargs):
        if not request.user.is_customer:
            raise PermissionDenied(_("This page is for customers."))
        return view(request, *args, **kwargs)

    return wrapper


def manager_required(view=None, *, message: str = "This page is for managers."):
    """Tier 3 and admins only (``@manager_required`` or ``@manager_required(message=...)``)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request: AuthenticatedHttpRequest, *args, **kwargs):
            user = request.user
            if not user.is_manager:
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


def form_errors(form, exc: ApplicationError | ValidationError | PermissionDenied) -> None:
    """The one way a server-rendered view shows a service's refusal on its form: an ``ApplicationError`` (conflict,
    not allowed, invalid ...) next to the field its ``extra["field"]`` names, a ``ValidationError`` next to the
    fields it names, otherwise on top of the form."""
    if isinstance(exc, ApplicationError):
        field = exc.extra.get("field")
        form.add_error(field if field in form.fields else None, exc.message)
    elif isinstance(exc, PermissionDenied):
        form.add_error(None, str(exc) or "You may not do this.")
    elif hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
def home_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The role's start page is the first entry of its navigation (customers: their requests; agents: their queue;
    other apps may register an earlier entry for their roles, e.g. a manager's review queue)."""
    items = nav_for(request.user)
    return redirect(items[0]["url"] if items else "ticket_list")


class CappedPaginator(Paginator):
    """Counts at most ``COUNT_CAP`` + 1 rows: an exact COUNT over a 100k-row queue costs more than the page itself,
    and nobody pages past the first few hundred. ``is_capped`` says the true number is larger."""

    object_list: QuerySet[Any]
    COUNT_CAP = 10_000
    is_capped = False

    @cached_property
    def count(self) -> int:
        counted = self.object_list.order_by()[: self.COUNT_CAP + 1].count()
        self.is_capped = counted > self.COUNT_CAP
        return min(counted, self.COUNT_CAP)


QUEUE_PAGE_SIZE = 25


class QueueCountPaginator(CappedPaginator):
    """The queue's summary counts to 1,000 ("More than 1,000 tickets"): at a million tickets, counting 10,000 of an
    agent's queue cost more than the rest of the page, and the keyset pages need no total."""

    COUNT_CAP = 1_000

    @cached_property
    def count(self) -> int:
        # Keep the queue's ORDER BY in the capped subquery: PostgreSQL then walks the sort's partial index and stops
        # at the cap, where an unordered count gathers every match first (a bitmap of 100k+ tickets at 1M). Not for
        # a sort on a related row (a contributed column): no index has that order, and sorting would cost more.
        ordered = not any("__" in str(item) for item in self.object_list.query.order_by)
        rows = self.object_list if ordered else self.object_list.order_by()
        counted = rows[: self.COUNT_CAP + 1].count()
        self.is_capped = counted > self.COUNT_CAP
        return min(counted, self.COUNT_CAP)


@login_required
@require_GET
def ticket_list_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Staff: the filterable queue. Customers: their organisation's requests, latest activity first."""
    if request.user.is_staff_member:
        return _queue(request)
    tickets = selectors.tickets_visible_to(request.user).with_list_related().order_by("-last_public_activity_at", "-pk")
    page = CappedPaginator(tickets, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    return TemplateResponse(request, "helpdesk/portal_list.html", {"page": page})


def _queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Page through ids only (no joins while the database orders the queue), then load the page's rows. Keyset pages
    # (?after=<pk> / ?before=<pk>, helpdesk.keyset): each is a range of the sort's index, whatever its depth. The
    # filter is the one the bulk actions and saved views use (helpdesk.queue_state).
    filterset = queue_filterset(user=request.user, data=request.GET)
    ids = filterset.qs.values_list("pk", flat=True)
    paginator = QueueCountPaginator(ids, QUEUE_PAGE_SIZE)  # the capped count of the summary line
    page = keyset_page(
        ids,
        cursor_queryset=selectors.tickets_visible_to(request.user),
        size=QUEUE_PAGE_SIZE,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        non_null=NON_NULL_SORT_KEYS,
    )
    now = timezone.now()
    rows = selectors.tickets_in_order(ids=list(page.object_list), related=queue_related())
    prefetch_related_objects(rows, "tags")  # the rows' tag chips: one query per page
    for ticket in rows:
        ticket.sla_badge = ticket.sla_state(now)
    page.object_list = rows
    scope = filterset.form.cleaned_data.get("scope") or "mine"
    filtered = any(
        filterset.form.cleaned_data.get(name) not in (None, "", default)
        for name, default in (
            ("q", ""),
            ("status", "open"),
            ("priority", ""),
            ("category", None),
            ("channel", ""),
            ("team", None),
            ("assignee", None),
            ("tag", ""),
            *((column.name, "") for column in queue_columns() if column.filter_method is not None),
        )
    )
    context = {
        "page": page,
        "paginator": paginator,
        "filter": filterset,
        "scope": scope,
        "filtered": filtered,
        "now": now,
        "queue_top": slot_templates("queue_top"),
        "queue_columns": queue_columns(),
        "bulk_actions": bulk_actions_for(request.user),
        "hidden_columns": queue_hidden_columns(request.GET),
    }
    template = (
        "helpdesk/queue.html#queue-results"
        if request.htmx and request.htmx.target == "queue-results"
        else ("helpdesk/queue.html")
    )
    return TemplateResponse(request, template, context)


@login_required
@customer_required
def ticket_new_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """``?follow_up=<reference>`` (the link on a closed request) pre-fills a new request that names the old one."""
    initial = {}
    earlier = selectors.tickets_visible_to(request.user).filter(reference=request.GET.get("follow_up", "")).first()
    if earlier is not None:
        initial = {
            "subject": f"Follow-up to {earlier.reference}: {earlier.subject}"[:200],
            "category": earlier.category_id,
            "description": f"This follows my earlier request {earlier.reference}.\n\n",
        }
    form = TicketCreateForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_create(
                customer=request.user,
                subject=form.cleaned_data["subject"],
                description=form.cleaned_data["description"],
                category=form.cleaned_data["category"],
                files=form.cleaned_data["attachments"],
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(
                request, _("Thank you. Your request %(reference)s has been received.") % {"reference": ticket.reference}
            )
            return redirect("ticket_detail", reference=ticket.reference)
    return TemplateResponse(
        request, "helpdesk/ticket_new.html", {"form": form, "form_extras": slot_templates("new_ticket_form")}
    )


def _detail_context(request: AuthenticatedHttpRequest, ticket: Ticket, **extra) -> dict:
    user = request.user
    timeline = list(selectors.ticket_events_visible_to(user=user, ticket=ticket).prefetch_related("attachments"))
    context = {
        "ticket": ticket,
        "timeline": timeline,
        "reply_form": ReplyForm(initial={"version": ticket.version}),
        "status_choices": Status.choices,
    }
    if not user.is_staff_member:
        # A closed request takes a reply (which reopens it) until the plan's reopen window ends; then a new one.
        context["reopen_until"] = (
            ticket.customer_reopen_until() if ticket.customer_may_reopen(now=timezone.now()) else None
        )
    if user.is_staff_member:
        templates = list(selectors.reply_templates_for(ticket=ticket))
        chosen = _chosen_template(request, templates)
        if chosen is not None:
            body = selectors.reply_template_render(template=chosen, ticket=ticket, agent=user)
            context["reply_form"] = ReplyForm(
                initial={"version": ticket.version, "body": body, "template_id": chosen.pk}
            )
        context["reply_templates"] = templates
        context["chosen_template"] = chosen
        context["note_form"] = NoteForm()
        context["update_form"] = TicketUpdateForm(
            initial={
                "version": ticket.version,
                "status": ticket.status,
                "priority": ticket.priority,
                "category": ticket.category_id,
                "team": ticket.team_id,
                "assignee": ticket.assignee_id,
            }
        )
        context["other_tickets"] = selectors.ticket_other_tickets(user=user, ticket=ticket)
        context["attachments"] = [a for event in timeline for a in event.attachments.all()]
        context["viewers"] = selectors.ticket_viewers(ticket=ticket, exclude=user)
        context["presence_poll_seconds"] = settings.PRESENCE_POLL_SECONDS
        context["sla_state"] = ticket.sla_state(timezone.now())
        context["ticket_tags"] = list(ticket.tags.all())
    context["panels"] = panels_for(request=request, ticket=ticket)
    context.update(extra)
    return context


def _chosen_template(request: AuthenticatedHttpRequest, templates: list[ReplyTemplate]) -> ReplyTemplate | None:
    """``?template=<id>`` pre-fills the reply (works without JavaScript); only this ticket's templates count."""
    raw = request.GET.get("template", "")
    if not raw.isdigit():
        return None
    return next((template for template in templates if template.pk == int(raw)), None)


@login_required
@require_GET
def ticket_detail_view(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.ticket_get_for_user(user=request.user, reference=reference)
    template = "helpdesk/workspace.html" if request.user.is_staff_member else "helpdesk/portal_ticket.html"
    return TemplateResponse(request, template, _detail_context(request, ticket))


def _render_detail(request: AuthenticatedHttpRequest, ticket: Ticket, status: int = 200, **extra) -> HttpResponse:
    template = "helpdesk/workspace.html" if request.user.is_staff_member else "helpdesk/portal_ticket.html"
    return TemplateResponse(request, template, _detail_context(request, ticket, **extra), status=status)


@login_required
@require_POST
def ticket_reply_view(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.ticket_get_for_user(user=request.user, reference=reference)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.ticket_reply(
                ticket=ticket,
                author=request.user,
                body=form.cleaned_data["body"],
                expected_version=form.cleaned_data["version"] if request.user.is_staff_member else None,
                files=form.cleaned_data["attachments"],
                template_id=form.cleaned_data.get("template_id"),
            )
        except services.TicketConflict as conflict:
            form.add_error(None, str(conflict))
            # Keep the draft, show the new state and the new version.
            data = request.POST.copy()
            data["version"] = str(conflict.ticket.version)
            return _render_detail(request, conflict.ticket, status=409, reply_form=ReplyForm(data), conflict=conflict)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Your message was sent."))
            return redirect("ticket_detail", reference=ticket.reference)
    return _render_detail(request, ticket, status=400, reply_form=form)


@login_required
@staff_required
@require_POST
def ticket_note_view(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.ticket_get_for_user(user=request.user, reference=reference)
    form = NoteForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.ticket_add_internal_note(
                ticket=ticket,
                author=request.user,
                body=form.cleaned_data["body"],
                files=form.cleaned_data["attachments"],
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Internal note added."))
            return redirect("ticket_detail", reference=ticket.reference)
    return _render_detail(request, ticket, status=400, note_form=form)


@login_required
@staff_required
@require_POST
def ticket_tag_add_view(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.ticket_get_for_user(user=request.user, reference=reference)
    try:
        name = tags.tag_name_normalise(request.POST.get("name"))
        added = tags.ticket_tag_add(ticket=ticket, name=name, actor=request.user)
    except ApplicationError as exc:
        return _render_detail(request, ticket, status=400, tag_error=str(exc))
    messages.success(request, (_("Tagged “%(name)s”.") if added else _("Already tagged “%(name)s”.")) % {"name": name})
    return redirect("ticket_detail", reference=ticket.reference)


@login_required
@staff_required
@require_POST
def ticket_tag_remove_view(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.ticket_get_for_user(user=request.user, reference=reference)
    try:
        name = tags.tag_name_normalise(request.POST.get("name"))
        removed = tags.ticket_tag_remove(ticket=ticket, name=name, actor=request.user)
    except ApplicationError as exc:
        return _render_detail(request, ticket, status=400, tag_error=str(exc))
    messages.success(
        request, (_("Removed the tag “%(name)s”.") if removed else _("Not tagged “%(name)s”.")) % {"name": name}
    )
    return redirect("ticket_detail", reference=ticket.reference)


# The names ``ticket_update`` gives what it changed, as the saved message says them.
_CHANGED_WORDS = {
    "priority": gettext_lazy("priority"),
    "category": gettext_lazy("category"),
    "assignment": gettext_lazy("assignment"),
    "status": gettext_lazy("status"),
}


@login_required
@staff_required
@require_POST
def ticket_update_view(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.ticket_get_for_user(user=request.user, reference=reference)
    form = TicketUpdateForm(request.POST)
    if form.is_valid():
        try:
            changed = services.ticket_update(ticket=ticket, actor=request.user, **form.update_arguments())
        except services.TicketConflict as conflict:
            # Nothing was saved: show the current state (with its new version) and say who changed it.
            return _render_detail(request, conflict.ticket, status=409, conflict=conflict)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            words = ", ".join(str(_CHANGED_WORDS.get(name, name)) for name in changed)
            messages.success(
                request, _("Saved: %(changes)s.") % {"changes": words} if changed else _("Nothing changed.")
            )
            return redirect("ticket_detail", reference=ticket.reference)
    return _render_detail(request, ticket, status=400, update_form=form)


@login_required
@staff_required
@require_http_methods(["GET", "POST"])
def ticket_presence_view(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Who else has this workspace open. POST also says "I am viewing it" (on load, and the fallback poll without
    push) or, with ``typing=1``, "I am typing in it"; GET only reads (a push frame said it changed)."""
    ticket = selectors.ticket_get_for_user(user=request.user, reference=reference)
    if request.method == "POST":
        services.ticket_presence_touch(ticket=ticket, user=request.user, typing=request.POST.get("typing") == "1")
    viewers = selectors.ticket_viewers(ticket=ticket, exclude=request.user)
    return TemplateResponse(request, "helpdesk/workspace.html#presence", {"ticket": ticket, "viewers": viewers})


@login_required
@require_GET
def attachment_download_view(request: AuthenticatedHttpRequest, pk: int) -> FileResponse:
    return attachment_file_response(selectors.attachment_get_for_user(user=request.user, pk=pk))


@login_required
def notification_list_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        notification_mark_read(user=request.user)
        return redirect("notification_list")
    notifications = selectors.notifications_visible_to(request.user).select_related("ticket")[:100]
    return TemplateResponse(request, "helpdesk/notifications.html", {"notifications": notifications})


@login_required
@staff_required
@require_POST
def availability_toggle_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    services.user_set_availability(user=request.user, is_available=not request.user.is_available)
    messages.info(request, _("You are now available.") if request.user.is_available else _("You are now away."))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "home"
    return redirect(target)


@require_GET
def favicon_view(request: HttpRequest) -> HttpResponse:
    """Browsers ask for ``/favicon.ico`` on pages that name no icon (admin, API docs): send them to ours."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


@login_required
@require_http_methods(["GET", "POST"])
def audit_export_view(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """Administrators download the audit trail of a period (CSV or JSON Lines, streamed, hash-chained)."""
    from helpdesk.audit_export import audit_export_response, period_parse

    if not request.user.is_admin:
        raise PermissionDenied(_("This page is for administrators."))
    status = 200
    if request.method == "POST":
        form = AuditExportForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                period = period_parse(data["date_from"], data["date_to"])
                return audit_export_response(actor=request.user, period=period, fmt=data["format"], request=request)
            except ValidationError as exc:
                form_errors(form, exc)
        status = 400
    else:
        today = timezone.now().astimezone(UTC).date()
        form = AuditExportForm(initial={"date_from": today - timedelta(days=30), "date_to": today, "format": "csv"})
    return TemplateResponse(request, "helpdesk/audit_export.html", {"form": form}, status=status)
