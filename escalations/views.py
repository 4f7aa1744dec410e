"""Escalation screens: the escalate form, the specialist inbox, the manager review queue, approvals, the
escalation page with its actions, and the customer's "ask for a manager" post. Thin views over services;
permissions are decided here and every ticket or escalation is fetched through its visibility selector."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import ModelChoiceField
from django.forms.models import ModelChoiceIterator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from escalations import selectors, services
from escalations.compensation import compensation_decide, money
from escalations.forms import (
    TYPE_HELP,
    DecisionForm,
    EscalateForm,
    FurtherForm,
    GuidanceForm,
    ManagerRequestForm,
    ReassignForm,
    ResolveForm,
    ReviewFilterForm,
    dossier_from_notes,
)
from escalations.hooks import before_escalate_suggestions
from escalations.models import CompensationStatus, EscalationMode, EscalationType, RiskAssessment
from helpdesk.keyset import keyset_page
from helpdesk.panels import slot_templates
from helpdesk.selectors import ticket_get_for_user, ticket_is_visible_to
from helpdesk.typing import AuthenticatedHttpRequest
from helpdesk.views import form_errors, manager_required, staff_required


def _back(request: AuthenticatedHttpRequest, escalation) -> HttpResponse:
    """After an action: back where the user came from if they can still see the ticket, else to their inbox."""
    if ticket_is_visible_to(user=request.user, ticket=escalation.ticket):
        return redirect("escalation_detail", pk=escalation.pk)
    return redirect("escalation_inbox")


# --- escalate ---------------------------------------------------------------------------------------------------


def _type_cards(ticket) -> list[dict]:
    return [
        {
            "value": value,
            "label": label,
            "help": TYPE_HELP[value],
            "preview": services.escalation_preview(
                ticket=ticket, escalation_type=value, mode=EscalationMode.FUNCTIONAL
            ),
            "preview_h": services.escalation_preview(
                ticket=ticket, escalation_type=value, mode=EscalationMode.HIERARCHICAL
            ),
            "playbook": selectors.playbook_for(value),
        }
        for value, label in EscalationType.choices
    ]


@login_required
@staff_required
def escalation_new_view(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    ticket = ticket_get_for_user(user=request.user, reference=reference)
    initial: dict[str, object] = {"escalation_type": request.GET.get("type", ""), "mode": EscalationMode.FUNCTIONAL}
    # From the call panel: the caller is on the line and the dossier comes from the quick notes.
    if request.GET.get("caller_waiting") == "1":
        initial["caller_waiting"] = True
    if request.GET.get("notes"):
        initial.update(dossier_from_notes(request.GET["notes"]))
    risk = RiskAssessment.objects.filter(ticket=ticket).first()
    if risk is not None:
        risk = risk.as_of(timezone.now())
    if not initial["escalation_type"] and risk is not None and risk.signals and risk.suggested_type:
        initial["escalation_type"] = risk.suggested_type
    form = EscalateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            escalation = services.escalation_create(
                ticket=ticket,
                actor=request.user,
                escalation_type=data["escalation_type"],
                mode=data["mode"],
                reason=data["reason"],
                dossier_problem=data["dossier_problem"],
                dossier_tried=data["dossier_tried"],
                dossier_desired_outcome=data["dossier_desired_outcome"],
                dossier_mood=data["dossier_mood"],
                caller_waiting=data["caller_waiting"],
                compensation_amount=data["compensation_amount"],
                compensation_currency=data["compensation_currency"],
                compensation_reason=data["compensation_reason"],
                vendor_name=data["vendor_name"],
                vendor_reference=data["vendor_reference"],
                vendor_contact=data["vendor_contact"],
                vendor_follow_up_at=data["vendor_follow_up_at"],
            )
        except services.EscalationConflict as conflict:
            messages.warning(request, str(conflict))
            return redirect("ticket_detail", reference=ticket.reference)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            team = escalation.to_team.name if escalation.to_team else _("the next level")
            messages.success(
                request, _("Escalated to %(team)s. The team and the customer have been told.") % {"team": team}
            )
            if ticket_is_visible_to(user=request.user, ticket=ticket):
                return redirect("ticket_detail", reference=ticket.reference)
            return redirect("ticket_list")
    context = {
        "ticket": ticket,
        "form": form,
        "cards": _type_cards(ticket),
        "selected": form.data.get("escalation_type") if form.is_bound else initial["escalation_type"],
        "risk": risk,
        "before_escalate": before_escalate_suggestions(ticket=ticket, user=request.user),
        "active": selectors.escalation_active_for_ticket(ticket=ticket),
    }
    return TemplateResponse(request, "escalations/escalate.html", context, status=400 if form.is_bound else 200)


# --- inbox, review queue, approvals -------------------------------------------------------------------------------


def _list_rows(escalations, *, now) -> list:
    """The rows of an escalation list, each ticket's SLA state worked out once for its badge."""
    rows = list(escalations)
    for escalation in rows:
        escalation.ticket.sla_badge = escalation.ticket.sla_state(now)
    return rows


