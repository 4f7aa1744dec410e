"""The REST API over the ticket core: thin views over ``helpdesk.selectors`` (authorised reads, 404 on a miss) and
``helpdesk.services`` (writes). Role decides the serializer; visibility is decided by the selectors alone."""

from __future__ import annotations

import re

from django.contrib.auth import authenticate, login
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler, set_rollback

from helpdesk.api import serializers as s
from helpdesk.api.filters import (
    PAGING_PARAMS,
    CustomerTicketFilter,
    StaffTicketFilter,
    StrictOrderingFilter,
    reject_unknown_params,
)
from helpdesk.api.permissions import IsAdminOrStaffReadOnly
from helpdesk.api.registry import api_ticket_fields
from helpdesk.api.services import (
    api_token_create,
    api_token_revoke,
    user_update_profile,
)
from helpdesk.api.throttles import LOGIN, TOKEN_CREATE, ScopedThrottle
from helpdesk.errors import ApplicationError
from helpdesk.models import ApiToken, Channel, Team, Ticket, TicketQuerySet
from helpdesk.selectors import ticket_events_visible_to, ticket_get_for_user, tickets_visible_to
from helpdesk.services import (
    TicketConflict,
    ticket_add_internal_note,
    ticket_create,
    ticket_reply,
    ticket_update,
)
from helpdesk.signin import lockout_message, lockout_wait_seconds, login_locked_until
from helpdesk.typing import AuthenticatedRequest

# --- errors ------------------------------------------------------------------------------------------------------


class PreconditionRequired(APIException):
    status_code = 428
    default_detail = "Send If-Match with the ticket's version (its ETag) to change it."
    default_code = "precondition_required"


def api_exception_handler(exc, context):
    """The one API error translator (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``): DRF's handler, plus

    - an ``ApplicationError`` (``helpdesk.errors``) as its ``status`` with ``{"detail", "code", **extra}``
      (a ``Conflict`` 409, ``NotAllowed`` 403, ``Invalid`` 400, ``NotFound`` 404; a stale ticket version 412 with
      the current version and its ETag);
    - a Django ``ValidationError`` from the services as a 400 naming the fields (``PermissionDenied`` is DRF's 403).
    """
    if isinstance(exc, ApplicationError):
        set_rollback()
        response = Response(exc.as_dict(), status=exc.status)
        if isinstance(exc, TicketConflict):
            response["ETag"] = etag(exc.ticket.version)
        return response
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {("non_field_errors" if k == "__all__" else k): v for k, v in exc.message_dict.items()}
        else:
            detail = {"non_field_errors": exc.messages}
        exc = ValidationError(detail)
    return exception_handler(exc, context)


def error_doc(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=OpenApiTypes.OBJECT, description=description)


E400 = {400: error_doc("Invalid input: the body names each offending field (or `detail` for the query string).")}
E401 = {401: error_doc("Not signed in, or the token is invalid or revoked.")}
E403 = {403: error_doc("Signed in, but your role may not do this.")}
E404 = {404: error_doc("No such ticket, or you may not see it.")}
E415 = {415: error_doc("Send `Content-Type: application/json`.")}
E412 = {412: OpenApiResponse(response=s.ConflictSerializer, description="The ticket changed since that version.")}
E428 = {428: error_doc("If-Match is required.")}
E429 = {429: error_doc("Too many requests: wait and retry (see Retry-After).")}
# The platform's error docs: every API module imports these from here (a test checks no other module defines them).
LIST_ERRORS = {**E400, **E401, **E403}
READ_ERRORS = {**LIST_ERRORS, **E404}
WRITE_ERRORS = {**READ_ERRORS, **E415}

IF_MATCH = OpenApiParameter(
    name="If-Match",
    location=OpenApiParameter.HEADER,
    required=True,
    type=str,
    description='The version you last saw, from the ETag of GET (`"3"` or `3`). A stale version gets 412.',
)
IF_MATCH_OPTIONAL = OpenApiParameter(
    name="If-Match",
    location=OpenApiParameter.HEADER,
    required=False,
    type=str,
    description="Optional: refuse the reply (412) if the ticket changed since this version.",
)
ETAG_HEADER = OpenApiParameter(
    name="ETag", location=OpenApiParameter.HEADER, type=str, response=[200, 201], description="The ticket version."
)


