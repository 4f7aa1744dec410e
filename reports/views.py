"""Manager screens: dashboard, coaching view and trend explorer (managers and admins only).

Thin views: numbers come from ``reports.metrics``, pictures from ``reports.charts``, writes from
``reports.services``. Anyone else signed in gets a 403; the screens say nothing about tickets to them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from escalations.models import EscalationType
from escalations.panels import likely_to_escalate_for
from escalations.selectors import risk_outcome_figures
from escalations.sla.services import sla_admin_required
from helpdesk.models import Category, Channel, Plan, Team, Tier
from helpdesk.typing import AuthenticatedHttpRequest
from helpdesk.views import form_errors, manager_required
from reports import charts, coaching, dashboard, metrics
from reports.csv_export import csv_render
from reports.forms import CoachingSessionForm, SLASimulatorForm
from reports.metrics.rollups import rollups_memoised
from reports.selectors import coachable_staff, coaching_sessions_recent
from reports.services import coaching_session_record, sla_draft_apply
from reports.simulator import simulate

PERIODS = {7: gettext_lazy("Last 7 days"), 28: gettext_lazy("Last 28 days"), 90: gettext_lazy("Last 90 days")}
CHART_WEEKS = 12
# The risk flag's live precision and recall are measured over this many days, whatever the dashboard's period.
RISK_OUTCOME_DAYS = 90


def _week_labels(weeks: list[dt.datetime]) -> list[str]:
    return [date_format(week, "d M") for week in weeks]  # the reader's month names


def _chart_for(
    *,
    chart_id: str,
    metric: metrics.Metric,
    series: list[metrics.Series],
    title: str,
    description: str,
    y_title: str | None = None,
) -> str:
    weeks = [week for week, _ in series[0].points] if series else []
    chart_series = [charts.ChartSeries(label=gettext(s.label), values=[v for _, v in s.points]) for s in series]
    common: dict[str, Any] = {
        "chart_id": chart_id,
        "title": title,
        "description": description,
        "x_labels": _week_labels(weeks),
        "series": chart_series,
        "x_title": gettext("Week starting (UTC)"),
        "y_title": y_title or gettext(metric.label),
        "unit": metric.unit,
    }
    if metric.unit == "count":
        return charts.bar_chart(stacked=len(chart_series) > 1, **common)
    return charts.line_chart(**common)


def _period_days(request: HttpRequest) -> int:
    """The dashboard's period in days (``?days=``), one of ``PERIODS``; 28 otherwise."""
    days = int(request.GET["days"]) if request.GET.get("days", "").isdigit() else 28
    return days if days in PERIODS else 28


