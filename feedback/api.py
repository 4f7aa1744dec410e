"""The public survey API: ``/api/surveys/{token}/`` (no sign-in; the signed, single-use token is the credential),
registered from ``FeedbackConfig.ready``. GET returns the questions, POST records the answers through
``services.survey_submit`` (the same rules and messages as the survey page). POST is throttled (``survey_submit``)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from feedback import selectors, services
from feedback.forms import SurveyForm
from helpdesk.api.filters import reject_unknown_params
from helpdesk.api.serializers import StrictInputSerializer
from helpdesk.api.throttles import SURVEY_SUBMIT, ScopedThrottle
from helpdesk.api.views import E415, E429


class SurveyProblemSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in the customer's words.")
    title = serializers.CharField()
    code = serializers.ChoiceField(choices=["invalid", "expired", "answered"])


class QuestionSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field (the metaclass pops it), not Field.label
    help_text = serializers.CharField(allow_blank=True)  # type: ignore[assignment]  # a declared field (the metaclass pops it), not Field.help_text
    type = serializers.ChoiceField(choices=["integer", "boolean", "text"])
    required = serializers.BooleanField()  # type: ignore[assignment]  # a declared field (the metaclass pops it), not Field.required
    minimum = serializers.IntegerField(allow_null=True)
    maximum = serializers.IntegerField(allow_null=True)


class SurveySerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="The reference of the request the survey is about.")
    subject = serializers.CharField()
    expires_at = serializers.DateTimeField()
    questions = QuestionSerializer(many=True)


class SurveyAnswersSerializer(StrictInputSerializer):
    csat = serializers.IntegerField(help_text="1 (very unhappy) to 5 (very happy).")
    fixed = serializers.BooleanField(help_text="Did we fix it?")
    explain_count = serializers.IntegerField(help_text="How many times you explained the problem (1 to 20).")
    nps = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="0 to 10; optional.")
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class SurveyAnsweredSerializer(serializers.Serializer):
    detail = serializers.CharField()
    answered_at = serializers.DateTimeField()


# Shapes and ranges of the questions, in the order of the survey page (labels come from its form).
QUESTION_SHAPES = {
    "csat": ("integer", 1, 5),
    "fixed": ("boolean", None, None),
    "explain_count": ("integer", 1, 20),
    "nps": ("integer", 0, 10),
    "comment": ("text", None, 4000),
}


def survey_questions() -> list[dict]:
    form = SurveyForm()
    questions = []
    for name, (kind, minimum, maximum) in QUESTION_SHAPES.items():
        field = form.fields[name]
        questions.append(
            {
                "name": name,
                "label": str(field.label),
                "help_text": str(field.help_text or ""),
                "type": kind,
                "required": field.required,
                "minimum": minimum,
                "maximum": maximum,
            }
        )
    return questions


TOKEN = OpenApiParameter(
    name="token", location=OpenApiParameter.PATH, type=OpenApiTypes.STR, description="The signed token from the link."
)
PROBLEMS = {
    400: OpenApiResponse(SurveyProblemSerializer, description="The link is incomplete or altered (`invalid`)."),
    409: OpenApiResponse(SurveyProblemSerializer, description="The survey was already answered (`answered`)."),
    410: OpenApiResponse(SurveyProblemSerializer, description="The survey has closed (`expired`)."),
}


class SurveyApi(APIView):
    """Public: the signed token is the only credential, and it works once."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedThrottle]
    throttle_scope = SURVEY_SUBMIT
    throttle_methods = frozenset({"POST"})

    @extend_schema(
        operation_id="surveys_retrieve",
        summary="A survey's questions (public, signed link)",
        parameters=[TOKEN],
        responses={200: SurveySerializer, **PROBLEMS},
        auth=[],
    )
    def get(self, request, token: str):
        reject_unknown_params(request, ())
        survey = selectors.survey_from_token(token=token)  # a SurveyLinkError is answered by the API's handler
        return Response(
            SurveySerializer(
                {
                    "ticket": survey.ticket.reference,
                    "subject": survey.ticket.subject,
                    "expires_at": survey.expires_at,
                    "questions": survey_questions(),
                }
            ).data
        )

    @extend_schema(
        operation_id="surveys_answer",
        summary="Answer a survey (public, signed link, once)",
        description="Invalid values are a 400 naming each field (nothing is recorded); a second answer is a 409.",
        parameters=[TOKEN],
        request=SurveyAnswersSerializer,
        responses={
            201: SurveyAnsweredSerializer,
            **PROBLEMS,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="Invalid answers (the body names each field), or an invalid link (`code`: `invalid`).",
            ),
            **E415,
            **E429,
        },
        examples=[
            OpenApiExample(
                "Answers",
                request_only=True,
                value={"csat": 4, "fixed": True, "explain_count": 1, "nps": 9, "comment": "Quick and kind."},
            )
        ],
        auth=[],
    )
    def post(self, request, token: str):
        selectors.survey_from_token(token=token)  # the link first: a broken link is not a field error
        data = SurveyAnswersSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        survey = services.survey_submit(token=token, answers=services.SurveyAnswers(**data.validated_data))
        return Response(
            {"detail": "Thank you: your answers are recorded.", "answered_at": survey.answered_at},
            status=status.HTTP_201_CREATED,
        )
