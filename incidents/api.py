"""Major incidents in the API (staff read; managers act), registered from ``IncidentsConfig.ready``:

- ``/api/incidents/``: incidents, newest first, each with the number of its linked tickets you may see; ``POST``
  declares one (``incident_declare``, managers);
- ``/api/incidents/{id}/link/``: link tickets by reference (``incident_link_tickets``, the one batch-first rule of
  the queue's bulk action, the incident page and the workspace), one outcome per ticket;
- ``/api/incidents/{id}/updates/``: the updates sent; ``POST`` posts one to every linked ticket's customer
  (``incident_update_post``, idempotent per ``idempotency_key``);
- ``/api/incidents/{id}/resolve/``: resolve, resolving or returning the linked tickets (``incident_resolve``).

Incidents are internal records (their description is staff text): customers get 403. A ticket named in a body that
you may not see is reported as "No such ticket." like any miss."""

from __future__ import annotations

from django.db.models import Count, Q
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from helpdesk.api.filters import StrictListMixin, StrictOrderingFilter
from helpdesk.api.permissions import IsStaffMember
from helpdesk.api.serializers import PersonSerializer, StrictInputSerializer
from helpdesk.api.views import E415, LIST_ERRORS, READ_ERRORS, error_doc
from helpdesk.models import Category
from helpdesk.selectors import tickets_visible_to
from helpdesk.typing import AuthenticatedRequest
from incidents.models import Incident, IncidentResolution, IncidentStatus, IncidentUpdate
from incidents.selectors import incident_updates, incidents_for_staff
from incidents.services import incident_declare, incident_link_tickets, incident_resolve, incident_update_post

# The conflict documented with the API's one error body, as the other apps' 409s are.
E409 = {409: error_doc("Conflict: the incident is resolved, so it takes no more updates.")}
WRITE_ERRORS = {**READ_ERRORS, **E409, **E415}
MAX_LINK = 500


class IncidentSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    category: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    declared_by = PersonSerializer(read_only=True, allow_null=True)
    resolved_by = PersonSerializer(read_only=True, allow_null=True)
    linked_count = serializers.IntegerField(read_only=True, help_text="Linked now (or when resolved), that you see.")
    resolution = serializers.CharField(read_only=True, help_text="`resolve` or `return` once resolved; empty before.")

    class Meta:
        model = Incident
        fields = [
            "id",
            "reference",
            "title",
            "status",
            "description",
            "customer_message",
            "category",
            "keywords",
            "affected_since",
            "declared_by",
            "declared_at",
            "acknowledged_at",
            "resolved_at",
            "resolved_by",
            "resolution",
            "linked_count",
        ]
        read_only_fields = fields


class IncidentDeclareSerializer(StrictInputSerializer):
    title = serializers.CharField(max_length=200)
    customer_message = serializers.CharField(max_length=4000)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)
    category: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), required=False, allow_null=True, default=None
    )
    keywords = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    affected_since = serializers.DateTimeField(required=False, allow_null=True, default=None)
    status = serializers.ChoiceField(
        choices=IncidentStatus.choices,
        required=False,
        default=IncidentStatus.INVESTIGATING,
        help_text="Not resolved (the service refuses it).",
    )


class IncidentLinkSerializer(StrictInputSerializer):
    tickets = serializers.ListField(
        child=serializers.CharField(max_length=40), min_length=1, max_length=MAX_LINK, help_text="Ticket references."
    )


class LinkOutcomeSerializer(serializers.Serializer):
    ticket = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["linked", "already_linked", "refused"])
    reason = serializers.CharField(allow_blank=True)


class IncidentUpdateSerializer(serializers.ModelSerializer):
    author = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = IncidentUpdate
        fields = ["id", "status", "message", "author", "created_at"]
        read_only_fields = fields


class IncidentUpdateInputSerializer(StrictInputSerializer):
    message = serializers.CharField(max_length=4000)
    status = serializers.ChoiceField(
        choices=IncidentStatus.choices,
        required=False,
        default=None,
        help_text="Move the incident on (not to resolved: use resolve/).",
    )
    idempotency_key = serializers.UUIDField(
        required=False, allow_null=True, default=None, help_text="Send it again: nothing is sent twice."
    )


class IncidentResolveSerializer(StrictInputSerializer):
    resolution = serializers.ChoiceField(choices=IncidentResolution.choices)
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class ReleaseOutcomeSerializer(serializers.Serializer):
    ticket = serializers.CharField()
    outcome = serializers.CharField()


