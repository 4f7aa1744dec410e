"""The phone side in the API (staff only: call notes and callback reasons are staff text), registered from
``EscalationsConfig.ready``:

- ``/api/calls/``: the calls of the tickets you can see; ``POST`` logs one (``call_log``: on a ticket, or opening a
  phone ticket for a customer);
- ``/api/callbacks/``: promised callbacks; ``POST`` promises one (``callback_create``), ``complete/`` keeps it
  (``callback_complete``, which logs the outbound call).

Rows come from ``calls_visible_to`` / ``callbacks_visible_to`` (the ticket visibility rule), and a ticket named in a
body is fetched through ``ticket_get_for_user``, so a restricted ticket is a 404 here as everywhere."""

from __future__ import annotations

import django_filters
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from escalations.api import LIST_ERRORS, READ_ERRORS, WRITE_ERRORS
from escalations.calls.selectors import callbacks_visible_to, calls_visible_to
from escalations.calls.services import call_log, callback_complete, callback_create
from escalations.models import Call, CallbackStatus, CallDirection, CallOutcome
from escalations.models import Callback as CallbackModel
from helpdesk.api.filters import StrictListMixin, StrictOrderingFilter
from helpdesk.api.permissions import IsStaffMember
from helpdesk.api.serializers import PersonSerializer, StrictInputSerializer
from helpdesk.models import STAFF_ROLES, Role, Ticket, User
from helpdesk.selectors import ticket_get_for_user
from helpdesk.typing import AuthenticatedRequest

CALL_RELATED = ("ticket", "agent")
CALLBACK_RELATED = ("ticket", "customer", "owner")


def _ticket(user: User, reference: str) -> Ticket:
    try:
        return ticket_get_for_user(user=user, reference=reference)
    except Http404 as exc:
        raise serializers.ValidationError({"ticket": ["No such ticket, or you may not see it."]}) from exc


# --- serializers -------------------------------------------------------------------------------------------------


class CallSerializer(serializers.ModelSerializer):
    ticket = serializers.CharField(source="ticket.reference", read_only=True)
    agent = PersonSerializer(read_only=True, allow_null=True)
    callback: serializers.PrimaryKeyRelatedField[CallbackModel] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )

    class Meta:
        model = Call
        fields = [
            "id",
            "ticket",
            "agent",
            "direction",
            "number",
            "started_at",
            "duration_seconds",
            "summary",
            "outcome",
            "callback",
        ]
        read_only_fields = fields


class CallInputSerializer(StrictInputSerializer):
    ticket = serializers.CharField(
        required=False, max_length=40, help_text="The ticket's reference; leave out to open a phone ticket."
    )
    customer = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(role=Role.CUSTOMER, is_active=True),
        required=False,
        help_text="Without a ticket: the customer to open a new phone ticket for.",
    )
    subject = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    direction = serializers.ChoiceField(choices=CallDirection.choices)
    number = serializers.CharField(max_length=40)
    summary = serializers.CharField(max_length=20000)
    outcome = serializers.ChoiceField(choices=CallOutcome.choices)
    duration_seconds = serializers.IntegerField(min_value=0, max_value=86400, default=0)
    started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class CallbackSerializer(serializers.ModelSerializer):
    ticket = serializers.CharField(source="ticket.reference", read_only=True)
    customer = PersonSerializer(read_only=True)
    owner = PersonSerializer(read_only=True)
    escalation: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = CallbackModel
        fields = [
            "id",
            "ticket",
            "customer",
            "number",
            "window_start",
            "window_end",
            "customer_timezone",
            "owner",
            "reason",
            "escalation",
            "status",
            "outcome",
            "reminded_at",
            "breached_at",
            "completed_at",
            "created_at",
        ]
        read_only_fields = fields


class CallbackInputSerializer(StrictInputSerializer):
    ticket = serializers.CharField(max_length=40, help_text="The ticket's reference.")
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    reason = serializers.CharField(max_length=4000)
    number = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(role__in=STAFF_ROLES, is_active=True),
        required=False,
        allow_null=True,
        default=None,
        help_text="Who calls back (default: you).",
    )


class CallbackCompleteInputSerializer(StrictInputSerializer):
    outcome = serializers.ChoiceField(choices=CallOutcome.choices)
    summary = serializers.CharField(max_length=20000)
    duration_seconds = serializers.IntegerField(min_value=0, max_value=86400, default=0)
    number = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)


# --- filters -----------------------------------------------------------------------------------------------------


class CallFilter(django_filters.FilterSet):
    ticket = django_filters.CharFilter(field_name="ticket__reference", help_text="A ticket reference.")
    direction = django_filters.ChoiceFilter(choices=CallDirection.choices)
    outcome = django_filters.ChoiceFilter(choices=CallOutcome.choices)

    class Meta:
        model = Call
        fields = ["ticket", "direction", "outcome"]


