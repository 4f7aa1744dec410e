"""The staff side of feedback in the API, registered from ``FeedbackConfig.ready``:

- ``/api/rcas/``: root-cause analyses (``POST`` writes one with its corrective actions, ``review/`` for managers);
- ``/api/corrective-actions/``: the RCAs' actions (``complete/`` for their owner or a manager);
- ``/api/follow-ups/``: low-score call-backs and check-ins (``complete/`` records the outcome);
- ``/api/survey-results/``: answered surveys (the public ``/api/surveys/{token}/`` is the customer's way in).

All staff only. Rows come from the selectors built on the ticket visibility rule (``rcas_visible_to``,
``corrective_actions_visible_to``, ``follow_ups_visible_to``, ``survey_results_visible_to``); writes go through
``feedback.rca`` and ``feedback.services``, whose rules and messages decide."""

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
from feedback.models import (
    ActionStatus,
    CauseCategory,
    CorrectiveAction,
    FollowUpKind,
    FollowUpOutcome,
    FollowUpTask,
    RootCauseAnalysis,
    Survey,
)
from feedback.rca import CorrectiveActionInput, corrective_action_complete, rca_create, rca_review
from feedback.selectors import (
    corrective_actions_visible_to,
    follow_ups_visible_to,
    rcas_visible_to,
    survey_results_visible_to,
)
from feedback.services import follow_up_complete
from helpdesk.api.filters import StrictListMixin, StrictOrderingFilter
from helpdesk.api.permissions import IsStaffMember
from helpdesk.api.serializers import PersonSerializer, StrictInputSerializer
from helpdesk.models import STAFF_ROLES, User
from helpdesk.selectors import ticket_get_for_user
from helpdesk.typing import AuthenticatedRequest


def _found(queryset, pk, what: str):
    found = queryset.filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        raise NotFound(f"No such {what}.")
    return found


# --- RCAs and corrective actions ---------------------------------------------------------------------------------


class CorrectiveActionSerializer(serializers.ModelSerializer):
    owner = PersonSerializer(read_only=True)

    class Meta:
        model = CorrectiveAction
        fields = ["id", "rca", "description", "owner", "due_date", "status", "done_at"]
        read_only_fields = fields


class RcaSerializer(serializers.ModelSerializer):
    ticket = serializers.CharField(source="ticket.reference", read_only=True)
    escalation: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    created_by = PersonSerializer(read_only=True, allow_null=True)
    reviewed_by = PersonSerializer(read_only=True, allow_null=True)
    reclassified_from = serializers.ChoiceField(
        choices=CauseCategory.choices, allow_blank=True, read_only=True, help_text="Blank unless a review changed it."
    )
    actions = CorrectiveActionSerializer(many=True, read_only=True)

    class Meta:
        model = RootCauseAnalysis
        fields = [
            "id",
            "ticket",
            "escalation",
            "cause_category",
            "preventable",
            "five_whys",
            "created_by",
            "created_at",
            "reviewed_by",
            "reviewed_at",
            "review_note",
            "reclassified_from",
            "kb_article_id",
            "actions",
        ]
        read_only_fields = fields


class CorrectiveActionInputSerializer(StrictInputSerializer):
    description = serializers.CharField(max_length=300)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(role__in=STAFF_ROLES, is_active=True))
    due_date = serializers.DateField()


class RcaCreateSerializer(StrictInputSerializer):
    ticket = serializers.CharField(max_length=40, help_text="The resolved ticket's reference.")
    cause_category = serializers.ChoiceField(choices=CauseCategory.choices)
    preventable = serializers.BooleanField()
    five_whys = serializers.CharField(max_length=20000, help_text="One answer per line.")
    actions = CorrectiveActionInputSerializer(
        many=True, required=False, default=list, help_text="A preventable cause needs at least one."
    )

    def validate_actions(self, value):
        if len(value) > 20:
            raise serializers.ValidationError("At most 20 corrective actions.")
        return value


