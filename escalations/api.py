"""The escalation API (DRF): thin viewsets over the same selectors and services as the screens, registered with
``helpdesk.api.registry`` from ``EscalationsConfig.ready``.

- ``/api/escalations/``: the escalations you may see (paginated, allowlisted filters and ordering), one escalation,
  and the actions ``accept``, ``return``, ``resolve`` and ``escalate-further``;
- ``/api/tickets/{reference}/escalate/`` and ``/request-manager/`` (the customer's request, throttled);
- ``/api/approvals/``: compensation requests, with ``approve`` and ``reject``.

A ticket's SLA clocks and the SLA policies are the SLA engine's (``escalations.sla.api``), which builds on the
helpers here (``StrictListMixin`` and the documented error responses).

Input serializers are strict (an unknown field is a 400 naming it) and validate shape only; the services hold the
rules and their messages. Every object is fetched through its visibility selector, so a restricted ticket's
escalation is a 404 here too.
"""

from __future__ import annotations

import django_filters
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.response import Response

from escalations import selectors, services
from escalations.compensation import compensation_decide
from escalations.models import (
    CompensationRequest,
    CompensationStatus,
    Currency,
    Escalation,
    EscalationMode,
    EscalationStatus,
    EscalationType,
    VendorCase,
)
from helpdesk.api.filters import StrictListMixin, StrictOrderingFilter
from helpdesk.api.permissions import IsStaffMember
from helpdesk.api.serializers import StrictInputSerializer
from helpdesk.api.throttles import ESCALATION_REQUEST, ScopedThrottle
from helpdesk.api.views import (
    E412_RECORD,
    E415,
    E428,
    E429,
    IF_MATCH_ETAG,
    LIST_ERRORS,
    READ_ERRORS,
    error_doc,
    if_match_etag,
)
from helpdesk.models import Team, Ticket
from helpdesk.selectors import ticket_get_for_user
from helpdesk.typing import AuthenticatedRequest

E409 = {409: error_doc("Someone else acted on this first: the message names who.")}
WRITE_ERRORS = {**READ_ERRORS, **E409, **E415}
ETAG_RECORD = OpenApiParameter(
    name="ETag", location=OpenApiParameter.HEADER, type=str, response=[200], description="Send it back in If-Match."
)


# --- serializers -------------------------------------------------------------------------------------------------


class EscalationSerializer(serializers.ModelSerializer):
    """An escalation hop as staff see it, dossier included."""

    ticket = serializers.CharField(source="ticket.reference", read_only=True)
    to_team = serializers.CharField(source="to_team.name", default=None, allow_null=True, read_only=True)
    from_team = serializers.CharField(source="from_team.name", default=None, allow_null=True, read_only=True)
    accepted_by = serializers.CharField(
        source="accepted_by.display_name", default=None, allow_null=True, read_only=True
    )
    requested_by = serializers.CharField(
        source="requested_by.display_name", default=None, allow_null=True, read_only=True
    )

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
        read_only_fields = fields


class EscalateInputSerializer(StrictInputSerializer):
    escalation_type = serializers.ChoiceField(choices=EscalationType.choices)
    mode = serializers.ChoiceField(choices=[EscalationMode.FUNCTIONAL, EscalationMode.HIERARCHICAL])
    reason = serializers.CharField(allow_blank=True, max_length=4000)
    dossier_problem = serializers.CharField(allow_blank=True, max_length=20000)
    dossier_tried = serializers.CharField(allow_blank=True, max_length=20000)
    dossier_desired_outcome = serializers.CharField(allow_blank=True, max_length=4000)
    dossier_mood = serializers.CharField(allow_blank=True, max_length=40)
    caller_waiting = serializers.BooleanField(default=False)
    compensation_amount = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    compensation_currency = serializers.ChoiceField(choices=Currency.choices, required=False, default="")
    compensation_reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    vendor_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    vendor_reference = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    vendor_contact = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    vendor_follow_up_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ReturnInputSerializer(StrictInputSerializer):
    guidance = serializers.CharField(allow_blank=True, max_length=20000)


class ResolveInputSerializer(StrictInputSerializer):
    summary = serializers.CharField(allow_blank=True, max_length=20000)


class FurtherInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(allow_blank=True, max_length=4000)
    dossier_tried = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)
    compensation_amount = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    compensation_currency = serializers.ChoiceField(choices=Currency.choices, required=False, default="")
    compensation_reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class ManagerRequestInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(allow_blank=True, max_length=4000)