# A page of an escalation list: each row carries its dossier and actions, so a page is what a person reads at once.
# Pages are keyset pages (?after=<pk> / ?before=<pk>, helpdesk.keyset): their cost does not grow with the queue.
ESCALATION_PAGE_SIZE = 50  # the dense list fits 50 escalations on a laptop screen: one page is one screen
# Counts in the section headings stop here ("1,000+"): counting every open escalation costs more than the page.
ESCALATION_COUNT_CAP = 1_000
ESCALATION_NON_NULL_KEYS = frozenset({"created_at"})


def _page_of(request: AuthenticatedHttpRequest, escalations) -> tuple:
    """The requested keyset page of an ordered escalation list, and the list's capped count."""
    page = keyset_page(
        escalations,
        cursor_queryset=selectors.escalations_visible_to(request.user),
        size=ESCALATION_PAGE_SIZE,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        non_null=ESCALATION_NON_NULL_KEYS,
        split_pinned=True,  # callers waiting and emergencies (the ticket's flag): one indexed query per pin
    )
    counted = escalations.order_by()[: ESCALATION_COUNT_CAP + 1].count()
    return page, {"count": min(counted, ESCALATION_COUNT_CAP), "is_capped": counted > ESCALATION_COUNT_CAP}


@login_required
@staff_required
@require_GET
def escalation_inbox_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    now = timezone.now()
    sort = selectors.escalation_sort_key(request.GET.get("sort", ""))
    page, total = _page_of(request, selectors.escalations_inbox_for(request.user, sort=sort))
    page.object_list = _list_rows(page.object_list, now=now)
    context = {
        "open_escalations": page.object_list,
        "page": page,
        "total": total,
        # what one person holds is short; the bound keeps a page's cost fixed whatever the data
        "mine": _list_rows(selectors.escalations_accepted_by(request.user, sort=sort)[:ESCALATION_PAGE_SIZE], now=now),
        "sort": sort,
        "on_call": selectors.oncall_board_for(user=request.user, now=now),
        "now": now,
        "limit": selectors.approval_limit_for(user=request.user, currency="GBP"),
    }
    return TemplateResponse(request, "escalations/inbox.html", context)


@login_required
@manager_required
@require_GET
def escalation_review_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    now = timezone.now()
    sort = selectors.escalation_sort_key(request.GET.get("sort", ""))
    filters = ReviewFilterForm(request.GET or None)
    values = filters.cleaned_data if filters.is_valid() else {}
    escalations = selectors.escalations_review_queue(
        user=request.user,
        now=now,
        escalation_type=values.get("type", ""),
        tier=values.get("tier", ""),
        age=values.get("age", ""),
        breach=values.get("breach", ""),
        q=values.get("q", ""),
        sort=sort,
    )
    page, total = _page_of(request, escalations)
    reassign_form = ReassignForm()
    # Every row's dossier lists these teams: read them once, not once per row (a model choice field re-queries).
    team_field = cast(ModelChoiceField, reassign_form.fields["team"])
    team_field.choices = list(cast(ModelChoiceIterator, team_field.choices))
    context = {
        "filters": filters,
        "escalations": _list_rows(page.object_list, now=now),
        "page": page,
        "total": total,
        "sort": sort,
        "approvals": selectors.compensation_approvals_for(request.user),
        "reassign_form": reassign_form,
        "limit": selectors.approval_limit_for(user=request.user, currency="GBP"),
        "now": now,
    }
    return TemplateResponse(request, "escalations/review.html", context)


