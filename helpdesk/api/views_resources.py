"""The ticket core's other resources in the API: attachments (list, metadata, permission-checked download; the
upload is ``POST /api/tickets/{reference}/attachments/`` on the ticket routes), in-app notifications (list, mark
read), organisations and their contacts.

Each resource reads through one selector of ``helpdesk.selectors`` built on the ticket visibility rule
(``attachments_visible_to``, ``notifications_visible_to``) or on the role (``organizations_visible_to``,
``contacts_visible_to``), so a list holds exactly the rows whose detail answers 200 and a miss is a 404."""

from __future__ import annotations

import django_filters
from django.http import Http404
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from helpdesk.api.filters import StrictListMixin, StrictOrderingFilter, reject_unknown_params
from helpdesk.api.permissions import IsStaffMember
from helpdesk.api.schema import schema_staff_only_register
from helpdesk.api.serializers import StrictInputSerializer
from helpdesk.api.views import (
    E412,
    E412_RECORD,
    E415,
    E428,
    IF_MATCH_ETAG,
    IF_MATCH_OPTIONAL,
    LIST_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    if_match_etag,
    if_match_version,
)
from helpdesk.attachments import ALLOWED_TYPES, attachment_file_response
from helpdesk.directory import (
    CONTACT_FIELDS,
    ORGANIZATION_FIELDS,
    contact_create,
    contact_update,
    organization_create,
    organization_update,
    record_etag,
    require_admin,
)
from helpdesk.models import Attachment, Notification, NotificationKind, Organization, Plan, User
from helpdesk.notifications import notification_mark_read
from helpdesk.selectors import (
    attachment_get_for_user,
    attachments_visible_to,
    contacts_visible_to,
    notifications_visible_to,
    organizations_visible_to,
    ticket_get_for_user,
)
from helpdesk.services import ticket_add_internal_note, ticket_reply
from helpdesk.typing import AuthenticatedRequest


def _customer(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_customer)


def _pk(raw, what: str) -> int:
    if not str(raw).isdigit():
        raise NotFound(f"No such {what}.")
    return int(raw)


# --- attachments -------------------------------------------------------------------------------------------------