@login_required
@manager_required(message="Reports are for managers.")
@require_GET
@rollups_memoised()
def dashboard_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    now = timezone.now()
    days = _period_days(request)
    viewer = request.user
    period = metrics.MetricFilters.last_days(now=now, days=days)
    tiles = metrics.metric_tiles(metrics.DASHBOARD_TILES, filters=period, viewer=viewer)

    chart_period = metrics.MetricFilters(
        start=metrics.week_start(now) - dt.timedelta(weeks=CHART_WEEKS - 1), end=period.end
    )
    by_type = metrics.metric_series("escalations", filters=chart_period, viewer=viewer, group="type")
    rates = metrics.metric_series_many(
        ["escalation_rate", "first_contact_resolution"], filters=chart_period, viewer=viewer
    )
    escalations_chart = _chart_for(
        chart_id="escalations-by-type",
        metric=metrics.METRICS["escalations"],
        series=by_type,
        title=gettext("Escalations per week by type, last %(weeks)s weeks") % {"weeks": CHART_WEEKS},
        description=gettext("Stacked bars: the number of escalations raised each week, split by escalation type."),
    )
    sla_series = metrics.metric_series_many(
        ["sla_first_response", "sla_next_response", "sla_resolution"], filters=chart_period, viewer=viewer
    )
    sla_chart = _chart_for(
        chart_id="sla-compliance",
        metric=metrics.METRICS["sla_compliance"],
        series=sla_series,
        y_title=gettext("Met in time"),
        title=gettext("SLA compliance per target, last %(weeks)s weeks") % {"weeks": CHART_WEEKS},
        description=gettext(
            "Lines: of the SLA clocks started each week that have an outcome, the share met in time, for first "
            "response, next response and resolution. A gap means no clock of that target had an outcome."
        ),
    )
    csat_series = metrics.metric_series("csat", filters=chart_period, viewer=viewer, group="escalated")
    csat_chart = _chart_for(
        chart_id="csat",
        metric=metrics.METRICS["csat"],
        series=csat_series,
        y_title=gettext("Satisfied (4 or 5)"),
        title=gettext("CSAT per week, escalated vs not escalated, last %(weeks)s weeks") % {"weeks": CHART_WEEKS},
        description=gettext(
            "Lines: of the surveys answered each week with a score, the share scoring 4 or 5, for escalated and "
            "non-escalated tickets."
        ),
    )
    rate_chart = _chart_for(
        chart_id="escalation-rate",
        metric=metrics.METRICS["escalation_rate"],
        series=rates,
        y_title=gettext("Share of tickets"),
        title=gettext("Escalation rate and first-contact resolution, last %(weeks)s weeks") % {"weeks": CHART_WEEKS},
        description=gettext(
            "Lines: the share of each week's new tickets that were escalated, and the share of its resolved "
            "tickets resolved at first contact."
        ),
    )
    breaches_by_team, breaches_by_plan = dashboard.sla_breaches_by_team_and_plan(filters=period, viewer=viewer)
    context = {
        "page_title": gettext("Manager dashboard"),
        "days": days,
        "periods": PERIODS,
        "period": period,
        "last_day": period.end - dt.timedelta(days=1),
        "tiles": tiles,
        "escalations_chart": escalations_chart,
        "rate_chart": rate_chart,
        "sla_chart": sla_chart,
        "csat_chart": csat_chart,
        "sla_breaches_by_team": breaches_by_team,
        "sla_breaches_by_plan": breaches_by_plan,
        "compensation": dashboard.compensation_granted(filters=period, viewer=viewer),
        "root_causes": dashboard.top_root_causes(filters=period, viewer=viewer, today=now.date()),
        "deflections": dashboard.kb_deflections(filters=period, now=now),
        "articles_before_escalation": dashboard.articles_before_escalation(filters=period, viewer=viewer),
        "time_in_tier": metrics.time_in_tier_hours(filters=period, viewer=viewer),
        "tier_labels": dict(Tier.choices),
        "attention": dashboard.needs_attention(viewer=viewer, now=now, period=period),
        "likely": likely_to_escalate_for(user=viewer),
        "risk_outcomes": risk_outcome_figures(viewer=viewer, now=now, days=RISK_OUTCOME_DAYS),
    }
    return TemplateResponse(request, "reports/dashboard.html", context)


@login_required
@manager_required(message="Reports are for managers.")
@require_http_methods(["GET", "POST"])
@rollups_memoised()
def coaching_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    now = timezone.now()
    days = int(request.GET["days"]) if request.GET.get("days", "").isdigit() else 90
    days = days if days in PERIODS else 90
    period = metrics.MetricFilters.last_days(now=now, days=days)
    form = CoachingSessionForm(request.POST or None, initial={"held_on": now.date()})
    if request.method == "POST" and form.is_valid():
        try:
            coaching_session_record(manager=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request, gettext("Coaching session with %(agent)s recorded.") % {"agent": form.cleaned_data["agent"]}
            )
            return redirect(f"{request.path}?days={days}")
    candidates = coaching.coaching_candidates(filters=period, viewer=request.user)
    sessions = list(coaching_sessions_recent())
    sessions_by_agent: dict[int, list] = {}
    for session in sessions:
        sessions_by_agent.setdefault(session.agent_id, []).append(session)
    context = {
        "page_title": gettext("Coaching"),
        "days": days,
        "periods": PERIODS,
        "period": period,
        "last_day": period.end - dt.timedelta(days=1),
        "candidates": [(row, sessions_by_agent.get(row.agent.pk, [])) for row in candidates],
        "sessions": sessions,
        "form": form,
        "factor": coaching.COACHING_FACTOR,
        "min_tickets": coaching.COACHING_MIN_TICKETS,
    }
    return TemplateResponse(request, "reports/coaching.html", context)