class ManagerRequestedSerializer(serializers.Serializer):
    """What the customer learns: their request is in, in plain words (no internal routing)."""

    ticket = serializers.CharField()
    requested_at = serializers.DateTimeField()
    message = serializers.CharField()


class ApprovalSerializer(serializers.ModelSerializer):
    ticket = serializers.CharField(source="ticket.reference", read_only=True)
    escalation: serializers.PrimaryKeyRelatedField[Escalation] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )
    requested_by = serializers.CharField(source="requested_by.display_name", read_only=True)
    decided_by = serializers.CharField(source="decided_by.display_name", default=None, allow_null=True, read_only=True)
    can_decide = serializers.SerializerMethodField(
        help_text="Pending, not yours, and your approval limit covers the amount."
    )

    class Meta:
        model = CompensationRequest
        fields = [
            "id",
            "ticket",
            "escalation",
            "amount",
            "currency",
            "reason",
            "status",
            "requested_by",
            "requester_limit",
            "decided_by",
            "decided_at",
            "decision_note",
            "created_at",
            "can_decide",
        ]
        read_only_fields = fields

    def get_can_decide(self, obj: CompensationRequest) -> bool:
        user = self.context["request"].user
        if obj.status != CompensationStatus.PENDING or obj.requested_by_id == user.pk:
            return False
        limits = self.context.setdefault("limits", {})  # type: ignore[attr-defined]  # stubs: Mapping; DRF: a dict
        if obj.currency not in limits:
            limits[obj.currency] = selectors.approval_limit_for(user=user, currency=obj.currency)
        return obj.amount <= limits[obj.currency]


class ApproveInputSerializer(StrictInputSerializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class RejectInputSerializer(StrictInputSerializer):
    note = serializers.CharField(allow_blank=True, max_length=4000)


# --- filters -----------------------------------------------------------------------------------------------------


class EscalationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=EscalationStatus.choices)
    type = django_filters.ChoiceFilter(field_name="escalation_type", choices=EscalationType.choices)
    mode = django_filters.ChoiceFilter(choices=EscalationMode.choices)
    ticket = django_filters.CharFilter(field_name="ticket__reference", help_text="A ticket reference.")
    to_team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(), to_field_name="slug", help_text="The receiving team's slug."
    )
    level = django_filters.NumberFilter(min_value=1, max_value=10)

    class Meta:
        model = Escalation
        fields = ["status", "type", "mode", "ticket", "to_team", "level"]


class ApprovalFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CompensationStatus.choices)
    currency = django_filters.ChoiceFilter(choices=Currency.choices)
    ticket = django_filters.CharFilter(field_name="ticket__reference", help_text="A ticket reference.")

    class Meta:
        model = CompensationRequest
        fields = ["status", "currency", "ticket"]


# --- escalations -------------------------------------------------------------------------------------------------

ESCALATION_EXAMPLE = OpenApiExample(
    "An escalation",
    response_only=True,
    value={
        "id": 41,
        "ticket": "HD-2026-000042",
        "escalation_type": "technical",
        "mode": "functional",
        "status": "accepted",
        "level": 1,
        "previous": None,
        "from_tier": 1,
        "to_tier": 2,
        "from_team": "Frontline",
        "to_team": "Technical",
        "requested_by_kind": "agent",
        "requested_by": "Alex Morgan",
        "reason": "Export fails for every user",
        "dossier_problem": "CSV export returns a 500",
        "dossier_tried": "Cleared cache, second browser",
        "dossier_desired_outcome": "Working export",
        "dossier_mood": "frustrated",
        "accepted_by": "Priya Shah",
        "accepted_at": "2026-11-23T09:05:00Z",
        "return_guidance": "",
        "resolution_summary": "",
        "created_at": "2026-11-23T09:00:00Z",
        "ack_due_at": "2026-11-23T09:30:00Z",
        "closed_at": None,
    },
)


