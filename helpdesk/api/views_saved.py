"""Saved views of the queue in the API: list (mine and my teams'), create, retrieve, change (``If-Match``), delete,
and each view's ``count/`` and ``tickets/``.

A thin interface over ``helpdesk.saved_views``, the screens' own services: who may see a view
(``saved_views_visible_to`` / ``saved_view_get_for_user``), who may keep it (``saved_view_create``,
``saved_view_update``, ``saved_view_delete`` refuse; ``saved_views_manageable`` says so in ``may_manage``), what is
stored (``queue_query_canonical``, the queue's allowlist), how many tickets it shows (``saved_view_counts``, the
navigation's own count) and which (``saved_view_tickets``: the queue's filter over ``tickets_visible_to``). So the
API's count is the navigation's, and a ticket the caller may not see is never in a view's count or tickets."""

from __future__ import annotations

from django.http import QueryDict
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from helpdesk.api import serializers as s
from helpdesk.api.filters import PAGING_PARAMS, reject_unknown_params
from helpdesk.api.permissions import IsStaffMember
from helpdesk.api.serializers import StrictInputSerializer
from helpdesk.api.views import (
    E428,
    ETAG_HEADER,
    IF_MATCH,
    LIST_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    error_doc,
    etag,
    if_match_version,
    staff_ticket_rows,
)
from helpdesk.errors import NotFound
from helpdesk.models import SavedView, Team
from helpdesk.queue_state import queue_visible_columns
from helpdesk.saved_views import (
    saved_view_counts,
    saved_view_create,
    saved_view_delete,
    saved_view_get_for_user,
    saved_view_tickets,
    saved_view_update,
    saved_views_manageable,
    saved_views_visible_to,
)
from helpdesk.typing import AuthenticatedRequest

QUERY_HELP = (
    "The queue's URL state, as after `/tickets/?`: its filters (`scope`, `status`, `priority`, `category`, `team`, "
    "`assignee`, `tag`, …), `sort` and `cols` (the visible columns). It is validated and rebuilt from the queue's "
    "allowlist: an unknown name is dropped, a refused value is a 400."
)


class SavedViewSerializer(serializers.ModelSerializer):
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    owner = s.PersonSerializer(read_only=True)
    personal = serializers.SerializerMethodField(help_text="A personal view (its owner's only), not a team view.")
    columns = serializers.SerializerMethodField(help_text="The visible core columns; null: every column.")
    queue_url = serializers.SerializerMethodField(help_text="The queue page showing this view.")
    may_manage = serializers.SerializerMethodField(help_text="Whether you may rename, change and delete it.")

    class Meta:
        model = SavedView
        fields = [
            "id",
            "name",
            "personal",
            "team",
            "owner",
            "query",
            "columns",
            "queue_url",
            "may_manage",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_personal(self, obj: SavedView) -> bool:
        return obj.team_id is None

    def get_columns(self, obj: SavedView) -> list[str] | None:
        return queue_visible_columns(QueryDict(obj.query))

    def get_queue_url(self, obj: SavedView) -> str:
        return reverse("ticket_list") + (f"?{obj.query}" if obj.query else "")

    def get_may_manage(self, obj: SavedView) -> bool:
        return obj.pk in self.context["manageable"]


class SavedViewCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=200, help_text="At most 60 characters once trimmed to one line.")
    query = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="", help_text=QUERY_HELP)
    team = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        help_text="A team's slug for a team view (its leads and managers only); leave out for a personal view.",
    )


class SavedViewUpdateSerializer(StrictInputSerializer):
    forbidden = {
        "team": "A view's team does not change: create the view for the other team.",
        "owner": "A view's owner does not change.",
    }

    name = serializers.CharField(max_length=200, required=False)
    query = serializers.CharField(max_length=1000, required=False, allow_blank=True, help_text=QUERY_HELP)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Nothing to change: send name, query or both.")
        return attrs


class SavedViewCountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    count = serializers.IntegerField(
        allow_null=True,
        help_text="The tickets the view shows you now (what the navigation shows); null when the stored state no "
        "longer validates (e.g. its team was deleted).",
    )


VIEW_EXAMPLE = OpenApiExample(
    "A team view",
    response_only=True,
    value={
        "id": 4,
        "name": "Urgent billing",
        "personal": False,
        "team": "frontline",
        "owner": {"id": 7, "display_name": "Alex Morgan"},
        "query": "scope=all&priority=urgent&category=2&cols=subject,sla,assignee",
        "columns": ["subject", "sla", "assignee"],
        "queue_url": "/tickets/?scope=all&priority=urgent&category=2&cols=subject,sla,assignee",
        "may_manage": True,
        "version": 2,
        "created_at": "2026-11-23T08:00:00Z",
        "updated_at": "2026-11-23T08:30:00Z",
    },
)
E412_VIEW = {412: OpenApiResponse(response=s.ConflictSerializer, description="The view changed since that version.")}