@login_required
@manager_required(message="Reports are for managers.")
@require_GET
@rollups_memoised()
def attention_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The "needs attention now" panel alone, polled by the dashboard every minute (htmx)."""
    now = timezone.now()
    days = _period_days(request)
    period = metrics.MetricFilters.last_days(now=now, days=days)
    context = {"attention": dashboard.needs_attention(viewer=request.user, now=now, period=period), "days": days}

    return TemplateResponse(request, "reports/dashboard.html#attention", context)


def _explorer_state(request: AuthenticatedHttpRequest) -> dict:
    now = timezone.now()
    filters = metrics.MetricFilters.from_params(request.GET, now=now)
    key = request.GET.get("metric")
    metric = metrics.METRICS.get(key or "") or metrics.METRICS["escalation_rate"]
    group = request.GET.get("group") or None
    allowed = metrics.dimensions_of(metric.source)
    if metric.key == "escalation_rate" and group == "type":
        # Tickets have no type; the rate per type is "tickets escalated with that type / all tickets" (table only).
        series = metrics.metric_series(metric.key, filters=filters, viewer=request.user)
        breakdown: list[metrics.BreakdownRow] | None = metrics.escalation_rate_by_type(
            filters=filters, viewer=request.user
        )
        return {
            "filters": filters,
            "metric": metric,
            "group": group,
            "series": series,
            "series_group": None,
            "breakdown": breakdown,
        }
    if group not in allowed:
        group = None
    series = metrics.metric_series(metric.key, filters=filters, viewer=request.user, group=group)
    breakdown = metrics.metric_breakdown(metric.key, by=group, filters=filters, viewer=request.user) if group else None
    return {
        "filters": filters,
        "metric": metric,
        "group": group,
        "series": series,
        "series_group": group,
        "breakdown": breakdown,
    }


@login_required
@manager_required(message="Reports are for managers.")
@require_GET
@rollups_memoised()
def explorer_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    state = _explorer_state(request)
    metric, series = state["metric"], state["series"]
    params = state["filters"].to_params() | {"metric": metric.key}
    if state["group"]:
        params["group"] = state["group"]
    weeks = [week for week, _ in series[0].points] if series else []
    context = {
        "page_title": gettext("Trend explorer"),
        **state,
        "chart": _chart_for(
            chart_id="explorer",
            metric=metric,
            series=series,
            title=gettext("%(metric)s per week") % {"metric": gettext(metric.label)},
            description=gettext(metric.description),
        ),
        "weeks": weeks,
        "table": [(s.label, [charts.format_value(v, metric.unit) for _, v in s.points]) for s in series],
        "params": params,
        "metric_choices": [(m.key, m.label) for m in metrics.METRICS.values()],
        "group_choices": [(d, d.capitalize()) for d in metrics.DIMENSIONS],
        "teams": Team.objects.order_by("tier", "name"),
        "tiers": Tier.choices,
        "categories": Category.objects.all(),
        "plans": Plan.objects.all(),
        "channels": Channel.choices,
        "agents": coachable_staff().order_by("first_name", "last_name"),
        "escalation_types": EscalationType.choices,
    }
    return TemplateResponse(request, "reports/explorer.html", context)


@login_required
@manager_required(message="Reports are for managers.")
@require_GET
@rollups_memoised()
def explorer_csv_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The explorer's series as CSV: the same numbers the viewer sees on screen, formula-safe."""
    state = _explorer_state(request)
    metric = state["metric"]
    group_header = (state["series_group"] or "series").capitalize()
    rows = (
        (week.date().isoformat(), series.label, value, metric.unit)
        for series in state["series"]
        for week, value in series.points
    )
    body = csv_render(header=["Week starting (UTC)", group_header, metric.label, "Unit"], rows=rows)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    filename = f"{metric.key}-{state['filters'].start:%Y%m%d}-{state['filters'].end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@manager_required(message="Reports are for managers.")
@require_http_methods(["GET", "POST"])
def sla_simulator_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """GET: the draft form and, once filled in, the replay (read-only). POST: an admin applies the draft, which
    needs the confirmation box; managers may simulate but not apply."""
    now = timezone.now()
    is_admin = request.user.is_admin
    data = request.POST if request.method == "POST" else (request.GET if "start" in request.GET else None)
    initial = {"start": (now - dt.timedelta(days=28)).date(), "end": (now - dt.timedelta(days=1)).date()}
    form = SLASimulatorForm(data, initial=initial)
    result = None
    if request.method == "POST":
        sla_admin_required(request.user)  # the policy-change service's own check, before reading the form
        if form.is_valid():
            try:
                policies = sla_draft_apply(
                    draft=form.draft(), actor=request.user, confirmed=form.cleaned_data["confirm"]
                )
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                names = ", ".join(p.name for p in policies)
                messages.success(request, gettext("Draft applied to %(policies)s.") % {"policies": names})
                return redirect("reports_sla_simulator")
    if data is not None and (form.is_valid() or set(form.errors) == {"confirm"}):
        # a missing confirmation keeps the simulation on screen, next to the box to tick
        start = dt.datetime.combine(form.cleaned_data["start"], dt.time(), tzinfo=dt.UTC)
        end = dt.datetime.combine(form.cleaned_data["end"] + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        result = simulate(draft=form.draft(), start=start, end=min(end, now), viewer=request.user, now=now)
    context = {"page_title": "SLA what-if", "form": form, "result": result, "is_admin": is_admin}
    return TemplateResponse(request, "reports/sla_simulator.html", context)
