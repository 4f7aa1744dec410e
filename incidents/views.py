"""Pages of major incidents: thin views over ``incidents.selectors`` and ``incidents.services``. Every staff member
reads them and may link tickets they can see; declaring, posting updates and resolving are for managers."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.errors import ApplicationError
from helpdesk.selectors import ticket_get_for_user, tickets_visible_to
from helpdesk.typing import AuthenticatedHttpRequest
from helpdesk.views import form_errors, manager_required, staff_required
from incidents import selectors, services
from incidents.forms import (
    IncidentDeclareForm,
    IncidentLinkForm,
    IncidentResolveForm,
    IncidentUpdateForm,
    TicketIncidentLinkForm,
)
from incidents.models import Incident, IncidentUpdate

LINKED_ROWS = 100


@login_required
@staff_required
@require_GET
def incident_list_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    context = {
        "open_incidents": selectors.incidents_open_with_counts(user=request.user),
        "resolved": selectors.incidents_for_staff(request.user).filter(status="resolved")[:10],
    }
    return TemplateResponse(request, "incidents/list.html", context)


@login_required
@manager_required(message="Only managers can declare a major incident.")
@require_http_methods(["GET", "POST"])
def incident_new_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = IncidentDeclareForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            incident = services.incident_declare(actor=request.user, **form.cleaned_data)
        except (ApplicationError, ValidationError, PermissionDenied) as exc:
            form_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(reference)s declared. Link the affected tickets below.") % {"reference": incident.reference},
            )
            return redirect("incident_detail", pk=incident.pk)
    status = 400 if request.method == "POST" else 200
    return TemplateResponse(request, "incidents/new.html", {"form": form}, status=status)


def _detail_context(request: AuthenticatedHttpRequest, incident: Incident, **forms) -> dict:
    user = request.user
    linked = selectors.incident_tickets_visible_to(incident=incident, user=user)
    suggestions = list(selectors.incident_suggestions(incident=incident, user=user)) if incident.is_open else []
    return {
        "incident": incident,
        "linked": list(linked.with_list_related().order_by("pk")[:LINKED_ROWS]),
        "linked_count": linked.count(),
        "linked_rows": LINKED_ROWS,
        "suggestions": suggestions,
        "match_words": selectors.incident_match_words(incident),
        "link_form": forms.get("link_form") or IncidentLinkForm(suggestions=suggestions),
        "update_form": forms.get("update_form") or IncidentUpdateForm(initial={"status": incident.status}),
        "resolve_form": forms.get("resolve_form") or IncidentResolveForm(),
        "updates": list(selectors.incident_updates(incident=incident)),
        "can_manage": user.is_manager,
    }


@login_required
@staff_required
@require_GET
def incident_detail_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, pk=pk)
    return TemplateResponse(request, "incidents/detail.html", _detail_context(request, incident))


def _report_links(request, results: list[services.LinkResult]) -> None:
    linked = [r.ticket.reference for r in results if r.outcome == services.LinkResult.LINKED]
    already = [r.ticket.reference for r in results if r.outcome == services.LinkResult.ALREADY_LINKED]
    if linked:
        messages.success(
            request,
            ngettext(
                "Linked %(count)s ticket: %(references)s.", "Linked %(count)s tickets: %(references)s.", len(linked)
            )
            % {"count": len(linked), "references": ", ".join(linked[:20])},
        )
    if already:
        messages.info(request, _("Already linked: %(references)s.") % {"references": ", ".join(already[:20])})
    for r in results:
        if r.outcome == services.LinkResult.REFUSED:
            messages.warning(
                request,
                _("%(reference)s not linked: %(reason)s") % {"reference": r.ticket.reference, "reason": r.reason},
            )


@login_required
@staff_required
@require_POST
def incident_link_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, pk=pk)
    suggestions = list(selectors.incident_suggestions(incident=incident, user=request.user))
    form = IncidentLinkForm(request.POST, suggestions=suggestions)
    if form.is_valid():
        refs = form.cleaned_data["references"]
        chosen = set(form.cleaned_data["tickets"])
        tickets = [t for t in suggestions if t.pk in chosen]
        typed = list(tickets_visible_to(request.user).filter(reference__in=refs)) if refs else []
        missing = sorted(set(refs) - {t.reference for t in typed})
        if not tickets and not typed and not missing:
            form.add_error(None, "Choose at least one ticket.")
        else:
            try:
                results = services.incident_link_tickets(incident=incident, tickets=tickets + typed, actor=request.user)
            except (ApplicationError, ValidationError, PermissionDenied) as exc:
                form_errors(form, exc)
            else:
                _report_links(request, results)
                for ref in missing:
                    messages.warning(request, _("%(reference)s not linked: No such ticket.") % {"reference": ref})
                return redirect("incident_detail", pk=incident.pk)
    context = _detail_context(request, incident, link_form=form)
    return TemplateResponse(request, "incidents/detail.html", context, status=400)


def _inline(incident: Incident) -> bool:
    """A small incident's update is delivered inside the request (the manager sees it done); a large one by the
    worker after commit (the beat catches up if that task is lost). Both call the same idempotent function."""
    return incident.links.count() <= settings.INCIDENT_INLINE_DELIVERY_MAX


def _deliver(update: IncidentUpdate, *, inline: bool) -> str:
    if inline:
        report = services.incident_update_deliver(update=update)
        return ngettext("Update sent on %(count)s ticket.", "Update sent on %(count)s tickets.", report.delivered) % {
            "count": report.delivered
        }
    return _("Update posted; it is being sent to every linked ticket.")


@login_required
@manager_required(message="Only managers can post an incident update.")
@require_POST
def incident_update_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, pk=pk)
    form = IncidentUpdateForm(request.POST)
    if form.is_valid():
        inline = _inline(incident)
        try:
            update = services.incident_update_post(
                incident=incident,
                actor=request.user,
                message=form.cleaned_data["message"],
                status=form.cleaned_data["status"],
                idempotency_key=str(form.cleaned_data["idempotency_key"]),
                deliver_later=not inline,
            )
        except (ApplicationError, ValidationError, PermissionDenied) as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _deliver(update, inline=inline))
            return redirect("incident_detail", pk=incident.pk)
    return TemplateResponse(
        request, "incidents/detail.html", _detail_context(request, incident, update_form=form), status=400
    )


@login_required
@manager_required(message="Only managers can resolve a major incident.")
@require_POST
def incident_resolve_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, pk=pk)
    form = IncidentResolveForm(request.POST)
    if form.is_valid():
        inline = _inline(incident)
        try:
            results = services.incident_resolve(
                incident=incident,
                actor=request.user,
                resolution=form.cleaned_data["resolution"],
                message=form.cleaned_data["message"],
                idempotency_key=str(form.cleaned_data["idempotency_key"]),
                deliver_later=not inline,
            )
        except (ApplicationError, ValidationError, PermissionDenied) as exc:
            form_errors(form, exc)
        else:
            final = incident.updates.filter(status="resolved").first()
            if final is not None:
                messages.success(request, _deliver(final, inline=inline))
            messages.success(
                request,
                _("%(reference)s resolved; %(count)s linked tickets released.")
                % {"reference": incident.reference, "count": len(results)},
            )
            return redirect("incident_detail", pk=incident.pk)
    return TemplateResponse(
        request, "incidents/detail.html", _detail_context(request, incident, resolve_form=form), status=400
    )


@login_required
@staff_required
@require_POST
def ticket_incident_link_view(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """The workspace's "link to incident": the batch service with one ticket."""
    ticket = ticket_get_for_user(user=request.user, reference=reference)
    incidents = list(selectors.incidents_open_for_linking())
    form = TicketIncidentLinkForm(request.POST, incidents=incidents)
    if not form.is_valid():
        messages.error(request, _("Choose an open incident."))
        return redirect("ticket_detail", reference=ticket.reference)
    incident = next(i for i in incidents if i.pk == form.cleaned_data["incident"])
    try:
        results = services.incident_link_tickets(incident=incident, tickets=[ticket], actor=request.user)
    except (ApplicationError, PermissionDenied) as exc:
        messages.error(request, str(exc))
    else:
        _report_links(request, results)
    return redirect("ticket_detail", reference=ticket.reference)