def etag(version: int) -> str:
    return f'"{version}"'


def _parse_version(raw: str, *, thing: str = "ticket") -> int:
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value.isdigit() or int(value) < 1:
        raise ValidationError({"If-Match": [f'Must be the {thing} version from its ETag, e.g. "3"; got {raw!r}.']})
    return int(value)


def if_match_version(request, *, required: bool, thing: str = "ticket") -> int | None:
    """The version the client last saw, from ``If-Match`` (``"3"``, ``3`` or ``W/"3"``): the one precondition
    scheme of every API write on a versioned resource (a ticket's version, an article's revision). Missing and
    ``required`` is a 428; malformed a 400."""
    raw = request.headers.get("If-Match")
    if raw is None:
        if required:
            raise PreconditionRequired(f"Send If-Match with the {thing}'s version (its ETag) to change it.")
        return None
    return _parse_version(raw, thing=thing)


def if_match_etag(request, *, thing: str) -> str:
    """The ETag the client last saw, from ``If-Match`` (``"9f2c…"`` or ``W/"9f2c…"``), for a record locked by a
    content tag (``helpdesk.directory.record_etag``) rather than a version number. Required: missing is a 428,
    malformed a 400."""
    raw = request.headers.get("If-Match")
    if raw is None:
        raise PreconditionRequired(f"Send If-Match with the {thing}'s ETag (from GET) to change it.")
    value = raw.strip()
    value = (value[2:] if value.startswith("W/") else value).strip('"')
    if not re.fullmatch(r"[0-9a-f]{16}", value):
        raise ValidationError(
            {"If-Match": [f'Must be the {thing}\'s ETag from GET, e.g. "3f9a0c1e5b7d2a48"; got {raw!r}.']}
        )
    return value


IF_MATCH_ETAG = OpenApiParameter(
    name="If-Match",
    location=OpenApiParameter.HEADER,
    required=True,
    type=str,
    description="The ETag you last read (from GET). A stale one gets 412 with the current ETag.",
)
E412_RECORD = {412: error_doc("It changed since you read it: `current_etag` is the ETag to read it again by.")}


def _expected_version(request, *, required: bool) -> int | None:
    return if_match_version(request, required=required)


# --- tickets -----------------------------------------------------------------------------------------------------

TICKET_EXAMPLE = OpenApiExample(
    "A ticket (staff view)",
    response_only=True,
    value={
        "reference": "HD-2026-000042",
        "subject": "Invoice charged twice",
        "description": "We were billed twice for October.",
        "status": "open",
        "priority": "high",
        "channel": "email",
        "category": "billing",
        "team": "frontline",
        "assignee": {"id": 7, "display_name": "Alex Morgan"},
        "customer": {"id": 12, "display_name": "Dana Reyes"},
        "organization": "Northwind",
        "tier": 1,
        "restricted": False,
        "is_emergency": False,
        "sla_due_at": "2026-11-23T10:00:00Z",
        "version": 3,
        "created_at": "2026-11-23T08:00:00Z",
        "updated_at": "2026-11-23T08:30:00Z",
        "resolved_at": None,
        "closed_at": None,
    },
)


def staff_ticket_rows(tickets: TicketQuerySet) -> TicketQuerySet:
    """A ticket list as the staff serializer reads it: the list relations, other apps' added fields' relations and
    the tags, so a page costs a constant number of queries (the ticket list and a saved view's tickets)."""
    related = [name for entry in api_ticket_fields() for name in entry.select_related]
    tickets = tickets.with_list_related()
    tickets = tickets.select_related(*related) if related else tickets
    return tickets.prefetch_related("tags")  # one query per page, whatever its size


def _customer(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_customer)


