"""The analytics API: ``/api/metrics/``, the dashboard's numbers for managers and administrators. Registered from
``ReportsConfig.ready`` (nothing imports ``reports``). The numbers come from ``reports.metrics`` with the viewer's
visibility, exactly as on the dashboard; the query string is validated strictly (a bad value is a 400 naming it)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.api.filters import reject_unknown_params
from helpdesk.api.views import E400, E401, E403
from helpdesk.models import Category, Channel, Plan, Role, Team, Tier, User
from reports.metrics import DASHBOARD_TILES, METRICS, MetricFilters, metric_tiles

DEFAULT_DAYS = 28
MAX_DAYS = 366


class IsManagerOrAdmin(BasePermission):
    message = "Only managers and administrators can read the analytics."

    def has_permission(self, request, view):
        user = request.user
        return bool(user.is_authenticated and user.can_coach)


class MetricsQuerySerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First day (inclusive, UTC); default 27 days before end.")
    end = serializers.DateField(required=False, help_text="Last day (inclusive, UTC); default today.")
    metrics = serializers.CharField(
        required=False, help_text=f"Comma-separated keys from: {', '.join(METRICS)} (default: the dashboard's)."
    )
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), required=False)
    tier = serializers.ChoiceField(choices=Tier.choices, required=False)
    category = serializers.SlugRelatedField(slug_field="slug", queryset=Category.objects.all(), required=False)
    plan = serializers.SlugRelatedField(slug_field="code", queryset=Plan.objects.all(), required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    agent = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.exclude(role=Role.CUSTOMER), required=False, help_text="A staff member's id."
    )

    def validate_metrics(self, value: str) -> list[str]:
        keys = [key.strip() for key in value.split(",") if key.strip()]
        unknown = [key for key in keys if key not in METRICS]
        if unknown or not keys:
            raise serializers.ValidationError(
                f"Unknown metric(s): {', '.join(unknown) or '(none given)'}. Allowed: {', '.join(METRICS)}."
            )
        return list(dict.fromkeys(keys))

    def validate(self, attrs):
        today = timezone.now().astimezone(dt.UTC).date()
        end = attrs.get("end", today)
        start = attrs.get("start", end - dt.timedelta(days=DEFAULT_DAYS - 1))
        if start > end:
            raise serializers.ValidationError({"start": ["Must be on or before end."]})
        if (end - start).days + 1 > MAX_DAYS:
            raise serializers.ValidationError({"start": [f"The period may be at most {MAX_DAYS} days."]})
        attrs["start"], attrs["end"] = start, end
        return attrs


class MetricSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field (the metaclass pops it), not Field.label
    unit = serializers.ChoiceField(choices=["%", "count", "hours"])
    description = serializers.CharField()
    value = serializers.FloatField(allow_null=True, help_text="Null when there is nothing to measure.")
    previous = serializers.FloatField(allow_null=True, help_text="The same metric over the previous period.")
    change = serializers.FloatField(
        allow_null=True, help_text="Percentage points for rates, a relative % for counts and durations."
    )
    higher_is_better = serializers.BooleanField(allow_null=True)


class MetricsSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    previous_start = serializers.DateField()
    previous_end = serializers.DateField()
    metrics = MetricSerializer(many=True)


def _day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date()


class MetricsApi(APIView):
    permission_classes = [IsManagerOrAdmin]

    @extend_schema(
        operation_id="metrics_retrieve",
        summary="The analytics numbers (managers and admins)",
        description=f"Each metric for the period and for the period of the same length before it. Periods are whole "
        f"UTC days, at most {MAX_DAYS}. Filters narrow both periods; tickets you may not see are never counted.",
        parameters=[MetricsQuerySerializer],
        responses={200: MetricsSerializer, **E400, **E401, **E403},
        examples=[
            OpenApiExample(
                "Two metrics",
                response_only=True,
                value={
                    "start": "2026-10-27",
                    "end": "2026-11-23",
                    "previous_start": "2026-09-29",
                    "previous_end": "2026-10-26",
                    "metrics": [
                        {
                            "key": "escalation_rate",
                            "label": "Escalation rate",
                            "unit": "%",
                            "description": "Tickets created in the period that were escalated at least once.",
                            "value": 18.5,
                            "previous": 21.0,
                            "change": -2.5,
                            "higher_is_better": False,
                        }
                    ],
                },
            )
        ],
    )
    def get(self, request):
        reject_unknown_params(request, set(MetricsQuerySerializer().fields))
        query = MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        filters = MetricFilters(
            start=dt.datetime.combine(data["start"], dt.time(), tzinfo=dt.UTC),
            end=dt.datetime.combine(data["end"] + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC),
            team_id=data["team"].pk if "team" in data else None,
            tier=int(data["tier"]) if "tier" in data else None,
            category_id=data["category"].pk if "category" in data else None,
            plan_id=data["plan"].pk if "plan" in data else None,
            channel=data.get("channel"),
            agent_id=data["agent"].pk if "agent" in data else None,
        )
        tiles = metric_tiles(data.get("metrics") or list(DASHBOARD_TILES), filters=filters, viewer=request.user)
        previous = filters.previous()
        body = {
            "start": _day(filters.start),
            "end": _day(filters.end) - dt.timedelta(days=1),
            "previous_start": _day(previous.start),
            "previous_end": _day(previous.end) - dt.timedelta(days=1),
            "metrics": [
                {
                    "key": tile.metric.key,
                    "label": tile.metric.label,
                    "unit": tile.metric.unit,
                    "description": tile.metric.description,
                    "value": tile.value,
                    "previous": tile.previous,
                    "change": tile.change,
                    "higher_is_better": tile.metric.higher_is_better,
                }
                for tile in tiles
            ],
        }
        return Response(MetricsSerializer(body).data)