@login_required
@staff_required
@require_GET
def compensation_approvals_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    decided = (
        selectors.compensation_requests_visible_to(request.user)
        .exclude(status=CompensationStatus.PENDING)
        .filter(decided_by=request.user)
        .select_related("ticket", "requested_by")[:20]
    )
    context = {"approvals": selectors.compensation_approvals_for(request.user), "decided": decided}
    return TemplateResponse(request, "escalations/approvals.html", context)


@login_required
@staff_required
@require_POST
def compensation_decide_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    compensation = (
        selectors.compensation_requests_visible_to(request.user).select_related("ticket").filter(pk=pk).first()
    )
    if compensation is None:
        raise Http404("No such request.")
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
        return redirect("compensation_approvals")
    try:
        compensation_decide(
            request=compensation,
            actor=request.user,
            approve=form.cleaned_data["decision"] == "approve",
            note=form.cleaned_data["note"],
        )
    except (PermissionDenied, services.EscalationConflict) as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        words = {
            "amount": money(compensation.amount, compensation.currency),
            "reference": compensation.ticket.reference,
        }
        if form.cleaned_data["decision"] == "approve":
            messages.success(request, _("You approved %(amount)s for %(reference)s.") % words)
        else:
            messages.success(request, _("You rejected %(amount)s for %(reference)s.") % words)
    return redirect("escalation_review" if request.POST.get("next") == "review" else "compensation_approvals")


# --- one escalation ----------------------------------------------------------------------------------------------


@login_required
@staff_required
@require_GET
def escalation_detail_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    escalation = selectors.escalation_get_for_user(user=request.user, pk=pk)
    return TemplateResponse(request, "escalations/detail.html", _detail_context(request, escalation))


def _detail_context(request: AuthenticatedHttpRequest, escalation, **extra) -> dict:
    context = {
        "escalation": escalation,
        "ticket": escalation.ticket,
        "chain": selectors.escalation_chain_for_ticket(ticket=escalation.ticket),
        "can_handle": services.escalation_can_handle(user=request.user, escalation=escalation),
        "guidance_form": GuidanceForm(),
        "further_form": FurtherForm(),
        "resolve_form": ResolveForm(),
        "reassign_form": ReassignForm() if request.user.is_manager and escalation.is_active else None,
        "compensations": list(escalation.ticket.compensation_requests.select_related("requested_by", "decided_by")),
        "vendor_cases": list(escalation.ticket.vendor_cases.all()),
        "limit": selectors.approval_limit_for(user=request.user, currency="GBP"),
        "now": timezone.now(),
        # Fragments other apps offer on a resolved escalation (the KB's "write an article from this").
        "resolved_extras": slot_templates("escalation_resolved") if escalation.status == "resolved" else [],
        # Fragments other apps add beside the chain (data-protection requests on a compliance escalation).
        "aside_extras": slot_templates("escalation_aside"),
    }
    context.update(extra)
    return context


def _render_detail(request: AuthenticatedHttpRequest, escalation, **forms) -> HttpResponse:
    escalation.refresh_from_db()
    return TemplateResponse(
        request, "escalations/detail.html", _detail_context(request, escalation, **forms), status=400
    )


@login_required
@staff_required
@require_POST
def escalation_accept_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    escalation = selectors.escalation_get_for_user(user=request.user, pk=pk)
    try:
        services.escalation_accept(escalation=escalation, actor=request.user)
    except (PermissionDenied, services.EscalationConflict) as exc:
        messages.error(request, str(exc))
        return redirect("escalation_inbox")
    messages.success(
        request,
        _("You accepted the escalation of %(reference)s. It is yours now.")
        % {"reference": escalation.ticket.reference},
    )
    return _back(request, escalation)


