"""Feedback screens: the customer's survey page (signed link, no login), the checklist actions, the RCA form on
close, "My follow-ups" and the managers' RCA review queue. Thin views over selectors and services."""

from __future__ import annotations

from datetime import timedelta
from operator import attrgetter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from feedback import selectors, services
from feedback.forms import (
    CorrectiveActionFormSet,
    FollowUpCompleteForm,
    RcaForm,
    RcaReviewForm,
    ResolutionSummaryForm,
)
from feedback.models import CorrectiveAction, RootCauseAnalysis
from feedback.rca import CorrectiveActionInput, corrective_action_complete, rca_create, rca_review
from helpdesk.models import Status
from helpdesk.selectors import ticket_get_for_user
from helpdesk.services import ticket_change_status
from helpdesk.typing import AuthenticatedHttpRequest
from helpdesk.views import manager_required, staff_required


def _service_errors(exc: ValidationError) -> list[str]:
    return exc.messages


# --- the customer's survey ------------------------------------------------------------------------------------


def _survey_problem(request: HttpRequest, error: selectors.SurveyLinkError) -> HttpResponse:
    return TemplateResponse(request, "feedback/survey_problem.html", {"error": error}, status=error.status)


@never_cache
def survey_answer_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the form; POST (CSRF-protected) records the answers once. No login: the signed link is the key."""
    from feedback.forms import SurveyForm

    try:
        survey = selectors.survey_from_token(token=token, viewer=request.user)
    except selectors.SurveyLinkError as error:
        return _survey_problem(request, error)
    form = SurveyForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.survey_submit(
                    token=token,
                    answers=services.SurveyAnswers(
                        csat=data["csat"],
                        fixed=data["fixed"],
                        explain_count=data["explain_count"],
                        nps=data["nps"],
                        comment=data["comment"],
                    ),
                )
            except selectors.SurveyLinkError as error:
                return _survey_problem(request, error)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                return TemplateResponse(request, "feedback/survey_thanks.html", {"survey": survey})
        status = 400
    else:
        status = 200
    return TemplateResponse(request, "feedback/survey.html", {"survey": survey, "form": form}, status=status)


# --- resolution checklist actions -----------------------------------------------------------------------------


@login_required
@staff_required
@require_POST
def resolution_summary_view(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    ticket = ticket_get_for_user(user=request.user, reference=reference)
    form = ResolutionSummaryForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("Write the resolution summary: what was wrong and what was done.")
        services.resolution_record(ticket=ticket, actor=request.user, summary=form.cleaned_data["summary"])
    except ValidationError as exc:
        messages.error(request, " ".join(_service_errors(exc)))
    else:
        messages.success(request, _("Resolution summary recorded."))
    return redirect("ticket_detail", reference=ticket.reference)


@login_required
@staff_required
@require_POST
def resolution_send_view(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    ticket = ticket_get_for_user(user=request.user, reference=reference)
    try:
        services.resolution_send_to_customer(ticket=ticket, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(_service_errors(exc)))
    else:
        messages.success(request, _("The resolution was sent to the customer."))
    return redirect("ticket_detail", reference=ticket.reference)


@login_required
@staff_required
@require_POST
def resolution_notify_team_view(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    ticket = ticket_get_for_user(user=request.user, reference=reference)
    try:
        teams = services.resolution_notify_escalating_team(ticket=ticket, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(_service_errors(exc)))
    else:
        messages.success(request, _("Notified: %(teams)s.") % {"teams": ", ".join(team.name for team in teams)})
    return redirect("ticket_detail", reference=ticket.reference)


# --- root-cause analysis --------------------------------------------------------------------------------------


@login_required
@staff_required
def rca_create_view(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """The RCA form on close: fill the analysis, then (by default) close the ticket in the same step."""
    ticket = ticket_get_for_user(user=request.user, reference=reference)
    existing = RootCauseAnalysis.objects.filter(ticket=ticket).first()
    if existing is not None:
        messages.info(request, _("This ticket already has a root-cause analysis."))
        return redirect("ticket_detail", reference=ticket.reference)
    form = RcaForm(request.POST or None)
    formset = CorrectiveActionFormSet(request.POST or None, prefix="actions")
    errors: list[str] = []
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        actions = [
            CorrectiveActionInput(
                description=f.cleaned_data.get("description") or "",
                owner=f.cleaned_data.get("owner"),
                due_date=f.cleaned_data.get("due_date"),
            )
            for f in formset
            if f.cleaned_data and f.has_content()
        ]
        data = form.cleaned_data
        try:
            rca_create(
                ticket=ticket,
                actor=request.user,
                cause_category=data["cause_category"],
                preventable=data["preventable"],
                five_whys=data["five_whys"],
                actions=actions,
            )
            if data["close_ticket"] and ticket.status == Status.RESOLVED:
                ticket.refresh_from_db()
                ticket_change_status(ticket=ticket, actor=request.user, status=Status.CLOSED)
        except ValidationError as exc:
            for field, field_errors in exc.message_dict.items():
                if field in form.fields:
                    form.add_error(field, field_errors)
                else:
                    errors.extend(field_errors)
        else:
            closed = data["close_ticket"] and ticket.status == Status.CLOSED
            messages.success(
                request,
                _("Root-cause analysis saved and the ticket closed.") if closed else _("Root-cause analysis saved."),
            )
            return redirect("ticket_detail", reference=ticket.reference)
    status = 400 if request.method == "POST" else 200
    context = {
        "ticket": ticket,
        "form": form,
        "formset": formset,
        "errors": errors,
        "checklist": selectors.resolution_checklist(ticket=ticket),
    }
    return TemplateResponse(request, "feedback/rca_form.html", context, status=status)


@login_required
@manager_required
def rca_review_queue_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    show = "reviewed" if request.GET.get("show") == "reviewed" else "pending"
    rcas = selectors.rcas_for_review(user=request.user, reviewed=show == "reviewed")[:100]
    items = [{"rca": rca, "form": RcaReviewForm(initial={"cause_category": rca.cause_category})} for rca in rcas]
    comparison = selectors.survey_comparison(user=request.user, since=timezone.now() - timedelta(days=90))
    return TemplateResponse(
        request, "feedback/rca_queue.html", {"items": items, "show": show, "comparison": comparison}
    )


@login_required
@manager_required
@require_POST
def rca_review_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    rca = selectors.rca_get_for_user(user=request.user, pk=pk)
    form = RcaReviewForm(request.POST)
    if form.is_valid():
        try:
            rca = rca_review(
                rca=rca,
                actor=request.user,
                cause_category=form.cleaned_data["cause_category"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(_service_errors(exc)))
        else:
            if rca.reclassified_from and rca.reclassified_from != rca.cause_category:
                messages.success(
                    request,
                    _("%(reference)s reclassified as %(cause)s (was %(was)s).")
                    % {
                        "reference": rca.ticket.reference,
                        "cause": rca.get_cause_category_display(),
                        "was": rca.get_reclassified_from_display(),
                    },
                )
            else:
                messages.success(request, _("%(reference)s reviewed.") % {"reference": rca.ticket.reference})
    else:
        messages.error(request, _("Choose the cause category."))
    return redirect("rca_review_queue")


@login_required
@staff_required
@require_POST
def corrective_action_done_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    action = CorrectiveAction.objects.select_related("rca__ticket").filter(pk=pk).first()
    if action is None:
        raise Http404("No such action.")
    ticket = ticket_get_for_user(user=request.user, reference=action.rca.ticket.reference)
    corrective_action_complete(action=action, actor=request.user)
    messages.success(request, _("Corrective action marked done."))
    return redirect("ticket_detail", reference=ticket.reference)


# --- follow-ups -----------------------------------------------------------------------------------------------


@login_required
@staff_required
def follow_up_list_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    is_manager = request.user.is_manager
    scope = "all" if request.GET.get("scope") == "all" and is_manager else "mine"
    tasks = list(selectors.follow_ups_for(user=request.user, scope=scope)[:200])
    open_tasks = [t for t in tasks if not t.is_done]
    done_tasks = sorted((t for t in tasks if t.is_done), key=attrgetter("done_at"), reverse=True)[:20]
    return TemplateResponse(
        request,
        "feedback/follow_ups.html",
        {"open_tasks": open_tasks, "done_tasks": done_tasks, "scope": scope, "is_manager": is_manager},
    )


@login_required
@staff_required
@require_POST
def follow_up_complete_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    task = selectors.follow_up_get_for_user(user=request.user, pk=pk)
    form = FollowUpCompleteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the outcome of the follow-up."))
    else:
        try:
            services.follow_up_complete(
                task=task, actor=request.user, outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(_service_errors(exc)))
        else:
            if form.cleaned_data["outcome"] == "reopened":
                messages.success(
                    request,
                    _("%(reference)s reopened. Its history and SLA record are kept.")
                    % {"reference": task.ticket.reference},
                )
            else:
                messages.success(
                    request, _("Follow-up on %(reference)s recorded.") % {"reference": task.ticket.reference}
                )
    return redirect("follow_up_list")