class CustomerAttachmentSerializer(serializers.ModelSerializer):
    """An attachment as its ticket's customer sees it (public attachments only reach them)."""

    ticket = serializers.CharField(source="ticket.reference", read_only=True)
    name = serializers.CharField(source="original_name", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "ticket", "name", "content_type", "size", "created_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, obj: Attachment) -> str:
        return reverse("api:attachment-download", kwargs={"pk": obj.pk})


class StaffAttachmentSerializer(CustomerAttachmentSerializer):
    uploaded_by = serializers.CharField(
        source="uploaded_by.display_name", default=None, allow_null=True, read_only=True
    )

    class Meta(CustomerAttachmentSerializer.Meta):
        fields = [*CustomerAttachmentSerializer.Meta.fields, "is_public", "uploaded_by", "event"]
        read_only_fields = fields


schema_staff_only_register(
    component="StaffAttachment",
    description="An attachment. Customers receive it without the fields marked staff only (and only public ones).",
    fields=("is_public", "uploaded_by", "event"),
)


class CustomerAttachmentUploadSerializer(StrictInputSerializer):
    forbidden = {"internal": "Customers cannot set this field."}

    file = serializers.FileField(help_text="One file; the allowed types and the size limit are those of the screens.")
    body = serializers.CharField(max_length=20000, help_text="The message the file comes with.")


class StaffAttachmentUploadSerializer(CustomerAttachmentUploadSerializer):
    forbidden = {}

    internal = serializers.BooleanField(
        default=False, help_text="Attach to an internal note (staff only, never shown to the customer)."
    )


class AttachmentFilter(django_filters.FilterSet):
    ticket = django_filters.CharFilter(field_name="ticket__reference", help_text="A ticket reference.")

    class Meta:
        model = Attachment
        fields = ["ticket"]


@extend_schema_view(
    list=extend_schema(
        summary="Attachments you can see",
        description="The attachments of the tickets you can see; customers get the public ones (never those of "
        "internal notes). Upload with `POST /api/tickets/{reference}/attachments/`.",
        responses={200: StaffAttachmentSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One attachment's details", responses={200: StaffAttachmentSerializer, **READ_ERRORS}
    ),
)
class AttachmentViewSet(StrictListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    request: AuthenticatedRequest
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = AttachmentFilter
    ordering_fields = ["created_at", "size"]
    ordering = ["-created_at", "-pk"]
    queryset = Attachment.objects.none()

    def get_queryset(self):
        return attachments_visible_to(self.request.user).select_related("ticket", "uploaded_by")

    def get_serializer_class(self):
        return CustomerAttachmentSerializer if _customer(getattr(self, "request", None)) else StaffAttachmentSerializer

    def get_object(self) -> Attachment:
        try:
            return attachment_get_for_user(user=self.request.user, pk=_pk(self.kwargs["pk"], "attachment"))
        except Http404 as exc:
            raise NotFound("No such attachment.") from exc

    @extend_schema(
        summary="Download an attachment",
        description="The file itself, always as a download (`Content-Disposition: attachment`), with the content "
        "type it was stored with. A file you may not see is a 404, as for its details.",
        responses={
            **{
                (200, content_type): OpenApiResponse(response=OpenApiTypes.BINARY, description="The file.")
                for content_type in sorted({content_type for content_type, _magic in ALLOWED_TYPES.values()})
            },
            **READ_ERRORS,
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def download(self, request, pk=None):
        reject_unknown_params(request, ())
        return attachment_file_response(self.get_object())


class TicketAttachmentViewSet(viewsets.GenericViewSet):
    """``POST /api/tickets/{reference}/attachments/``: a file with its message, as on the ticket page. A customer's
    or an agent's upload is a public reply (``ticket_reply``), a staff upload with ``internal`` an internal note
    (``ticket_add_internal_note``): the same services, file rules and notifications as the screens."""

    request: AuthenticatedRequest
    lookup_field = "reference"
    lookup_value_regex = r"[A-Za-z0-9_-]+"
    queryset = Attachment.objects.none()
    filter_backends: list = []
    pagination_class = None
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Upload a file with a message",
        description="`multipart/form-data` (the one API body that is not JSON): `file` and `body`; staff may send "
        "`internal=true` to attach it to an internal note. The file's type is checked by its extension and its "
        "first bytes, its size against the limit; a refusal is a 400 naming the file and the rule. An optional "
        "`If-Match` refuses a public reply (412) when the ticket changed since that version.",
        request={"multipart/form-data": StaffAttachmentUploadSerializer},
        parameters=[IF_MATCH_OPTIONAL],
        responses={201: StaffAttachmentSerializer, **READ_ERRORS, **E412, **E415},
    )
    @action(detail=True, methods=["post"])
    def attachments(self, request: AuthenticatedRequest, reference=None) -> Response:
        ticket = ticket_get_for_user(user=request.user, reference=reference or "")
        customer = request.user.is_customer
        serializer_class = CustomerAttachmentUploadSerializer if customer else StaffAttachmentUploadSerializer
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        upload, body = data.validated_data["file"], data.validated_data["body"]
        if data.validated_data.get("internal"):
            event = ticket_add_internal_note(ticket=ticket, author=request.user, body=body, files=[upload])
        else:
            expected = if_match_version(request, required=False)
            event = ticket_reply(
                ticket=ticket, author=request.user, body=body, files=[upload], expected_version=expected
            )
        attachment = attachments_visible_to(request.user).select_related("ticket", "uploaded_by").get(event=event)
        out = CustomerAttachmentSerializer if customer else StaffAttachmentSerializer
        return Response(out(attachment).data, status=status.HTTP_201_CREATED)


# --- notifications -----------------------------------------------------------------------------------------------


class NotificationSerializer(serializers.ModelSerializer):
    """One of my in-app notifications (written for me: customers' come from customer-safe templates)."""

    kind = serializers.ChoiceField(choices=NotificationKind.choices, read_only=True)
    ticket = serializers.CharField(source="ticket.reference", default=None, allow_null=True, read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "subject", "body", "url", "ticket", "created_at", "read_at"]
        read_only_fields = fields


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", help_text="true: unread only; false: read only."
    )

    class Meta:
        model = Notification
        fields = ["unread"]


class NotificationIdsSerializer(StrictInputSerializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=500,
        required=False,
        help_text="The notifications to mark read; leave out to mark every one read.",
    )


class MarkedReadSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications were unread and are now read.")


@extend_schema_view(
    list=extend_schema(
        summary="Your in-app notifications",
        description="Newest first; notifications about tickets you may no longer see are left out.",
        responses={200: NotificationSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(summary="One of your notifications", responses={200: NotificationSerializer, **READ_ERRORS}),
)
class NotificationViewSet(StrictListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    request: AuthenticatedRequest
    serializer_class = NotificationSerializer
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = NotificationFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-pk"]
    queryset = Notification.objects.none()

    def get_queryset(self):
        return notifications_visible_to(self.request.user).select_related("ticket")

    def get_object(self) -> Notification:
        found = self.get_queryset().filter(pk=_pk(self.kwargs["pk"], "notification")).first()
        if found is None:
            raise NotFound("No such notification.")
        return found

    @extend_schema(
        summary="Mark one notification read",
        description="Idempotent: marking a read notification read again changes nothing.",
        request=None,
        responses={200: NotificationSerializer, **READ_ERRORS},
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def read(self, request: AuthenticatedRequest, pk=None) -> Response:
        notification = self.get_object()
        notification_mark_read(user=request.user, notification_ids=[notification.pk])
        return Response(NotificationSerializer(self.get_object()).data)

    @extend_schema(
        summary="Mark several (or all) notifications read",
        request=NotificationIdsSerializer,
        responses={200: MarkedReadSerializer, **LIST_ERRORS, **E415},
    )
    @action(detail=False, methods=["post"], url_path="mark-read", url_name="mark-read", filter_backends=[])
    def read_many(self, request: AuthenticatedRequest) -> Response:
        data = NotificationIdsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        marked = notification_mark_read(user=request.user, notification_ids=data.validated_data.get("ids"))
        return Response({"marked": marked})


# --- organisations and contacts ----------------------------------------------------------------------------------


class CustomerOrganizationSerializer(serializers.ModelSerializer):
    plan: serializers.SlugRelatedField[Plan] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    plan_name = serializers.CharField(source="plan.name", read_only=True)

    class Meta:
        model = Organization
        fields = ["id", "name", "plan", "plan_name"]
        read_only_fields = fields


class StaffOrganizationSerializer(CustomerOrganizationSerializer):
    class Meta(CustomerOrganizationSerializer.Meta):
        fields = [*CustomerOrganizationSerializer.Meta.fields, "email_domain", "timezone", "phone"]
        read_only_fields = fields


schema_staff_only_register(
    component="StaffOrganization",
    description="A customer organisation. A customer receives their own, without the fields marked staff only.",
    fields=("email_domain", "timezone", "phone"),
)


class OrganizationFilter(django_filters.FilterSet):
    plan = django_filters.ModelChoiceFilter(queryset=Plan.objects.all(), to_field_name="code")

    class Meta:
        model = Organization
        fields = ["plan"]


ETAG = OpenApiParameter(
    name="ETag",
    location=OpenApiParameter.HEADER,
    type=str,
    response=[200, 201],
    description="Send it back in If-Match.",
)


def _with_etag(response: Response, obj, fields: tuple[str, ...]) -> Response:
    response["ETag"] = f'"{record_etag(obj, fields)}"'
    return response


class OrganizationCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=160)
    plan = serializers.SlugRelatedField(slug_field="code", queryset=Plan.objects.all(), help_text="The plan's code.")
    email_domain = serializers.CharField(
        max_length=120, required=False, allow_blank=True, help_text="New senders from it become its contacts."
    )
    timezone = serializers.CharField(max_length=64, required=False, help_text="An IANA name, e.g. Europe/Paris.")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)


class OrganizationUpdateSerializer(OrganizationCreateSerializer):
    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Nothing to change: send at least one of " + ", ".join(self.fields) + ".")
        return attrs


@extend_schema_view(
    list=extend_schema(
        summary="Customer organisations",
        description="Staff see every organisation; a customer sees their own.",
        responses={200: StaffOrganizationSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One organisation",
        responses={200: StaffOrganizationSerializer, **READ_ERRORS},
        parameters=[ETAG],
    ),
    create=extend_schema(
        summary="Add an organisation (administrators)",
        description="As in the Django admin (``helpdesk.directory.organization_create``): a name unique whatever its "
        "case, a plan, a bare email domain, an IANA time zone. Refusals are 400s naming the fields.",
        request=OrganizationCreateSerializer,
        responses={201: StaffOrganizationSerializer, **WRITE_ERRORS},
        parameters=[ETAG],
    ),
    partial_update=extend_schema(
        summary="Change an organisation (administrators)",
        description="Requires If-Match with the ETag of GET; a stale one is a 412. A plan change re-times the "
        "organisation's open tickets' SLA clocks, as from the admin.",
        request=OrganizationUpdateSerializer,
        responses={200: StaffOrganizationSerializer, **WRITE_ERRORS, **E412_RECORD, **E428},
        parameters=[IF_MATCH_ETAG, ETAG],
    ),
)
class OrganizationViewSet(StrictListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Everyone reads what ``organizations_visible_to`` gives them; administrators write (``require_admin``, the
    directory services' own check)."""

    request: AuthenticatedRequest
    http_method_names = ["get", "post", "patch", "head", "options"]
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = OrganizationFilter
    ordering_fields = ["name"]
    ordering = ["name", "pk"]
    queryset = Organization.objects.none()

    def get_queryset(self):
        return organizations_visible_to(self.request.user)

    def get_serializer_class(self):
        return (
            CustomerOrganizationSerializer if _customer(getattr(self, "request", None)) else StaffOrganizationSerializer
        )

    def get_object(self) -> Organization:
        found = self.get_queryset().filter(pk=_pk(self.kwargs["pk"], "organisation")).first()
        if found is None:
            raise NotFound("No such organisation.")
        return found

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        if _customer(request):
            return response  # the tag covers staff-only fields; customers do not write organisations anyway
        return _with_etag(response, self.get_object(), ORGANIZATION_FIELDS)

    def _out(self, organization: Organization, *, code: int = 200) -> Response:
        organization = self.get_queryset().get(pk=organization.pk)
        response = Response(StaffOrganizationSerializer(organization).data, status=code)
        return _with_etag(response, organization, ORGANIZATION_FIELDS)

    def create(self, request: AuthenticatedRequest) -> Response:
        require_admin(request.user, to="add organisations")
        data = OrganizationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organization = organization_create(actor=request.user, **data.validated_data)
        response = self._out(organization, code=status.HTTP_201_CREATED)
        response["Location"] = reverse("api:organization-detail", kwargs={"pk": organization.pk})
        return response

    def partial_update(self, request: AuthenticatedRequest, pk=None) -> Response:
        require_admin(request.user, to="change organisations")
        organization = self.get_object()
        data = OrganizationUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        expected = if_match_etag(request, thing="organisation")
        organization = organization_update(
            actor=request.user, organization=organization, expected_etag=expected, **data.validated_data
        )
        return self._out(organization)


class ContactSerializer(serializers.ModelSerializer):
    """A customer contact as staff see them (no account or security fields)."""

    organization: serializers.PrimaryKeyRelatedField[Organization] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )
    organization_name = serializers.CharField(source="organization.name", default=None, allow_null=True, read_only=True)
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "display_name", "email", "phone", "timezone", "organization", "organization_name", "is_active"]
        read_only_fields = fields


class ContactFilter(django_filters.FilterSet):
    organization = django_filters.ModelChoiceFilter(queryset=Organization.objects.all(), help_text="Its id.")

    class Meta:
        model = User
        fields = ["organization"]


class ContactCreateSerializer(StrictInputSerializer):
    forbidden = {
        "role": "A contact is a customer; staff accounts are made in the admin.",
        "password": "A contact sets their own password (reset link) or signs in with SSO.",
        "is_active": "Deactivating an account is done in the admin (it is audited as an access change).",
        "username": "The username is made from the email address.",
    }

    email = serializers.EmailField(max_length=254)
    organization = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all(), help_text="Its id.")
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    timezone = serializers.CharField(max_length=64, required=False, allow_blank=True)


class ContactUpdateSerializer(ContactCreateSerializer):
    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Nothing to change: send at least one of " + ", ".join(self.fields) + ".")
        return attrs


@extend_schema_view(
    list=extend_schema(
        summary="Customer contacts (staff)",
        description="Filter by `organization` (its id) for an organisation's contacts.",
        responses={200: ContactSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One customer contact (staff)", responses={200: ContactSerializer, **READ_ERRORS}, parameters=[ETAG]
    ),
    create=extend_schema(
        summary="Add a customer contact (administrators)",
        description="A customer account in an organisation, without a password (they use a reset link or SSO). "
        "The email must be free. Refusals are 400s naming the fields.",
        request=ContactCreateSerializer,
        responses={201: ContactSerializer, **WRITE_ERRORS},
        parameters=[ETAG],
    ),
    partial_update=extend_schema(
        summary="Change a customer contact (administrators)",
        description="Name, email, phone, time zone or organisation; never role, password or access. Requires "
        "If-Match with the ETag of GET; a stale one is a 412.",
        request=ContactUpdateSerializer,
        responses={200: ContactSerializer, **WRITE_ERRORS, **E412_RECORD, **E428},
        parameters=[IF_MATCH_ETAG, ETAG],
    ),
)
class ContactViewSet(StrictListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Staff read; administrators write (``require_admin``, the directory services' own check)."""

    request: AuthenticatedRequest
    http_method_names = ["get", "post", "patch", "head", "options"]
    permission_classes = [IsStaffMember]
    serializer_class = ContactSerializer
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = ContactFilter
    ordering_fields = ["last_name", "email", "date_joined"]
    ordering = ["last_name", "first_name", "pk"]
    queryset = User.objects.none()

    def get_queryset(self):
        return contacts_visible_to(self.request.user)

    def get_object(self) -> User:
        found = self.get_queryset().filter(pk=_pk(self.kwargs["pk"], "contact")).first()
        if found is None:
            raise NotFound("No such contact.")
        return found

    def retrieve(self, request, *args, **kwargs):
        return _with_etag(super().retrieve(request, *args, **kwargs), self.get_object(), CONTACT_FIELDS)

    def _out(self, contact: User, *, code: int = 200) -> Response:
        contact = self.get_queryset().get(pk=contact.pk)
        return _with_etag(Response(ContactSerializer(contact).data, status=code), contact, CONTACT_FIELDS)

    def create(self, request: AuthenticatedRequest) -> Response:
        require_admin(request.user, to="add contacts")
        data = ContactCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = contact_create(actor=request.user, **data.validated_data)
        response = self._out(contact, code=status.HTTP_201_CREATED)
        response["Location"] = reverse("api:contact-detail", kwargs={"pk": contact.pk})
        return response

    def partial_update(self, request: AuthenticatedRequest, pk=None) -> Response:
        require_admin(request.user, to="change contacts")
        contact = self.get_object()
        data = ContactUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        expected = if_match_etag(request, thing="contact")
        contact = contact_update(actor=request.user, contact=contact, expected_etag=expected, **data.validated_data)
        return self._out(contact)
