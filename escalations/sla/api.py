"""The SLA API (DRF), registered with ``helpdesk.api.registry`` by ``escalations.sla.wiring.connect``:

- ``/api/tickets/{reference}/sla/``: a ticket's clocks (staff see every field, customers the promise);
- ``/api/sla-policies/``: staff read, administrators write (through ``sla_policy_save``, which recomputes the live
  clocks).

It shares the escalation API's strict-list behaviour and error documentation, so both read the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from escalations.api import LIST_ERRORS, READ_ERRORS, WRITE_ERRORS, StrictListMixin
from escalations.models import BusinessCalendar, ClockState, SLAClock, SLAPolicy
from escalations.sla.selectors import sla_clocks_for_ticket
from escalations.sla.services import sla_policy_save
from helpdesk.api.filters import StrictOrderingFilter, reject_unknown_params
from helpdesk.api.permissions import IsAdminOrStaffReadOnly
from helpdesk.api.schema import schema_staff_only_register
from helpdesk.api.serializers import UNKNOWN
from helpdesk.api.views import E401, E403, E404
from helpdesk.models import Category, Plan, Priority
from helpdesk.selectors import ticket_get_for_user
from helpdesk.typing import AuthenticatedRequest

# --- a ticket's clocks -------------------------------------------------------------------------------------------


class StaffClockSerializer(serializers.ModelSerializer):
    policy = serializers.CharField(source="policy.name", default=None, allow_null=True, read_only=True)

    class Meta:
        model = SLAClock
        fields = [
            "id",
            "target",
            "state",
            "policy",
            "target_seconds",
            "started_at",
            "due_at",
            "warn_at",
            "paused_since",
            "met_at",
            "warned_at",
            "breached_at",
            "escalation_level",
        ]
        read_only_fields = fields


class CustomerClockSerializer(serializers.ModelSerializer):
    """A customer sees the promise and whether it was kept, not the internal warning and escalation machinery."""

    class Meta:
        model = SLAClock
        fields = ["target", "state", "due_at", "met_at"]
        read_only_fields = fields


schema_staff_only_register(
    component="StaffClock",
    description="An SLA clock. Customers receive it without the fields marked staff only.",
    fields=tuple(set(StaffClockSerializer.Meta.fields) - set(CustomerClockSerializer.Meta.fields)),
)


class StaffTicketSlaSerializer(serializers.Serializer):
    ticket = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True, help_text="The earliest due time of a live clock.")
    clocks = StaffClockSerializer(many=True)


class CustomerTicketSlaSerializer(serializers.Serializer):
    ticket = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True, help_text="The earliest due time of a live clock.")
    clocks = CustomerClockSerializer(many=True)


class TicketSlaApi(APIView):
    """``/api/tickets/{reference}/sla/``: a plain view beside the ticket routes, which stay helpdesk's and the
    escalation API's; its route and URL name are registered by the SLA wiring."""

    request: AuthenticatedRequest  # IsAuthenticated (the default) runs before any handler

    @extend_schema(
        summary="The ticket's SLA clocks",
        description="Staff see every clock with its warning, breach and escalation level; customers see the "
        "targets, their due times and whether they were met.",
        responses={200: StaffTicketSlaSerializer, **READ_ERRORS},
    )
    def get(self, request: AuthenticatedRequest, reference: str) -> Response:
        reject_unknown_params(request, ())
        ticket = ticket_get_for_user(user=request.user, reference=reference)
        clocks = sla_clocks_for_ticket(ticket=ticket)
        live = [c.due_at for c in clocks if c.state == ClockState.RUNNING and c.due_at is not None]
        body = {"ticket": ticket.reference, "due_at": min(live) if live else None, "clocks": clocks}
        if request.user.is_customer:
            return Response(CustomerTicketSlaSerializer(body).data)
        return Response(StaffTicketSlaSerializer(body).data)


# --- SLA policies ------------------------------------------------------------------------------------------------


class SlaPolicySerializer(serializers.ModelSerializer):
    """Strict for administrators' writes: an unknown or read-only field is a 400 naming it."""

    plan = serializers.SlugRelatedField(slug_field="code", queryset=Plan.objects.all())
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), required=False, allow_null=True
    )
    calendar = serializers.SlugRelatedField(slug_field="name", queryset=BusinessCalendar.objects.all())
    warn_percent = serializers.IntegerField(min_value=1, max_value=99, required=False)

    class Meta:
        model = SLAPolicy
        fields = [
            "id",
            "name",
            "plan",
            "priority",
            "category",
            "calendar",
            "first_response_minutes",
            "next_response_minutes",
            "resolution_minutes",
            "warn_percent",
            "pause_on_pending_customer",
            "pause_on_pending_third_party",
            "is_active",
        ]
        read_only_fields = ["id"]
        validators: list = []  # the model's conditional unique constraints are checked by the service

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            extra = sorted(set(data) - writable)
            if extra:
                raise serializers.ValidationError(
                    {name: ["This field is read-only." if name == "id" else UNKNOWN] for name in extra}
                )
        return super().to_internal_value(data)


class SlaPolicyFilter(django_filters.FilterSet):
    plan = django_filters.ModelChoiceFilter(queryset=Plan.objects.all(), to_field_name="code")
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = SLAPolicy
        fields = ["plan", "priority", "is_active"]


@extend_schema_view(
    list=extend_schema(summary="SLA policies (staff)", responses={200: SlaPolicySerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(summary="One SLA policy (staff)", responses={200: SlaPolicySerializer, **READ_ERRORS}),
    create=extend_schema(summary="Create an SLA policy (admin)", responses={201: SlaPolicySerializer, **WRITE_ERRORS}),
    partial_update=extend_schema(
        summary="Change an SLA policy (admin)",
        description="Running clocks keep their targets; new clocks use the change.",
        responses={200: SlaPolicySerializer, **WRITE_ERRORS},
    ),
    destroy=extend_schema(
        summary="Delete an SLA policy (admin)",
        description="Clocks it started keep running on their recorded targets.",
        responses={204: None, **E401, **E403, **E404},
    ),
)
class SlaPolicyViewSet(
    StrictListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Staff read; administrators write."""

    permission_classes = [IsAdminOrStaffReadOnly]
    serializer_class = SlaPolicySerializer
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = SlaPolicyFilter
    ordering_fields = ["name", "priority"]
    ordering = ["plan__rank", "priority", "name", "pk"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    queryset = SLAPolicy.objects.select_related("plan", "category", "calendar")

    def get_object(self) -> SLAPolicy:
        pk = self.kwargs["pk"]
        found = self.get_queryset().filter(pk=pk).first() if str(pk).isdigit() else None
        if found is None:
            raise NotFound("No such SLA policy.")
        return found

    def perform_create(self, serializer):
        serializer.instance = sla_policy_save(
            policy=SLAPolicy(), actor=self.request.user, fields=serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = sla_policy_save(
            policy=serializer.instance,
            actor=self.request.user,
            fields=serializer.validated_data,
        )