class RcaReviewSerializer(StrictInputSerializer):
    cause_category = serializers.ChoiceField(
        choices=CauseCategory.choices, help_text="The same category confirms it; another reclassifies it."
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class RcaFilter(django_filters.FilterSet):
    ticket = django_filters.CharFilter(field_name="ticket__reference", help_text="A ticket reference.")
    cause_category = django_filters.ChoiceFilter(choices=CauseCategory.choices)
    preventable = django_filters.BooleanFilter()
    reviewed = django_filters.BooleanFilter(
        field_name="reviewed_at", lookup_expr="isnull", exclude=True, help_text="true: reviewed ones only."
    )

    class Meta:
        model = RootCauseAnalysis
        fields = ["ticket", "cause_category", "preventable", "reviewed"]


RCA_EXAMPLE = {
    "ticket": "HD-2026-000042",
    "cause_category": "knowledge_gap",
    "preventable": True,
    "five_whys": "The agent could not find the refund steps.\nThe article was internal only.",
    "actions": [{"description": "Publish the refund article", "owner": 7, "due_date": "2026-12-04"}],
}


@extend_schema_view(
    list=extend_schema(
        summary="Root-cause analyses you can see (staff)",
        responses={200: RcaSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(summary="One root-cause analysis (staff)", responses={200: RcaSerializer, **READ_ERRORS}),
    create=extend_schema(
        summary="Write a resolved ticket's root-cause analysis (staff)",
        description="One per ticket, once it is resolved; a preventable cause needs a corrective action. A "
        "knowledge gap drafts a KB article, a training gap a coaching item.",
        request=RcaCreateSerializer,
        responses={201: RcaSerializer, **WRITE_ERRORS},
        examples=[OpenApiExample("RCA", request_only=True, value=RCA_EXAMPLE)],
    ),
)
class RcaViewSet(
    StrictListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    request: AuthenticatedRequest
    permission_classes = [IsStaffMember]
    serializer_class = RcaSerializer
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = RcaFilter
    ordering_fields = ["created_at", "reviewed_at"]
    ordering = ["-created_at", "-pk"]
    queryset = RootCauseAnalysis.objects.none()

    def get_queryset(self):
        return rcas_visible_to(self.request.user).prefetch_related("actions__owner")

    def get_object(self) -> RootCauseAnalysis:
        return _found(self.get_queryset(), self.kwargs["pk"], "root-cause analysis")

    def create(self, request, *args, **kwargs) -> Response:
        data = RcaCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        try:
            ticket = ticket_get_for_user(user=request.user, reference=values.pop("ticket"))
        except Http404 as exc:
            raise serializers.ValidationError({"ticket": ["No such ticket, or you may not see it."]}) from exc
        actions = [CorrectiveActionInput(**action) for action in values.pop("actions")]
        rca = rca_create(ticket=ticket, actor=request.user, actions=actions, **values)
        return Response(RcaSerializer(self.get_queryset().get(pk=rca.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Review a root-cause analysis (managers)",
        description="Confirms the category, or reclassifies it (the old one is kept, the new one's follow-up applied).",
        request=RcaReviewSerializer,
        responses={200: RcaSerializer, **WRITE_ERRORS},
        examples=[OpenApiExample("Confirm", request_only=True, value={"cause_category": "knowledge_gap"})],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def review(self, request: AuthenticatedRequest, pk=None) -> Response:
        rca = self.get_object()
        data = RcaReviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rca_review(rca=rca, actor=request.user, **data.validated_data)
        return Response(RcaSerializer(self.get_object()).data)


class CorrectiveActionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ActionStatus.choices)
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.filter(role__in=STAFF_ROLES), help_text="An id.")
    rca = django_filters.NumberFilter(min_value=1, help_text="The root-cause analysis's id.")

    class Meta:
        model = CorrectiveAction
        fields = ["status", "owner", "rca"]


@extend_schema_view(
    list=extend_schema(
        summary="Corrective actions of the RCAs you can see (staff)",
        responses={200: CorrectiveActionSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One corrective action (staff)", responses={200: CorrectiveActionSerializer, **READ_ERRORS}
    ),
)
class CorrectiveActionViewSet(
    StrictListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    request: AuthenticatedRequest
    permission_classes = [IsStaffMember]
    serializer_class = CorrectiveActionSerializer
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = CorrectiveActionFilter
    ordering_fields = ["due_date", "status"]
    ordering = ["due_date", "pk"]
    queryset = CorrectiveAction.objects.none()

    def get_queryset(self):
        return corrective_actions_visible_to(self.request.user).select_related("owner")

    def get_object(self) -> CorrectiveAction:
        return _found(self.get_queryset(), self.kwargs["pk"], "corrective action")

    @extend_schema(
        summary="Mark a corrective action done (its owner or a manager)",
        description="Idempotent: an action already done stays done.",
        request=None,
        responses={200: CorrectiveActionSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def complete(self, request: AuthenticatedRequest, pk=None) -> Response:
        corrective_action_complete(action=self.get_object(), actor=request.user)
        return Response(CorrectiveActionSerializer(self.get_object()).data)


# --- follow-ups --------------------------------------------------------------------------------------------------


class FollowUpSerializer(serializers.ModelSerializer):
    ticket = serializers.CharField(source="ticket.reference", read_only=True)
    owner = PersonSerializer(read_only=True, allow_null=True)
    done_by = PersonSerializer(read_only=True, allow_null=True)
    survey: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    outcome = serializers.ChoiceField(
        choices=FollowUpOutcome.choices, allow_blank=True, read_only=True, help_text="Blank until it is recorded."
    )

    class Meta:
        model = FollowUpTask
        fields = [
            "id",
            "kind",
            "ticket",
            "survey",
            "owner",
            "resolution_at",
            "created_at",
            "due_at",
            "done_at",
            "done_by",
            "outcome",
            "note",
        ]
        read_only_fields = fields


class FollowUpCompleteSerializer(StrictInputSerializer):
    outcome = serializers.ChoiceField(
        choices=FollowUpOutcome.choices,
        help_text="check_in: fine, reopened, no_response; low_csat: contacted, reopened, no_response.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class FollowUpFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=FollowUpKind.choices)
    ticket = django_filters.CharFilter(field_name="ticket__reference", help_text="A ticket reference.")
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.filter(role__in=STAFF_ROLES), help_text="An id.")
    done = django_filters.BooleanFilter(
        field_name="done_at", lookup_expr="isnull", exclude=True, help_text="true: recorded ones only."
    )

    class Meta:
        model = FollowUpTask
        fields = ["kind", "ticket", "owner", "done"]


@extend_schema_view(
    list=extend_schema(
        summary="Follow-ups on the tickets you can see (staff)",
        responses={200: FollowUpSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(summary="One follow-up (staff)", responses={200: FollowUpSerializer, **READ_ERRORS}),
)
class FollowUpViewSet(StrictListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    request: AuthenticatedRequest
    permission_classes = [IsStaffMember]
    serializer_class = FollowUpSerializer
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = FollowUpFilter
    ordering_fields = ["due_at", "created_at", "done_at"]
    ordering = ["due_at", "pk"]
    queryset = FollowUpTask.objects.none()

    def get_queryset(self):
        return follow_ups_visible_to(self.request.user).select_related("ticket", "owner", "done_by")

    def get_object(self) -> FollowUpTask:
        return _found(self.get_queryset(), self.kwargs["pk"], "follow-up")

    @extend_schema(
        summary="Record a follow-up's outcome (its owner, a team lead or a manager)",
        description="Once; `reopened` reopens a resolved ticket.",
        request=FollowUpCompleteSerializer,
        responses={200: FollowUpSerializer, **WRITE_ERRORS},
        examples=[OpenApiExample("Fine", request_only=True, value={"outcome": "fine", "note": "All working."})],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def complete(self, request: AuthenticatedRequest, pk=None) -> Response:
        task = self.get_object()
        data = FollowUpCompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        follow_up_complete(task=task, actor=request.user, **data.validated_data)
        return Response(FollowUpSerializer(self.get_object()).data)


# --- survey results ----------------------------------------------------------------------------------------------


class SurveyResultSerializer(serializers.ModelSerializer):
    ticket = serializers.CharField(source="ticket.reference", read_only=True)
    escalation: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Survey
        fields = [
            "id",
            "ticket",
            "escalation",
            "is_escalated",
            "sent_at",
            "answered_at",
            "csat",
            "fixed",
            "explain_count",
            "nps",
            "comment",
        ]
        read_only_fields = fields


class SurveyResultFilter(django_filters.FilterSet):
    ticket = django_filters.CharFilter(field_name="ticket__reference", help_text="A ticket reference.")
    is_escalated = django_filters.BooleanFilter()
    fixed = django_filters.BooleanFilter()
    csat = django_filters.NumberFilter(min_value=1, max_value=5)

    class Meta:
        model = Survey
        fields = ["ticket", "is_escalated", "fixed", "csat"]


@extend_schema_view(
    list=extend_schema(
        summary="Answered surveys of the tickets you can see (staff)",
        responses={200: SurveyResultSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(summary="One survey result (staff)", responses={200: SurveyResultSerializer, **READ_ERRORS}),
)
class SurveyResultViewSet(StrictListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    request: AuthenticatedRequest
    permission_classes = [IsStaffMember]
    serializer_class = SurveyResultSerializer
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = SurveyResultFilter
    ordering_fields = ["answered_at", "csat"]
    ordering = ["-answered_at", "-pk"]
    queryset = Survey.objects.none()

    def get_queryset(self):
        return survey_results_visible_to(self.request.user).select_related("ticket")

    def get_object(self) -> Survey:
        return _found(self.get_queryset(), self.kwargs["pk"], "survey result")
