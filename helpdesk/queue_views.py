"""Pages around the agent queue: bulk actions (choose → confirm → per-ticket report) and saved views (save the
current queue, rename, delete, and the navigation fragment with live counts). Thin views over
``helpdesk.bulk_actions`` and ``helpdesk.saved_views``; the queue page itself stays in ``helpdesk.views``."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.bulk_actions import (
    bulk_action_get,
    bulk_action_run,
    bulk_actions_for,
    bulk_run_get_for_user,
    bulk_selection_resolve,
    parse_selected,
)
from helpdesk.errors import ApplicationError, NotAllowed, NotFound
from helpdesk.models import Team
from helpdesk.queue_state import COLUMNS_PARAM, queue_column_choices, queue_visible_columns
from helpdesk.saved_views import (
    NAME_MAX,
    saved_view_counts,
    saved_view_create,
    saved_view_delete,
    saved_view_get_for_user,
    saved_view_may_manage,
    saved_view_rename,
    saved_view_teams_for,
)
from helpdesk.typing import AuthenticatedHttpRequest
from helpdesk.views import form_errors, staff_required

CONFIRM_PREVIEW = 12


def _queue_url(query: str) -> str:
    return reverse("ticket_list") + (f"?{query}" if query else "")


# --- bulk actions ----------------------------------------------------------------------------------------------


@login_required
@staff_required
@require_POST
def bulk_action_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Step 1 (from the queue): the chosen action's parameters and a confirmation naming how many tickets it will
    touch. Step 2 (``confirm``): run it and show the report. The selection is resolved again on each step."""
    user = request.user
    query = request.POST.get("query", "")
    try:
        action = bulk_action_get(user=user, name=request.POST.get("action", ""))
        all_matching = request.POST.get("all_matching") == "1"
        selected = None if all_matching else parse_selected(request.POST.getlist("ticket"))
        selection = bulk_selection_resolve(actor=user, selected=selected, query=QueryDict(query))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(_queue_url(query))
    confirming = "confirm" in request.POST
    form = action.form_class(request.POST if confirming else None, actor=user, prefix=action.name)
    token_text = request.POST.get("token") or str(uuid.uuid4())
    try:
        token = uuid.UUID(token_text)
    except ValueError:
        return HttpResponseBadRequest("The form is not valid: reload the queue and try again.")
    status = 200
    if confirming:
        if form.is_valid():
            try:
                run = bulk_action_run(
                    actor=user, action=action, selection=selection, params=form.cleaned_data, token=token
                )
            except (ApplicationError, ValidationError, PermissionDenied) as exc:
                form_errors(form, exc)
                status = 400
            else:
                return redirect("bulk_action_report", pk=run.pk)
        else:
            status = 400
    context = {
        "action": action,
        "form": form,
        "count": len(selection.tickets),
        "missing": len(selection.missing),
        "preview": selection.tickets[:CONFIRM_PREVIEW],
        "more": max(0, len(selection.tickets) - CONFIRM_PREVIEW),
        "all_matching": selected is None,
        "tickets": request.POST.getlist("ticket"),
        "query": query,
        "queue_url": _queue_url(query),
        "token": token,
    }
    return TemplateResponse(request, "helpdesk/bulk_confirm.html", context, status=status)


@login_required
@staff_required
@require_GET
def bulk_action_report_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """What a bulk action did, per ticket: its runner only."""
    try:
        run = bulk_run_get_for_user(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from None
    return TemplateResponse(
        request, "helpdesk/bulk_report.html", {"run": run, "actions": bulk_actions_for(request.user)}
    )


# --- saved views -----------------------------------------------------------------------------------------------


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX, label=_("Name"))
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, label=_("Shared with"), empty_label=_("Only me (personal view)")
    )
    columns = forms.MultipleChoiceField(
        choices=queue_column_choices,
        required=False,
        label=_("Columns to show"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Reference always shows."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = saved_view_teams_for(user)
        self.fields["team"].label_from_instance = lambda team: gettext("Team: %(name)s") % {"name": team.name}


class SavedViewRenameForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX, label=_("New name"))


@login_required
@staff_required
@require_http_methods(["GET", "POST"])
def saved_view_new_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Save the queue state the user is looking at (carried in the query string) under a name."""
    query = request.GET.copy()
    query.pop("page", None)
    shown = queue_visible_columns(query) or [name for name, _ in queue_column_choices()]
    form = SavedViewForm(request.POST or None, user=request.user, initial={"columns": shown})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            state = query.copy()
            columns = form.cleaned_data["columns"]
            state.pop(COLUMNS_PARAM, None)
            if columns and len(columns) < len(queue_column_choices()):
                state[COLUMNS_PARAM] = ",".join(columns)
            try:
                view = saved_view_create(
                    owner=request.user, name=form.cleaned_data["name"], query=state, team=form.cleaned_data["team"]
                )
            except (ApplicationError, ValidationError, PermissionDenied) as exc:
                form_errors(form, exc)
            else:
                messages.success(request, gettext("Saved the view “%(name)s”.") % {"name": view.name})
                return redirect(_queue_url(view.query))
        status = 400
    context = {"form": form, "queue_url": _queue_url(query.urlencode())}
    return TemplateResponse(request, "helpdesk/saved_view_new.html", context, status=status)


@login_required
@staff_required
@require_GET
def saved_view_list_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The user's views with their counts, and rename/delete where they may manage them."""
    rows = [
        {"view": row.view, "count": row.count, "may_manage": saved_view_may_manage(user=request.user, view=row.view)}
        for row in saved_view_counts(request.user)
    ]
    return TemplateResponse(request, "helpdesk/saved_views.html", {"rows": rows, "rename_form": SavedViewRenameForm()})


def _manageable(request: AuthenticatedHttpRequest, pk: int):
    try:
        return saved_view_get_for_user(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from None


@login_required
@staff_required
@require_POST
def saved_view_rename_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    view = _manageable(request, pk)
    form = SavedViewRenameForm(request.POST)
    if form.is_valid():
        try:
            saved_view_rename(actor=request.user, view=view, name=form.cleaned_data["name"])
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from None
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, gettext("Renamed to “%(name)s”.") % {"name": view.name})
    else:
        messages.error(request, "; ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("saved_view_list")


@login_required
@staff_required
@require_POST
def saved_view_delete_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    view = _manageable(request, pk)
    name = view.name
    try:
        saved_view_delete(actor=request.user, view=view)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    messages.success(request, gettext("Deleted the view “%(name)s”.") % {"name": name})
    return redirect("saved_view_list")


@login_required
@require_GET
def saved_view_nav_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The navigation's saved views with live counts: an htmx fragment (the page loads it; push can refresh it)."""
    rows = saved_view_counts(request.user) if request.user.is_staff_member else []
    return TemplateResponse(request, "helpdesk/_saved_views_nav.html", {"rows": rows})