@extend_schema_view(
    list=extend_schema(
        summary="Escalations you can see (staff)",
        description="Restricted tickets' escalations only for their team and managers. Page size at most 100.",
        responses={200: EscalationSerializer(many=True), **LIST_ERRORS},
        examples=[ESCALATION_EXAMPLE],
    ),
    retrieve=extend_schema(
        summary="One escalation with its dossier (staff)",
        responses={200: EscalationSerializer, **READ_ERRORS},
        examples=[ESCALATION_EXAMPLE],
    ),
)
class EscalationViewSet(StrictListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    request: AuthenticatedRequest  # IsStaffMember runs before any handler
    permission_classes = [IsStaffMember]
    serializer_class = EscalationSerializer
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = EscalationFilter
    ordering_fields = ["created_at", "ack_due_at", "level", "status"]
    ordering = ["-created_at", "-pk"]
    queryset = Escalation.objects.none()

    def get_queryset(self):
        return selectors.escalations_visible_to(self.request.user).select_related(
            "ticket", "to_team", "from_team", "accepted_by", "requested_by"
        )

    def get_object(self) -> Escalation:
        pk = self.kwargs["pk"]
        if not str(pk).isdigit():
            raise NotFound("No such escalation.")
        try:
            return selectors.escalation_get_for_user(user=self.request.user, pk=int(pk))
        except Http404 as exc:
            raise NotFound("No such escalation.") from exc

    def _out(self, escalation: Escalation, code: int = status.HTTP_200_OK) -> Response:
        return Response(EscalationSerializer(escalation).data, status=code)

    @extend_schema(
        summary="Accept an escalation (receiving team or a manager)",
        description="The first to accept owns it; a second accept is a 409 naming the owner.",
        request=None,
        responses={200: EscalationSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def accept(self, request: AuthenticatedRequest, pk=None) -> Response:
        return self._out(services.escalation_accept(escalation=self.get_object(), actor=request.user))

    @extend_schema(
        summary="Return an escalation to the sender with guidance",
        request=ReturnInputSerializer,
        responses={200: EscalationSerializer, **WRITE_ERRORS},
        examples=[OpenApiExample("Return", request_only=True, value={"guidance": "Reset the cache first: KB-12."})],
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return", filter_backends=[])
    def return_(self, request: AuthenticatedRequest, pk=None) -> Response:
        data = ReturnInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        escalation = services.escalation_return(escalation=self.get_object(), actor=request.user, **data.validated_data)
        return self._out(escalation)

    @extend_schema(
        summary="Resolve an accepted escalation",
        description="The summary is sent to the customer; the ticket is resolved too when its guards allow it.",
        request=ResolveInputSerializer,
        responses={200: EscalationSerializer, **WRITE_ERRORS},
        examples=[OpenApiExample("Resolve", request_only=True, value={"summary": "Fixed the export job."})],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def resolve(self, request: AuthenticatedRequest, pk=None) -> Response:
        data = ResolveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        escalation = services.escalation_resolve(
            escalation=self.get_object(), actor=request.user, **data.validated_data
        )
        return self._out(escalation)

    @extend_schema(
        summary="Escalate further, one level up the path",
        description="A compensation above your tier's limit becomes a pending approval.",
        request=FurtherInputSerializer,
        responses={201: EscalationSerializer, **WRITE_ERRORS},
        examples=[OpenApiExample("Further", request_only=True, value={"reason": "Needs a manager's authority"})],
    )
    @action(detail=True, methods=["post"], url_path="escalate-further", filter_backends=[])
    def escalate_further(self, request: AuthenticatedRequest, pk=None) -> Response:
        data = FurtherInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        escalation = services.escalation_escalate_further(
            escalation=self.get_object(),
            actor=request.user,
            **data.validated_data,
        )
        return self._out(escalation, status.HTTP_201_CREATED)


# --- ticket sub-routes -------------------------------------------------------------------------------------------


class TicketEscalationViewSet(viewsets.GenericViewSet):
    """``/api/tickets/{reference}/escalate/`` and ``request-manager/``: only detail actions, so the core ticket
    routes stay helpdesk's."""

    request: AuthenticatedRequest  # IsAuthenticated (the default) runs before any handler

    lookup_field = "reference"
    lookup_value_regex = r"[A-Za-z0-9_-]+"
    queryset = Ticket.objects.none()
    filter_backends: list = []
    pagination_class = None
    throttle_scope = ESCALATION_REQUEST  # used by request-manager only: the one action with the throttle class

    def _ticket(self) -> Ticket:
        return ticket_get_for_user(user=self.request.user, reference=self.kwargs["reference"])

    @extend_schema(
        summary="Escalate a ticket with its handoff dossier (staff)",
        description="The same rules and messages as the escalate form; a second escalation of the same ticket to the "
        "same team is a 409.",
        request=EscalateInputSerializer,
        responses={201: EscalationSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Escalate",
                request_only=True,
                value={
                    "escalation_type": "technical",
                    "mode": "functional",
                    "reason": "Export fails for every user",
                    "dossier_problem": "CSV export returns a 500",
                    "dossier_tried": "Cleared cache, second browser",
                    "dossier_desired_outcome": "Working export",
                    "dossier_mood": "frustrated",
                },
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def escalate(self, request: AuthenticatedRequest, reference=None) -> Response:
        if not request.user.is_staff_member:
            raise ApiPermissionDenied("Only staff can escalate a ticket; customers can ask for a manager.")
        ticket = self._ticket()
        data = EscalateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        escalation = services.escalation_create(ticket=ticket, actor=request.user, **data.validated_data)
        return Response(EscalationSerializer(escalation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Ask for a manager (customer)",
        description="Allowed once enough of the SLA time has passed or we have been quiet for a while, once per "
        "ticket at a time, and a few times a day; the refusal says when you can ask. Throttled "
        "(`escalation_request`).",
        request=ManagerRequestInputSerializer,
        responses={201: ManagerRequestedSerializer, **READ_ERRORS, **E415, **E429},
        examples=[OpenApiExample("Ask", request_only=True, value={"reason": "Three weeks without a working invoice."})],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="request-manager",
        throttle_classes=[ScopedThrottle],
    )
    def request_manager(self, request: AuthenticatedRequest, reference=None) -> Response:
        if not request.user.is_customer:
            raise ApiPermissionDenied("Only the customer can ask for a manager on their request.")
        ticket = self._ticket()
        data = ManagerRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        escalation = services.escalation_request_manager(ticket=ticket, customer=request.user, **data.validated_data)
        return Response(
            ManagerRequestedSerializer(
                {
                    "ticket": ticket.reference,
                    "requested_at": escalation.created_at,
                    "message": "A manager will look at your request and contact you.",
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )


# --- approvals ---------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Compensation requests you can see (staff)",
        description="`can_decide` says whether you may approve or reject it: pending, not your own, and within your "
        "approval limit.",
        responses={200: ApprovalSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One compensation request (staff)", responses={200: ApprovalSerializer, **READ_ERRORS}
    ),
)
class ApprovalViewSet(StrictListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsStaffMember]
    serializer_class = ApprovalSerializer
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = ApprovalFilter
    ordering_fields = ["created_at", "amount", "status"]
    ordering = ["-created_at", "-pk"]
    queryset = CompensationRequest.objects.none()

    def get_queryset(self):
        return selectors.compensation_requests_visible_to(self.request.user).select_related(
            "ticket", "requested_by", "decided_by"
        )

    def get_object(self) -> CompensationRequest:
        pk = self.kwargs["pk"]
        found = self.get_queryset().filter(pk=pk).first() if str(pk).isdigit() else None
        if found is None:
            raise NotFound("No such compensation request.")
        return found

    def _decide(self, request: AuthenticatedRequest, *, approve: bool, serializer_class) -> Response:
        compensation = self.get_object()
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        decided = compensation_decide(
            request=compensation,
            actor=request.user,
            approve=approve,
            **data.validated_data,
        )
        decided = self.get_queryset().get(pk=decided.pk)
        return Response(ApprovalSerializer(decided, context={"request": request}).data)

    @extend_schema(
        summary="Approve a compensation request",
        description="Only someone whose approval limit covers the amount, and never the requester.",
        request=ApproveInputSerializer,
        responses={200: ApprovalSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def approve(self, request: AuthenticatedRequest, pk=None) -> Response:
        return self._decide(request, approve=True, serializer_class=ApproveInputSerializer)

    @extend_schema(
        summary="Reject a compensation request",
        description="A note is required; the requester reads it. Never the requester.",
        request=RejectInputSerializer,
        responses={200: ApprovalSerializer, **WRITE_ERRORS},
        examples=[OpenApiExample("Reject", request_only=True, value={"note": "Covered by the SLA credit already."})],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def reject(self, request: AuthenticatedRequest, pk=None) -> Response:
        return self._decide(request, approve=False, serializer_class=RejectInputSerializer)


# --- vendor cases ------------------------------------------------------------------------------------------------


class VendorCaseSerializer(serializers.ModelSerializer):
    ticket = serializers.CharField(source="ticket.reference", read_only=True)
    escalation: serializers.PrimaryKeyRelatedField[Escalation] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )
    opened_by = serializers.CharField(source="opened_by.display_name", default=None, allow_null=True, read_only=True)

    class Meta:
        model = VendorCase
        fields = [
            "id",
            "ticket",
            "escalation",
            "vendor_name",
            "external_reference",
            "contact",
            "follow_up_at",
            "reminded_at",
            "opened_by",
            "created_at",
            "closed_at",
        ]
        read_only_fields = fields


class VendorCaseUpdateSerializer(StrictInputSerializer):
    forbidden = {
        "vendor_name": "The vendor does not change: open a new case with a third-party escalation.",
        "ticket": "A case stays on its ticket.",
        "reminded_at": "Set by the follow-up reminder; a new follow_up_at re-arms it.",
        "closed_at": "Send close=true to close the case.",
    }

    external_reference = serializers.CharField(
        max_length=120, required=False, allow_blank=True, help_text="The vendor's own case number."
    )
    contact = serializers.CharField(max_length=200, required=False, help_text="Who we talk to at the vendor.")
    follow_up_at = serializers.DateTimeField(
        required=False, help_text="When to chase the vendor next (future); its reminder fires again."
    )
    close = serializers.BooleanField(required=False, default=False, help_text="true: the vendor's part is done.")

    def validate(self, attrs):
        if not any(name in self.initial_data for name in self.fields):
            raise serializers.ValidationError("Nothing to change: send at least one of " + ", ".join(self.fields) + ".")
        return attrs


class VendorCaseFilter(django_filters.FilterSet):
    ticket = django_filters.CharFilter(field_name="ticket__reference", help_text="A ticket reference.")
    open = django_filters.BooleanFilter(field_name="closed_at", lookup_expr="isnull", help_text="true: open cases.")
    vendor = django_filters.CharFilter(field_name="vendor_name", lookup_expr="iexact", help_text="The vendor's name.")

    class Meta:
        model = VendorCase
        fields = ["ticket", "open", "vendor"]


@extend_schema_view(
    list=extend_schema(
        summary="Vendor (third-party) cases you can see (staff)",
        description="Opened by a third-party escalation (`POST /api/tickets/{reference}/escalate/` with the "
        "`vendor_*` fields). Restricted tickets' cases only for their team and managers.",
        responses={200: VendorCaseSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One vendor case (staff)",
        responses={200: VendorCaseSerializer, **READ_ERRORS},
        parameters=[ETAG_RECORD],
    ),
    partial_update=extend_schema(
        summary="Record the vendor's reference, a new contact, the next follow-up, or close the case (staff)",
        description="Each change is an internal event on the ticket's timeline. A closed case takes no more changes "
        "(409). Requires If-Match with the ETag of GET; a stale one is a 412. Cases are opened by a third-party "
        "escalation (`POST /api/tickets/{reference}/escalate/` with the `vendor_*` fields).",
        request=VendorCaseUpdateSerializer,
        responses={200: VendorCaseSerializer, **WRITE_ERRORS, **E412_RECORD, **E428},
        parameters=[IF_MATCH_ETAG, ETAG_RECORD],
    ),
)
class VendorCaseViewSet(StrictListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Staff read the cases of the tickets they see and record what the vendor said (``vendor_case_update``). A case
    is opened only by a third-party escalation (``POST /api/tickets/{reference}/escalate/`` with ``vendor_*``), as
    on the escalate screen: that is what moves the ticket to waiting on the third party and tells the customer."""

    permission_classes = [IsStaffMember]
    http_method_names = ["get", "patch", "head", "options"]
    serializer_class = VendorCaseSerializer
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = VendorCaseFilter
    ordering_fields = ["follow_up_at", "created_at"]
    ordering = ["follow_up_at", "pk"]
    queryset = VendorCase.objects.none()

    def get_queryset(self):
        return selectors.vendor_cases_visible_to(self.request.user).select_related("ticket", "opened_by")

    def get_object(self) -> VendorCase:
        pk = self.kwargs["pk"]
        found = self.get_queryset().filter(pk=pk).first() if str(pk).isdigit() else None
        if found is None:
            raise NotFound("No such vendor case.")
        return found

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        response["ETag"] = f'"{services.vendor_case_etag(self.get_object())}"'
        return response

    def partial_update(self, request: AuthenticatedRequest, pk=None) -> Response:
        case = self.get_object()
        data = VendorCaseUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        expected = if_match_etag(request, thing="vendor case")
        case = services.vendor_case_update(actor=request.user, case=case, expected_etag=expected, **data.validated_data)
        case = self.get_queryset().get(pk=case.pk)
        return Response(VendorCaseSerializer(case).data, headers={"ETag": f'"{services.vendor_case_etag(case)}"'})
