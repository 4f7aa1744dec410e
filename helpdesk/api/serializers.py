"""Input and output serializers, one set per role. Input serializers are strict: a field the caller may not set,
or does not exist, is a 400 that names it; nothing is silently dropped."""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework import serializers

from helpdesk.models import (
    STAFF_ROLES,
    ApiToken,
    Category,
    Channel,
    Priority,
    Role,
    Status,
    Tag,
    Team,
    Ticket,
    TicketEvent,
    User,
)

CUSTOMER_FORBIDDEN = "Customers cannot set this field."
ROLE_FORBIDDEN = "Nobody can change their own role or permissions."
READ_ONLY = "This field is read-only."
UNKNOWN = "Unknown field."

TICKET_STAFF_FIELDS = {"status", "priority", "assignee", "team", "restricted", "channel", "tier", "is_emergency"}
PRIVILEGE_FIELDS = {"role", "is_staff", "is_superuser", "is_active", "groups", "user_permissions", "organization"}
TICKET_READ_ONLY = {
    "reference",
    "version",
    "customer",
    "organization",
    "created_at",
    "updated_at",
    "resolved_at",
    "closed_at",
    "sla_due_at",
    "url",
}


class StrictInputSerializer(serializers.Serializer):
    """Rejects every key that is not a writable field of this serializer, with a message saying why."""

    forbidden: Mapping[str, str] = {}

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            extra = sorted(set(data) - writable)
            if extra:
                raise serializers.ValidationError({name: [self._why(name)] for name in extra})
        return super().to_internal_value(data)

    def _why(self, name: str) -> str:
        if name in self.forbidden:
            return self.forbidden[name]
        if name in PRIVILEGE_FIELDS:
            return ROLE_FORBIDDEN
        if name in TICKET_READ_ONLY:
            return READ_ONLY
        return UNKNOWN


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    display_name = serializers.CharField(read_only=True)


# --- tickets: output ---------------------------------------------------------------------------------------------


class CustomerTicketSerializer(serializers.ModelSerializer):
    """What a customer sees of a ticket: no team, assignee, tier or compliance flags."""

    category: serializers.SlugRelatedField[Category] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )

    class Meta:
        model = Ticket
        fields = [
            "reference",
            "subject",
            "description",
            "status",
            "priority",
            "channel",
            "category",
            "version",
            "created_at",
            "updated_at",
            "resolved_at",
            "closed_at",
        ]
        read_only_fields = fields


class StaffTicketSerializer(serializers.ModelSerializer):
    category: serializers.SlugRelatedField[Category] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    assignee = PersonSerializer(read_only=True, allow_null=True)
    customer = PersonSerializer(read_only=True)
    organization = serializers.CharField(source="organization.name", read_only=True)
    # Read-only: tickets are tagged through helpdesk.tags (the workspace and the queue's bulk action).
    tags: serializers.SlugRelatedField[Tag] = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = Ticket
        fields = [
            "reference",
            "subject",
            "description",
            "status",
            "priority",
            "channel",
            "category",
            "team",
            "assignee",
            "customer",
            "organization",
            "tier",
            "restricted",
            "is_emergency",
            "sla_due_at",
            "version",
            "created_at",
            "updated_at",
            "resolved_at",
            "closed_at",
            "tags",
        ]
        read_only_fields = fields

    def get_fields(self):
        # Other apps' read-only additions (``helpdesk.api.registry.api_ticket_fields_register``).
        from helpdesk.api.registry import api_ticket_fields

        fields = super().get_fields()
        for entry in api_ticket_fields():
            fields.update(entry.fields())
        return fields


# --- tickets: input ----------------------------------------------------------------------------------------------


class CustomerTicketCreateSerializer(StrictInputSerializer):
    forbidden = dict.fromkeys(TICKET_STAFF_FIELDS | {"customer"}, CUSTOMER_FORBIDDEN)

    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=20000)
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), required=False, allow_null=True
    )


class StaffTicketCreateSerializer(StrictInputSerializer):
    forbidden = {
        "status": "A new ticket starts as “New”; change it with PATCH.",
        "team": "A new ticket is routed by its category; reassign it with PATCH.",
        "assignee": "A new ticket is routed by its category; reassign it with PATCH.",
    }

    customer = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(role=Role.CUSTOMER, is_active=True))
    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=20000)
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), required=False, allow_null=True
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)


class CustomerTicketUpdateSerializer(StrictInputSerializer):
    """Customers change nothing on a ticket directly: every field they send is refused by name."""

    forbidden = dict.fromkeys(
        TICKET_STAFF_FIELDS | {"category", "subject", "description"},
        CUSTOMER_FORBIDDEN,
    )

    def validate(self, attrs):
        raise serializers.ValidationError("Customers cannot change a ticket's properties; post a reply instead.")


class StaffTicketUpdateSerializer(StrictInputSerializer):
    forbidden = {
        "restricted": "The restricted flag is set by the compliance workflow, not by a ticket update.",
        "subject": "The customer's words are not edited.",
        "description": "The customer's words are not edited.",
        "channel": "The channel a ticket arrived by does not change.",
    }

    status = serializers.ChoiceField(choices=Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), required=False, allow_null=True
    )
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), required=False, allow_null=True)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(role__in=STAFF_ROLES, is_active=True), required=False, allow_null=True
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Nothing to change: send at least one of " + ", ".join(self.fields) + ".")
        return attrs


class MessageInputSerializer(StrictInputSerializer):
    body = serializers.CharField(max_length=20000)


# --- timeline ----------------------------------------------------------------------------------------------------


class TicketEventSerializer(serializers.ModelSerializer):
    actor = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = TicketEvent
        fields = ["id", "kind", "actor", "is_public", "body", "data", "created_at"]
        read_only_fields = fields


# --- teams, me, tokens -------------------------------------------------------------------------------------------


class TeamSerializer(serializers.ModelSerializer):
    categories = serializers.SlugRelatedField(
        slug_field="slug", many=True, queryset=Category.objects.all(), required=False
    )

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "tier", "assignment_rule", "email", "categories"]
        read_only_fields = ["id"]

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            extra = sorted(set(data) - {name for name, field in self.fields.items() if not field.read_only})
            if extra:
                raise serializers.ValidationError({name: [UNKNOWN if name != "id" else READ_ONLY] for name in extra})
        return super().to_internal_value(data)


class MeSerializer(serializers.ModelSerializer):
    organization = serializers.CharField(source="organization.name", read_only=True, allow_null=True)

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "phone", "timezone", "role", "organization"]
        read_only_fields = ["id", "username", "email", "role", "organization"]


class MeUpdateSerializer(StrictInputSerializer):
    forbidden = {"username": READ_ONLY, "email": "Ask an administrator to change your email address."}

    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    timezone = serializers.CharField(max_length=64, required=False, allow_blank=True)


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "read_only", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The token itself. It is shown only this once.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class ApiTokenCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=80)

    def get_fields(self):
        # Added here, not as a class attribute: a field named ``read_only`` would shadow ``Field.read_only``.
        fields = super().get_fields()
        fields["read_only"] = serializers.BooleanField(
            default=False, help_text="A read-only token may only read: any change it attempts is refused with 403."
        )
        return fields


class LoginSerializer(StrictInputSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)
    code = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text="Required once two-step sign-in is set up: the code from the authenticator app, or an unused "
        "recovery code.",
    )


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    current_version = serializers.IntegerField()