class CallbackFilter(django_filters.FilterSet):
    ticket = django_filters.CharFilter(field_name="ticket__reference", help_text="A ticket reference.")
    status = django_filters.ChoiceFilter(choices=CallbackStatus.choices)
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.filter(role__in=STAFF_ROLES), help_text="An id.")

    class Meta:
        model = CallbackModel
        fields = ["ticket", "status", "owner"]


# --- views -------------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Calls on the tickets you can see (staff)",
        responses={200: CallSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(summary="One call (staff)", responses={200: CallSerializer, **READ_ERRORS}),
    create=extend_schema(
        summary="Log a call (staff)",
        description="On a ticket (`ticket`), or for a `customer` without one, which opens a phone ticket. The call "
        "is an internal timeline event; the customer sees none of the notes.",
        request=CallInputSerializer,
        responses={201: CallSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Inbound call",
                request_only=True,
                value={
                    "ticket": "HD-2026-000042",
                    "direction": "inbound",
                    "number": "+44 20 7946 0000",
                    "summary": "Customer confirmed the refund arrived.",
                    "outcome": "resolved",
                    "duration_seconds": 240,
                },
            )
        ],
    ),
)
class CallViewSet(
    StrictListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    request: AuthenticatedRequest
    permission_classes = [IsStaffMember]
    serializer_class = CallSerializer
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = CallFilter
    ordering_fields = ["started_at", "duration_seconds"]
    ordering = ["-started_at", "-pk"]
    queryset = Call.objects.none()

    def get_queryset(self):
        return calls_visible_to(self.request.user).select_related(*CALL_RELATED)

    def get_object(self) -> Call:
        pk = self.kwargs["pk"]
        found = self.get_queryset().filter(pk=pk).first() if str(pk).isdigit() else None
        if found is None:
            raise NotFound("No such call.")
        return found

    def create(self, request, *args, **kwargs) -> Response:
        data = CallInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reference = values.pop("ticket", None)
        ticket = _ticket(request.user, reference) if reference else None
        call = call_log(actor=request.user, ticket=ticket, **values)
        return Response(CallSerializer(self.get_queryset().get(pk=call.pk)).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="Promised callbacks on the tickets you can see (staff)",
        responses={200: CallbackSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(summary="One callback (staff)", responses={200: CallbackSerializer, **READ_ERRORS}),
    create=extend_schema(
        summary="Promise a callback (staff)",
        description="The customer is emailed the window in their own time zone. The window must end in the future.",
        request=CallbackInputSerializer,
        responses={201: CallbackSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Callback",
                request_only=True,
                value={
                    "ticket": "HD-2026-000042",
                    "window_start": "2026-11-24T09:00:00Z",
                    "window_end": "2026-11-24T11:00:00Z",
                    "reason": "Confirm the refund once finance has run it.",
                },
            )
        ],
    ),
)
class CallbackViewSet(
    StrictListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    request: AuthenticatedRequest
    permission_classes = [IsStaffMember]
    serializer_class = CallbackSerializer
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = CallbackFilter
    ordering_fields = ["window_start", "window_end", "created_at"]
    ordering = ["window_start", "pk"]
    queryset = CallbackModel.objects.none()

    def get_queryset(self):
        return callbacks_visible_to(self.request.user).select_related(*CALLBACK_RELATED)

    def get_object(self) -> CallbackModel:
        pk = self.kwargs["pk"]
        found = self.get_queryset().filter(pk=pk).first() if str(pk).isdigit() else None
        if found is None:
            raise NotFound("No such callback.")
        return found

    def create(self, request, *args, **kwargs) -> Response:
        data = CallbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        ticket = _ticket(request.user, values.pop("ticket"))
        callback = callback_create(ticket=ticket, actor=request.user, **values)
        return Response(
            CallbackSerializer(self.get_queryset().get(pk=callback.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Keep a callback: log its call (staff)",
        description="The outcome is logged as an outbound call and the callback is done; a callback already done is "
        "a 400.",
        request=CallbackCompleteInputSerializer,
        responses={201: CallSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Done", request_only=True, value={"outcome": "resolved", "summary": "Refund confirmed by phone."}
            )
        ],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def complete(self, request: AuthenticatedRequest, pk=None) -> Response:
        callback = self.get_object()
        data = CallbackCompleteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        call = callback_complete(callback=callback, actor=request.user, **data.validated_data)
        saved = calls_visible_to(request.user).select_related(*CALL_RELATED).get(pk=call.pk)
        return Response(CallSerializer(saved).data, status=status.HTTP_201_CREATED)