@extend_schema_view(
    list=extend_schema(
        summary="Your saved views (staff)",
        description="Your personal views and your teams' views, personal first, then by team and name.",
        responses={200: SavedViewSerializer(many=True), **LIST_ERRORS},
        examples=[VIEW_EXAMPLE],
    ),
    retrieve=extend_schema(
        summary="One saved view (staff)",
        description="The ETag response header carries the version to send back in If-Match.",
        responses={200: SavedViewSerializer, **READ_ERRORS},
        parameters=[ETAG_HEADER],
        examples=[VIEW_EXAMPLE],
    ),
    create=extend_schema(
        summary="Save a queue view (staff)",
        description="Personal, or for a team (`team`: its leads and managers only, as on the queue's "
        "“Save this view”). A name already used (yours, or the team's) is a 400 naming `name`. A team view is "
        "listed for the team's members: a manager who adds one for a team they are not in does not see it "
        "in their own list.",
        request=SavedViewCreateSerializer,
        responses={201: SavedViewSerializer, **WRITE_ERRORS},
        parameters=[ETAG_HEADER],
        examples=[
            OpenApiExample("Create", request_only=True, value={"name": "Urgent", "query": "scope=all&priority=urgent"})
        ],
    ),
    partial_update=extend_schema(
        summary="Rename a saved view or change its filter, sort and columns",
        description="Personal: its owner; team: the team's leads and managers. Requires If-Match with the version "
        "from the ETag; a stale version gets 412 with the current version.",
        request=SavedViewUpdateSerializer,
        responses={200: SavedViewSerializer, **WRITE_ERRORS, **E412_VIEW, **E428},
        parameters=[IF_MATCH, ETAG_HEADER],
    ),
    destroy=extend_schema(
        summary="Delete a saved view",
        description="Personal: its owner; team: the team's leads and managers.",
        responses={204: None, **READ_ERRORS},
    ),
)
class SavedViewViewSet(viewsets.GenericViewSet):
    request: AuthenticatedRequest
    permission_classes = [IsStaffMember]
    serializer_class = SavedViewSerializer
    filter_backends: list = []
    queryset = SavedView.objects.none()
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return saved_views_visible_to(self.request.user).select_related("owner")

    def _view(self) -> SavedView:
        raw = str(self.kwargs.get("pk", ""))
        if not raw.isdigit():
            raise NotFound("No such saved view.")
        return saved_view_get_for_user(user=self.request.user, pk=int(raw))

    def _out(self, view: SavedView, *, code: int = 200) -> Response:
        manageable = saved_views_manageable(user=self.request.user, views=[view])
        data = SavedViewSerializer(view, context={"manageable": manageable}).data
        return Response(data, status=code, headers={"ETag": etag(view.version)})

    def list(self, request: AuthenticatedRequest) -> Response:
        reject_unknown_params(request, PAGING_PARAMS)
        page = self.paginate_queryset(self.get_queryset())
        rows = list(page or [])
        context = {"manageable": saved_views_manageable(user=request.user, views=rows)}
        return self.get_paginated_response(SavedViewSerializer(rows, many=True, context=context).data)

    def retrieve(self, request: AuthenticatedRequest, pk=None) -> Response:
        reject_unknown_params(request, ())
        return self._out(self._view())

    def create(self, request: AuthenticatedRequest) -> Response:
        data = SavedViewCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        view = saved_view_create(
            owner=request.user,
            name=data.validated_data["name"],
            query=QueryDict(data.validated_data["query"]),
            team=data.validated_data.get("team"),
        )
        # Not fetched again: a manager may add a view for a team they are not in, which then lists for the team's
        # members (``saved_views_visible_to``), not for them.
        response = self._out(view, code=status.HTTP_201_CREATED)
        response["Location"] = reverse("api:saved-view-detail", kwargs={"pk": view.pk})
        return response

    def partial_update(self, request: AuthenticatedRequest, pk=None) -> Response:
        view = self._view()
        data = SavedViewUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        expected = if_match_version(request, required=True, thing="saved view")
        query = data.validated_data.get("query")
        saved_view_update(
            actor=request.user,
            view=view,
            name=data.validated_data.get("name"),
            query=None if query is None else QueryDict(query),
            expected_version=expected,
        )
        return self._out(self._view())

    def destroy(self, request: AuthenticatedRequest, pk=None) -> Response:
        saved_view_delete(actor=request.user, view=self._view())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="How many tickets a saved view shows you",
        description="The navigation's own count (the same function): the view's filter over the tickets you may "
        "see, with “mine” meaning you.",
        responses={200: SavedViewCountSerializer, **READ_ERRORS},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def count(self, request: AuthenticatedRequest, pk=None) -> Response:
        reject_unknown_params(request, ())
        view = self._view()
        [row] = saved_view_counts(request.user, views=[view])
        return Response({"id": view.pk, "count": row.count})

    @extend_schema(
        summary="The tickets a saved view shows you",
        description="In the view's sort, through the queue's own filter over the tickets you may see. A view whose "
        "stored state no longer validates is a 400 saying why.",
        responses={
            200: s.StaffTicketSerializer(many=True),
            **READ_ERRORS,
            400: error_doc("Bad paging, or the view's stored filter no longer validates (the body says why)."),
        },
    )
    @action(detail=True, methods=["get"])
    def tickets(self, request: AuthenticatedRequest, pk=None) -> Response:
        reject_unknown_params(request, PAGING_PARAMS)
        tickets = staff_ticket_rows(saved_view_tickets(user=request.user, view=self._view()))
        page = self.paginate_queryset(tickets)
        return self.get_paginated_response(s.StaffTicketSerializer(page, many=True).data)