@login_required
@staff_required
@require_POST
def escalation_return_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    escalation = selectors.escalation_get_for_user(user=request.user, pk=pk)
    form = GuidanceForm(request.POST)
    if form.is_valid():
        try:
            services.escalation_return(
                escalation=escalation, actor=request.user, guidance=form.cleaned_data["guidance"]
            )
        except (PermissionDenied, services.EscalationConflict) as exc:
            messages.error(request, str(exc))
            return _back(request, escalation)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Returned to the sender with your guidance."))
            return redirect("escalation_inbox")
    return _render_detail(request, escalation, guidance_form=form)


@login_required
@staff_required
@require_POST
def escalation_further_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    escalation = selectors.escalation_get_for_user(user=request.user, pk=pk)
    form = FurtherForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            new = services.escalation_escalate_further(
                escalation=escalation,
                actor=request.user,
                reason=data["reason"],
                dossier_tried=data["dossier_tried"],
                compensation_amount=data["compensation_amount"],
                compensation_currency=data["compensation_currency"],
                compensation_reason=data["compensation_reason"],
            )
        except (PermissionDenied, services.EscalationConflict) as exc:
            messages.error(request, str(exc))
            return _back(request, escalation)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            target = new.to_team.name if new.to_team else _("tier 3")
            messages.success(request, _("Escalated further to %(target)s.") % {"target": target})
            return _back(request, new)
    return _render_detail(request, escalation, further_form=form)


@login_required
@staff_required
@require_POST
def escalation_resolve_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    escalation = selectors.escalation_get_for_user(user=request.user, pk=pk)
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            services.escalation_resolve(escalation=escalation, actor=request.user, summary=form.cleaned_data["summary"])
        except (PermissionDenied, services.EscalationConflict) as exc:
            messages.error(request, str(exc))
            return _back(request, escalation)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Resolved. The customer has been told what was done."))
            return _back(request, escalation)
    return _render_detail(request, escalation, resolve_form=form)


@login_required
@manager_required
@require_POST
def escalation_reassign_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    escalation = selectors.escalation_get_for_user(user=request.user, pk=pk)
    form = ReassignForm(request.POST)
    if form.is_valid():
        try:
            services.escalation_reassign(escalation=escalation, actor=request.user, team=form.cleaned_data["team"])
        except (PermissionDenied, services.EscalationConflict) as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Reassigned to %(team)s.") % {"team": form.cleaned_data["team"].name})
    else:
        messages.error(request, _("Choose a team."))
    return redirect("escalation_review")


# --- the customer's request for a manager ---------------------------------------------------------------------------


@login_required
@require_POST
def manager_request_view(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    ticket = ticket_get_for_user(user=request.user, reference=reference)
    if not request.user.is_customer:
        raise PermissionDenied("Only customers ask for a manager here.")
    form = ManagerRequestForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.escalation_request_manager(ticket=ticket, customer=request.user, reason=reason)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Thank you. A manager will review your request and contact you here.")
    return redirect("ticket_detail", reference=ticket.reference)


@login_required
@staff_required
@require_POST
def article_draft_from_escalation_view(request: AuthenticatedHttpRequest, escalation_id: int) -> HttpResponse:
    from escalations.articles import article_draft_from_escalation

    escalation = selectors.escalation_get_for_user(user=request.user, pk=escalation_id)
    try:
        article = article_draft_from_escalation(escalation=escalation, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("ticket_detail", reference=escalation.ticket.reference)
    messages.success(request, _("Draft article created from the escalation. Review it before publishing."))
    return redirect("kb_article_edit", pk=article.pk)


@login_required
@staff_required
@require_GET
def team_list_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every team, its tier and size, and who is on call now and next."""
    now = timezone.now()
    return TemplateResponse(request, "escalations/teams.html", {"rows": selectors.teams_overview(now=now), "now": now})


@login_required
@staff_required
@require_GET
def team_detail_view(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """A team's page: its members, who is on call now and next, and the holiday cover arranged."""
    now = timezone.now()
    page = selectors.team_page(slug=slug, now=now)
    if page is None:
        raise Http404("No such team.")
    return TemplateResponse(request, "escalations/team.html", {**page, "now": now})