@extend_schema_view(
    list=extend_schema(
        summary="List the tickets you can see",
        description="Customers see their organisation's tickets; staff see every ticket they may see. "
        "Filters `team` and `assignee` are for staff. Page size at most 100.",
        responses={200: s.StaffTicketSerializer(many=True), **E400, **E401},
        examples=[TICKET_EXAMPLE],
    ),
    retrieve=extend_schema(
        summary="One ticket",
        description="The ETag response header carries the version to send back in If-Match.",
        responses={200: s.StaffTicketSerializer, **READ_ERRORS},
        parameters=[ETAG_HEADER],
        examples=[TICKET_EXAMPLE],
    ),
    create=extend_schema(
        summary="Open a ticket",
        description="Customers open tickets for themselves (subject, description, category). Staff open them on "
        "behalf of a customer and may set priority and channel.",
        request=s.StaffTicketCreateSerializer,
        responses={201: s.StaffTicketSerializer, **WRITE_ERRORS},
        parameters=[ETAG_HEADER],
        examples=[
            OpenApiExample(
                "Customer",
                request_only=True,
                value={"subject": "Cannot log in", "description": "The code never arrives.", "category": "billing"},
            )
        ],
    ),
    partial_update=extend_schema(
        summary="Change status, priority, category, team or assignee (staff)",
        description="Requires If-Match with the version from the ETag; a stale version gets 412 with the current "
        "version. Moving to another team without naming an assignee unassigns the ticket.",
        request=s.StaffTicketUpdateSerializer,
        responses={
            200: s.StaffTicketSerializer,
            204: OpenApiResponse(description="Saved; the ticket is now outside what you may see (restricted)."),
            **WRITE_ERRORS,
            **E412,
            **E428,
        },
        parameters=[IF_MATCH, ETAG_HEADER],
        examples=[OpenApiExample("Resolve", request_only=True, value={"status": "resolved"})],
    ),
)
class TicketViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    request: AuthenticatedRequest  # IsAuthenticated (the default) runs before any handler
    lookup_field = "reference"
    lookup_value_regex = r"[A-Za-z0-9_-]+"
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    ordering_fields = ["created_at", "updated_at", "status", "reference", "sla_due_at"]
    ordering = ["-created_at", "-pk"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = Ticket.objects.none()  # for the schema generator; requests use get_queryset()

    @property
    def filterset_class(self):
        return CustomerTicketFilter if _customer(getattr(self, "request", None)) else StaffTicketFilter

    def get_queryset(self):
        tickets = tickets_visible_to(self.request.user)
        if _customer(getattr(self, "request", None)):
            return tickets.with_list_related()
        return staff_ticket_rows(tickets)

    def get_serializer_class(self):
        return s.CustomerTicketSerializer if _customer(self.request) else s.StaffTicketSerializer

    def _ticket(self) -> Ticket:
        return ticket_get_for_user(user=self.request.user, reference=self.kwargs["reference"])

    def _out(self, ticket: Ticket, *, code: int = 200) -> Response:
        return Response(self.get_serializer(ticket).data, status=code, headers={"ETag": etag(ticket.version)})

    def list(self, request, *args, **kwargs):
        reject_unknown_params(request, {*self.filterset_class.base_filters, "ordering", *PAGING_PARAMS})
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, reference=None):
        reject_unknown_params(request, ())
        return self._out(self._ticket())

    def create(self, request):
        user = request.user
        if user.is_customer:
            serializer = s.CustomerTicketCreateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            ticket = ticket_create(customer=user, actor=user, channel=Channel.WEB, **serializer.validated_data)
        else:
            serializer = s.StaffTicketCreateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            ticket = ticket_create(actor=user, **serializer.validated_data)
        ticket = ticket_get_for_user(user=user, reference=ticket.reference)
        response = self._out(ticket, code=status.HTTP_201_CREATED)
        response["Location"] = reverse("api:ticket-detail", kwargs={"reference": ticket.reference})
        return response

    def partial_update(self, request, reference=None):
        ticket = self._ticket()
        if request.user.is_customer:
            serializer = s.CustomerTicketUpdateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)  # always refuses, naming the fields
        serializer = s.StaffTicketUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        expected = _expected_version(request, required=True)
        data = serializer.validated_data
        team = data.get("team", ticket.team)
        if "assignee" in data:
            assignee = data["assignee"]
        else:
            assignee = ticket.assignee if team == ticket.team else None
        try:
            ticket_update(
                ticket=ticket,
                actor=request.user,
                expected_version=expected,
                status=data.get("status", ticket.status),
                priority=data.get("priority", ticket.priority),
                category=data.get("category", ticket.category),
                team=team,
                assignee=assignee,
            )
        except DjangoValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise
            raise ValidationError({"status" if "status" in data else "non_field_errors": exc.messages}) from exc
        try:
            return self._out(self._ticket())
        except Http404:
            # Saved, but moved out of your sight (a restricted ticket handed to a team you are not in).
            return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The ticket's timeline",
        description="Customers get the public events only; staff also see internal notes and assignments.",
        responses={200: s.TicketEventSerializer(many=True), **READ_ERRORS},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def events(self, request, reference=None):
        reject_unknown_params(request, PAGING_PARAMS)
        events = ticket_events_visible_to(user=request.user, ticket=self._ticket())
        page = self.paginate_queryset(events)
        return self.get_paginated_response(s.TicketEventSerializer(page, many=True).data)

    @extend_schema(
        summary="Post a public reply",
        description="From the customer it reopens a resolved ticket, or a closed one within its plan's reopen "
        "window (after it: 400, open a new request); from staff it moves a new ticket to open.",
        request=s.MessageInputSerializer,
        responses={201: s.TicketEventSerializer, **WRITE_ERRORS, **E412},
        parameters=[IF_MATCH_OPTIONAL],
        examples=[OpenApiExample("Reply", request_only=True, value={"body": "Thanks, that fixed it."})],
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def replies(self, request, reference=None):
        ticket = self._ticket()
        serializer = s.MessageInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        expected = _expected_version(request, required=False)
        event = ticket_reply(
            ticket=ticket, author=request.user, body=serializer.validated_data["body"], expected_version=expected
        )
        return Response(s.TicketEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Add an internal note (staff)",
        description="Never shown or sent to the customer.",
        request=s.MessageInputSerializer,
        responses={201: s.TicketEventSerializer, **WRITE_ERRORS},
        examples=[OpenApiExample("Note", request_only=True, value={"body": "Customer is on the legacy plan."})],
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def notes(self, request, reference=None):
        if not request.user.is_staff_member:
            raise PermissionDenied("Only staff can add internal notes.")
        ticket = self._ticket()
        serializer = s.MessageInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = ticket_add_internal_note(ticket=ticket, author=request.user, body=serializer.validated_data["body"])
        return Response(s.TicketEventSerializer(event).data, status=status.HTTP_201_CREATED)


# --- teams -------------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Teams (staff)", responses={200: s.TeamSerializer(many=True), **E400, **E401, **E403}),
    retrieve=extend_schema(summary="One team (staff)", responses={200: s.TeamSerializer, **READ_ERRORS}),
    create=extend_schema(summary="Create a team (admin)", responses={201: s.TeamSerializer, **WRITE_ERRORS}),
    partial_update=extend_schema(summary="Change a team (admin)", responses={200: s.TeamSerializer, **WRITE_ERRORS}),
    destroy=extend_schema(summary="Delete a team (admin)", responses={204: None, **READ_ERRORS}),
)
class TeamViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Staff read; administrators write."""

    queryset = Team.objects.prefetch_related("categories").order_by("tier", "name")
    serializer_class = s.TeamSerializer
    permission_classes = [IsAdminOrStaffReadOnly]
    filter_backends: list = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def list(self, request, *args, **kwargs):
        reject_unknown_params(request, PAGING_PARAMS)
        return super().list(request, *args, **kwargs)


# --- me and my tokens --------------------------------------------------------------------------------------------


class MeApi(APIView):
    """Your own account. Role, permissions and organisation are not yours to change."""

    @extend_schema(summary="Your account", responses={200: s.MeSerializer, **E401})
    def get(self, request):
        return Response(s.MeSerializer(request.user).data)

    @extend_schema(
        summary="Change your name, phone or time zone",
        request=s.MeUpdateSerializer,
        responses={200: s.MeSerializer, **E400, **E401, **E415},
    )
    def patch(self, request):
        serializer = s.MeUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_update_profile(user=request.user, **serializer.validated_data)
        return Response(s.MeSerializer(user).data)


@extend_schema_view(
    list=extend_schema(summary="Your API tokens", responses={200: s.ApiTokenSerializer(many=True), **E400, **E401}),
    create=extend_schema(
        summary="Create an API token",
        description="The token is in the response once and never again; only its SHA-256 digest is stored.",
        request=s.ApiTokenCreateSerializer,
        responses={201: s.ApiTokenCreatedSerializer, **E400, **E401, **E415, **E429},
        examples=[OpenApiExample("Create", request_only=True, value={"name": "CRM sync"})],
    ),
    destroy=extend_schema(
        summary="Revoke an API token",
        description="Effective at once.",
        responses={204: None, **E401, **E404},
    ),
)
class ApiTokenViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = s.ApiTokenSerializer
    filter_backends: list = []
    throttle_classes = [ScopedThrottle]
    throttle_scope = TOKEN_CREATE
    throttle_methods = frozenset({"POST"})
    queryset = ApiToken.objects.none()
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user)

    def list(self, request, *args, **kwargs):
        reject_unknown_params(request, PAGING_PARAMS)
        return super().list(request, *args, **kwargs)

    def create(self, request):
        serializer = s.ApiTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, raw = api_token_create(
            user=request.user, name=serializer.validated_data["name"], read_only=serializer.validated_data["read_only"]
        )
        token.token = raw
        return Response(
            s.ApiTokenCreatedSerializer(token).data,
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )

    def destroy(self, request, pk=None):
        if not str(pk).isdigit():
            return Response({"detail": "No such token."}, status=status.HTTP_404_NOT_FOUND)
        api_token_revoke(user=request.user, token_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- sign-in -----------------------------------------------------------------------------------------------------


class LoginApi(APIView):
    """JSON sign-in that starts a session. Throttled per client, and locked per username after repeated failures.
    CSRF-exempt by design: it accepts JSON only, which a cross-site form cannot send."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedThrottle]
    throttle_scope = LOGIN

    @extend_schema(
        summary="Sign in (session)",
        request=s.LoginSerializer,
        responses={
            200: s.MeSerializer,
            **E400,
            401: error_doc("Wrong username, password or code (the same answer whichever was wrong)."),
            **E415,
            429: error_doc("Too many attempts from this client, or the account is locked for a while."),
        },
        auth=[],
        examples=[
            OpenApiExample("Sign in", request_only=True, value={"username": "dana", "password": "…"}),
            OpenApiExample(
                "Sign in with two-step sign-in",
                request_only=True,
                value={"username": "morgan", "password": "…", "code": "123456"},
            ),
        ],
    )
    def post(self, request):
        serializer = s.LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["username"]
        # The lockout and the second factor live in the authentication backend, so this endpoint, /login/ and the
        # admin share one count and one rule.
        user = authenticate(
            request._request,
            username=username,
            password=serializer.validated_data["password"],
            otp_token=serializer.validated_data.get("code") or None,
        )
        locked_until = login_locked_until(request._request)
        if locked_until is not None:
            return Response(
                {"detail": lockout_message(locked_until), "code": "locked"},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(lockout_wait_seconds(locked_until))},
            )
        if user is None:
            return Response(
                {"detail": "Wrong username, password or code.", "code": "invalid_login"},
                status=status.HTTP_401_UNAUTHORIZED,
            )
        login(request._request, user)
        return Response(s.MeSerializer(user).data)


class AuditExportApi(APIView):
    """The audit trail of a period, streamed (administrators only; the export is itself audited)."""

    @extend_schema(
        summary="Export the audit trail",
        description="Ticket events and account-level audit rows (sign-ins, role changes, approvals, configuration "
        "changes...) from the start of `from` to the end of `to` (UTC dates), in time order, as CSV or JSON Lines, "
        "with a SHA-256 hash chain and a signed final hash. Check a file with `manage.py audit_verify FILE`.",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, required=True, description="First day (UTC)."),
            OpenApiParameter("to", OpenApiTypes.DATE, required=True, description="Last day, inclusive (UTC)."),
            OpenApiParameter("as", str, enum=["csv", "jsonl"], description="File format (default csv)."),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/jsonl"): OpenApiTypes.STR,
            **E400,
            **E401,
            **E403,
        },
    )
    def get(self, request: AuthenticatedRequest):
        from helpdesk.audit_export import audit_export_response, period_parse

        if not request.user.is_admin:
            raise PermissionDenied("Only administrators can export the audit trail.")
        period = period_parse(request.query_params.get("from"), request.query_params.get("to"))
        fmt = request.query_params.get("as", "csv")
        return audit_export_response(actor=request.user, period=period, fmt=fmt, request=request._request)
