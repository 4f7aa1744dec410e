"""The escalation API (DRF): thin views over the same selectors and services as the screens.

Input serializers validate shape only; the services hold the rules and their messages. Every object is fetched
through its visibility selector, so a restricted ticket's escalation is a 404 here too.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from escalations import selectors, services
from escalations.models import Currency, Escalation, EscalationType
from helpdesk.selectors import ticket_get_for_user


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=OpenApiTypes.OBJECT, description=description)


# Documented error answers (same words as the screens): schema and behaviour agree.
READ_ERRORS = {
    400: _error("Invalid input: the body names each offending field."),
    401: _error("Not signed in, or the token is invalid or revoked."),
    403: _error("Only staff can use the escalation API, or your role may not do this."),
    404: _error("No such escalation or ticket, or you may not see it."),
}
WRITE_ERRORS = {
    **READ_ERRORS,
    409: _error("Someone else acted on this escalation first: the message names who."),
    415: _error("Send `Content-Type: application/json`."),
}


class IsStaff(BasePermission):
    message = "Only staff can use the escalation API."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff_member)


class EscalationOutputSerializer(serializers.ModelSerializer):
    ticket = serializers.CharField(source="ticket.reference")
    to_team = serializers.CharField(source="to_team.name", default=None, allow_null=True)
    from_team = serializers.CharField(source="from_team.name", default=None, allow_null=True)
    accepted_by = serializers.CharField(source="accepted_by.display_name", default=None, allow_null=True)
    requested_by = serializers.CharField(source="requested_by.display_name", default=None, allow_null=True)

    class Meta:
        model = Escalation
        fields = [
            "id",
            "ticket",
            "escalation_type",
            "mode",
            "status",
            "level",
            "previous",
            "from_tier",
            "to_tier",
            "from_team",
            "to_team",
            "requested_by_kind",
            "requested_by",
            "reason",
            "dossier_problem",
            "dossier_tried",
            "dossier_desired_outcome",
            "dossier_mood",
            "accepted_by",
            "accepted_at",
            "return_guidance",
            "resolution_summary",
            "created_at",
            "ack_due_at",
            "closed_at",
        ]


class EscalateInputSerializer(serializers.Serializer):
    escalation_type = serializers.ChoiceField(choices=EscalationType.choices)
    mode = serializers.ChoiceField(choices=["functional", "hierarchical"])
    reason = serializers.CharField(allow_blank=True)
    dossier_problem = serializers.CharField(allow_blank=True)
    dossier_tried = serializers.CharField(allow_blank=True)
    dossier_desired_outcome = serializers.CharField(allow_blank=True)
    dossier_mood = serializers.CharField(allow_blank=True)
    caller_waiting = serializers.BooleanField(default=False)
    compensation_amount = serializers.DecimalField(max_digits=10, decimal_places=2, required=False, allow_null=True)
    compensation_currency = serializers.ChoiceField(choices=Currency.choices, required=False, default="")
    compensation_reason = serializers.CharField(required=False, allow_blank=True, default="")
    vendor_name = serializers.CharField(required=False, allow_blank=True, default="")
    vendor_reference = serializers.CharField(required=False, allow_blank=True, default="")
    vendor_contact = serializers.CharField(required=False, allow_blank=True, default="")
    vendor_follow_up_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class TextInputSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True)


class FurtherInputSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True)
    dossier_tried = serializers.CharField(required=False, allow_blank=True, default="")
    compensation_amount = serializers.DecimalField(max_digits=10, decimal_places=2, required=False, allow_null=True)
    compensation_currency = serializers.ChoiceField(choices=Currency.choices, required=False, default="")
    compensation_reason = serializers.CharField(required=False, allow_blank=True, default="")


class DecisionInputSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


def _call(fn, **kwargs):
    """Run a service and translate its refusals into API errors with the same words."""
    try:
        return fn(**kwargs)
    except services.EscalationConflict as exc:
        raise ApiConflict({"detail": str(exc)}) from exc
    except PermissionDenied as exc:
        raise ApiPermissionDenied(str(exc)) from exc
    except ValidationError as exc:
        raise ApiValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}) from exc


class ApiConflict(ApiValidationError):
    status_code = status.HTTP_409_CONFLICT


def _escalation(request: Request, pk: int) -> Escalation:
    try:
        return selectors.escalation_get_for_user(user=request.user, pk=pk)
    except Http404 as exc:
        raise NotFound("No such escalation.") from exc


class EscalationListApi(APIView):
    """GET: escalations the user may see; ``?status=``, ``?type=``, ``?ticket=`` filter them."""

    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(
        operation_id="escalations_list",
        parameters=[
            OpenApiParameter("status", str, description="open, accepted, resolved, returned or superseded"),
            OpenApiParameter("type", str, description="escalation type, e.g. technical"),
            OpenApiParameter("ticket", str, description="ticket reference, e.g. HD-2026-000123"),
        ],
        responses={200: EscalationOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        qs = selectors.escalations_visible_to(request.user).select_related(
            "ticket", "to_team", "from_team", "accepted_by", "requested_by"
        )
        if value := request.query_params.get("status"):
            qs = qs.filter(status=value)
        if value := request.query_params.get("type"):
            qs = qs.filter(escalation_type=value)
        if value := request.query_params.get("ticket"):
            qs = qs.filter(ticket__reference=value)
        return Response(EscalationOutputSerializer(qs.order_by("-created_at")[:200], many=True).data)


class EscalationCreateApi(APIView):
    """POST: escalate a ticket with its dossier (the same rules as the escalate form)."""

    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(
        operation_id="tickets_escalate",
        request=EscalateInputSerializer,
        responses={201: EscalationOutputSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, reference: str) -> Response:
        try:
            ticket = ticket_get_for_user(user=request.user, reference=reference)
        except Http404 as exc:
            raise NotFound("No such ticket.") from exc
        data = EscalateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        escalation = _call(services.escalation_create, ticket=ticket, actor=request.user, **data.validated_data)
        return Response(EscalationOutputSerializer(escalation).data, status=status.HTTP_201_CREATED)


class EscalationDetailApi(APIView):
    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(operation_id="escalations_retrieve", responses={200: EscalationOutputSerializer, **READ_ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        return Response(EscalationOutputSerializer(_escalation(request, pk)).data)


class EscalationAcceptApi(APIView):
    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(
        operation_id="escalations_accept", request=None, responses={200: EscalationOutputSerializer, **WRITE_ERRORS}
    )
    def post(self, request: Request, pk: int) -> Response:
        escalation = _call(services.escalation_accept, escalation=_escalation(request, pk), actor=request.user)
        return Response(EscalationOutputSerializer(escalation).data)


class EscalationReturnApi(APIView):
    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(
        operation_id="escalations_return",
        request=TextInputSerializer,
        responses={200: EscalationOutputSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = TextInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        escalation = _call(
            services.escalation_return,
            escalation=_escalation(request, pk),
            actor=request.user,
            guidance=data.validated_data["text"],
        )
        return Response(EscalationOutputSerializer(escalation).data)


class EscalationFurtherApi(APIView):
    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(
        operation_id="escalations_escalate_further",
        request=FurtherInputSerializer,
        responses={201: EscalationOutputSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = FurtherInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        escalation = _call(
            services.escalation_escalate_further,
            escalation=_escalation(request, pk),
            actor=request.user,
            **data.validated_data,
        )
        return Response(EscalationOutputSerializer(escalation).data, status=status.HTTP_201_CREATED)


class EscalationResolveApi(APIView):
    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(
        operation_id="escalations_resolve",
        request=TextInputSerializer,
        responses={200: EscalationOutputSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = TextInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        escalation = _call(
            services.escalation_resolve,
            escalation=_escalation(request, pk),
            actor=request.user,
            summary=data.validated_data["text"],
        )
        return Response(EscalationOutputSerializer(escalation).data)


class CompensationDecideApi(APIView):
    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(
        operation_id="compensations_decide",
        request=DecisionInputSerializer,
        responses={
            200: inline_serializer(
                "CompensationDecision",
                {
                    "id": serializers.IntegerField(),
                    "status": serializers.CharField(),
                    "decided_by": serializers.CharField(),
                },
            ),
            **WRITE_ERRORS,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        compensation = selectors.compensation_requests_visible_to(request.user).filter(pk=pk).first()
        if compensation is None:
            raise NotFound("No such compensation request.")
        data = DecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = _call(services.compensation_decide, request=compensation, actor=request.user, **data.validated_data)
        return Response({"id": decided.pk, "status": decided.status, "decided_by": request.user.display_name})