@extend_schema_view(
    list=extend_schema(
        summary="Major incidents (staff)", responses={200: IncidentSerializer(many=True), **LIST_ERRORS}
    ),
    retrieve=extend_schema(summary="One major incident (staff)", responses={200: IncidentSerializer, **READ_ERRORS}),
    create=extend_schema(
        summary="Declare a major incident (managers)",
        request=IncidentDeclareSerializer,
        responses={201: IncidentSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Outage",
                request_only=True,
                value={
                    "title": "Dashboard down",
                    "customer_message": "Our dashboard is not loading. We are on it.",
                    "category": "outage",
                    "keywords": "dashboard",
                },
            )
        ],
    ),
)
class IncidentViewSet(
    StrictListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    request: AuthenticatedRequest
    permission_classes = [IsStaffMember]
    serializer_class = IncidentSerializer
    filter_backends = [StrictOrderingFilter]
    ordering_fields = ["declared_at", "status"]
    ordering = ["-declared_at", "-id"]
    queryset = Incident.objects.none()

    def get_queryset(self):
        visible = tickets_visible_to(self.request.user).values("pk")
        return (
            incidents_for_staff(self.request.user)
            .select_related("category", "declared_by", "resolved_by")
            .annotate(linked_count=Count("links", filter=Q(links__ticket_id__in=visible), distinct=True))
        )

    def get_object(self) -> Incident:
        pk = self.kwargs["pk"]
        found = self.get_queryset().filter(pk=pk).first() if str(pk).isdigit() else None
        if found is None:
            raise NotFound("No such incident.")
        return found

    def create(self, request, *args, **kwargs) -> Response:
        data = IncidentDeclareSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = incident_declare(actor=request.user, **data.validated_data)
        return Response(
            IncidentSerializer(self.get_queryset().get(pk=incident.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Link tickets to the incident (staff)",
        description="One outcome per ticket: linked, already linked, or refused with the reason (a ticket you may "
        "not see is refused as “No such ticket.”).",
        request=IncidentLinkSerializer,
        responses={200: LinkOutcomeSerializer(many=True), **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], pagination_class=None)
    def link(self, request, pk=None) -> Response:
        incident = self.get_object()
        data = IncidentLinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        references = list(dict.fromkeys(data.validated_data["tickets"]))
        found = {t.reference: t for t in tickets_visible_to(request.user).filter(reference__in=references)}
        results = incident_link_tickets(incident=incident, tickets=list(found.values()), actor=request.user)
        by_reference = {r.ticket.reference: r for r in results}
        rows = [
            {"ticket": ref, "outcome": by_reference[ref].outcome, "reason": by_reference[ref].reason}
            if ref in by_reference
            else {"ticket": ref, "outcome": "refused", "reason": "No such ticket."}
            for ref in references
        ]
        return Response(LinkOutcomeSerializer(rows, many=True).data)

    @extend_schema(
        methods=["GET"],
        summary="The updates sent for the incident (staff)",
        responses={200: IncidentUpdateSerializer(many=True), **READ_ERRORS},
    )
    @extend_schema(
        methods=["POST"],
        summary="Post an update to every linked ticket's customer (managers)",
        description="One public reply per linked ticket, in each customer's language, delivered by the worker after "
        "commit; the same `idempotency_key` again returns the first update and sends nothing.",
        request=IncidentUpdateInputSerializer,
        responses={201: IncidentUpdateSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def updates(self, request, pk=None) -> Response:
        incident = self.get_object()
        if request.method == "GET":
            rows = incident_updates(incident=incident).select_related("author")
            return Response(IncidentUpdateSerializer(rows, many=True).data)
        data = IncidentUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        update = incident_update_post(
            incident=incident,
            actor=request.user,
            message=values["message"],
            status=values["status"],
            idempotency_key=str(values["idempotency_key"]) if values["idempotency_key"] else None,
        )
        return Response(IncidentUpdateSerializer(update).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Resolve the incident (managers)",
        description="`resolve` resolves each open linked ticket; `return` brings each held ticket back to the status "
        "it had. With a `message`, a last update goes to the customers first. One outcome per ticket.",
        request=IncidentResolveSerializer,
        responses={200: ReleaseOutcomeSerializer(many=True), **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], pagination_class=None)
    def resolve(self, request, pk=None) -> Response:
        incident = self.get_object()
        data = IncidentResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        results = incident_resolve(incident=incident, actor=request.user, **data.validated_data)
        rows = [{"ticket": r.ticket.reference, "outcome": r.outcome} for r in results]
        return Response(ReleaseOutcomeSerializer(rows, many=True).data)
