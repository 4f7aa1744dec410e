"""The knowledge-base API: ``/api/kb/articles/``, registered from ``KnowledgeBaseConfig.ready``. Everyone signed in
reads; staff write (``POST`` a draft, ``PATCH`` its content with ``If-Match`` on the current revision, ``status/``
through the workflow, ``revisions/`` the history) through ``knowledge_base.services``, whose rules (the owner or an
editor edits; only editors publish or archive) decide.

Every row comes from ``selectors.articles_visible_to`` (customers: published public articles; staff: published ones
and their own drafts; editors: all), so the list and the details agree. ``?search=`` ranks through the same search
module as the help centre (best first, at most ``SEARCH_LIMIT`` hits)."""

from __future__ import annotations

import django_filters
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

from helpdesk.api.filters import PAGING_PARAMS, StrictOrderingFilter, reject_unknown_params
from helpdesk.api.schema import schema_staff_only_register
from helpdesk.api.serializers import READ_ONLY, StrictInputSerializer
from helpdesk.api.views import (
    E400,
    E401,
    E404,
    E412,
    E428,
    ETAG_HEADER,
    IF_MATCH,
    READ_ERRORS,
    WRITE_ERRORS,
    etag,
    if_match_version,
)
from helpdesk.models import Category
from helpdesk.typing import AuthenticatedRequest
from knowledge_base.models import Article, ArticleRevision, ArticleStatus, ArticleVisibility
from knowledge_base.search import articles_search
from knowledge_base.selectors import article_revisions, articles_visible_to
from knowledge_base.services import article_create, article_set_status, article_update

SEARCH_LIMIT = 100
SEARCH_PARAM = "search"


class CustomerArticleSerializer(serializers.ModelSerializer):
    """A help-centre article: the sanitised HTML, never the editor's source or workflow fields."""

    category: serializers.SlugRelatedField[Category] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )

    class Meta:
        model = Article
        fields = ["id", "title", "body_html", "category", "tags", "published_at", "updated_at"]
        read_only_fields = fields


class StaffArticleSerializer(serializers.ModelSerializer):
    category: serializers.SlugRelatedField[Category] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    owner = serializers.CharField(source="owner.display_name", default=None, allow_null=True, read_only=True)
    revision = serializers.IntegerField(
        read_only=True,
        default=None,
        allow_null=True,
        help_text="The current revision number: the article's version, sent back in If-Match to change it.",
    )

    class Meta:
        model = Article
        fields = [
            "id",
            "title",
            "body",
            "body_html",
            "category",
            "tags",
            "status",
            "visibility",
            "owner",
            "origin",
            "helpful_count",
            "unhelpful_count",
            "last_reviewed_at",
            "revision",
            "published_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ArticleCreateSerializer(StrictInputSerializer):
    forbidden = {
        "status": "A new article starts as a draft; move it with POST …/status/.",
        "owner": "You own the articles you write.",
    }

    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=100_000, help_text="Markdown; raw HTML is sanitised.")
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), required=False, allow_null=True, default=None
    )
    visibility = serializers.ChoiceField(choices=ArticleVisibility.choices, default=ArticleVisibility.INTERNAL)
    tags = serializers.CharField(max_length=250, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=250, required=False, allow_blank=True, default="Created")


class ArticleUpdateSerializer(StrictInputSerializer):
    forbidden = {"status": "Move an article with POST …/status/.", "owner": READ_ONLY}

    title = serializers.CharField(max_length=200, required=False)
    body = serializers.CharField(max_length=100_000, required=False)
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), required=False, allow_null=True
    )
    visibility = serializers.ChoiceField(choices=ArticleVisibility.choices, required=False)
    tags = serializers.CharField(max_length=250, required=False, allow_blank=True)
    note = serializers.CharField(max_length=250, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if set(attrs) <= {"note"}:
            raise serializers.ValidationError(
                "Nothing to change: send at least one of title, body, category, visibility, tags."
            )
        return attrs


class ArticleStatusSerializer(StrictInputSerializer):
    status = serializers.ChoiceField(choices=ArticleStatus.choices)


class ArticleRevisionSerializer(serializers.ModelSerializer):
    category: serializers.SlugRelatedField[Category] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    editor = serializers.CharField(source="editor.display_name", default=None, allow_null=True, read_only=True)

    class Meta:
        model = ArticleRevision
        fields = ["number", "title", "body", "tags", "category", "visibility", "editor", "note", "created_at"]
        read_only_fields = fields


schema_staff_only_register(
    component="StaffArticle",
    description="An article. Customers receive it without the fields marked staff only.",
    fields=tuple(set(StaffArticleSerializer.Meta.fields) - set(CustomerArticleSerializer.Meta.fields)),
)


class ArticleFilter(django_filters.FilterSet):
    category = django_filters.ModelChoiceFilter(queryset=Category.objects.all(), to_field_name="slug")
    status = django_filters.ChoiceFilter(choices=ArticleStatus.choices)
    visibility = django_filters.ChoiceFilter(choices=ArticleVisibility.choices)

    class Meta:
        model = Article
        fields = ["category", "status", "visibility"]


def _customer(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_customer)


SEARCH = OpenApiParameter(
    name=SEARCH_PARAM,
    type=OpenApiTypes.STR,
    required=False,
    description=f"Words to search for in the title, tags and text; results are ranked best first (at most "
    f"{SEARCH_LIMIT}) and cannot be combined with `ordering`.",
)


@extend_schema_view(
    list=extend_schema(
        summary="Knowledge-base articles you can read",
        description="Customers read published public articles; staff also internal ones and their own drafts; "
        "editors (managers, admins) every article. Page size at most 100.",
        parameters=[SEARCH],
        responses={200: StaffArticleSerializer(many=True), **E400, **E401},
    ),
    retrieve=extend_schema(
        summary="One article",
        description="Customers receive it without the workflow fields (status, visibility, owner, counts). For "
        "staff the `ETag` header is the current revision, to send back in If-Match.",
        responses={200: StaffArticleSerializer, **E400, **E401, 404: E404[404]},
        parameters=[ETAG_HEADER],
    ),
    create=extend_schema(
        summary="Write an article (staff)",
        description="A new article is a draft owned by you (revision 1); publish it with `status/`.",
        request=ArticleCreateSerializer,
        responses={201: StaffArticleSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Draft",
                request_only=True,
                value={"title": "Reset your password", "body": "Use the link on the sign-in page.", "tags": "login"},
            )
        ],
    ),
    partial_update=extend_schema(
        summary="Change an article's content (its owner or an editor)",
        description="Needs If-Match with the current revision (the ETag of GET); a stale one is a 412 with "
        "`current_version`. Any change writes a new revision.",
        request=ArticleUpdateSerializer,
        responses={200: StaffArticleSerializer, **WRITE_ERRORS, **E412, **E428},
        parameters=[IF_MATCH, ETAG_HEADER],
    ),
)
class ArticleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    request: AuthenticatedRequest
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = ArticleFilter
    ordering_fields = ["title", "updated_at", "published_at"]
    ordering = ["title", "pk"]
    queryset = Article.objects.none()
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        latest = ArticleRevision.objects.filter(article=OuterRef("pk")).order_by("-number").values("number")[:1]
        return articles_visible_to(self.request.user).with_list_related().annotate(revision=Subquery(latest))

    def get_serializer_class(self):
        return CustomerArticleSerializer if _customer(getattr(self, "request", None)) else StaffArticleSerializer

    def get_object(self) -> Article:
        pk = self.kwargs["pk"]
        article = self.get_queryset().filter(pk=pk).first() if str(pk).isdigit() else None
        if article is None:
            raise NotFound("No such article.")
        return article

    def list(self, request, *args, **kwargs):
        reject_unknown_params(request, {*ArticleFilter.base_filters, "ordering", SEARCH_PARAM, *PAGING_PARAMS})
        query = request.query_params.get(SEARCH_PARAM)
        if query is None:
            return super().list(request, *args, **kwargs)
        if "ordering" in request.query_params:
            raise ValidationError({"ordering": ["Search results are ranked best first; drop `ordering` or `search`."]})
        if len(query) > 200:
            raise ValidationError({SEARCH_PARAM: ["Search for at most 200 characters."]})
        filtered = DjangoFilterBackend().filter_queryset(request, self.get_queryset(), self)
        hits = articles_search(queryset=filtered, query=query, limit=SEARCH_LIMIT)
        page = self.paginate_queryset([hit.article for hit in hits])
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        reject_unknown_params(request, ())
        return self._out(self.get_object())

    def _out(self, article: Article, *, code: int = status.HTTP_200_OK) -> Response:
        revision = getattr(article, "revision", None)
        headers = {"ETag": etag(revision)} if revision and not _customer(self.request) else {}
        return Response(self.get_serializer(article).data, status=code, headers=headers)

    def _staff_only(self) -> None:
        if not self.request.user.is_staff_member:
            raise PermissionDenied("Only staff can write articles.")

    def create(self, request, *args, **kwargs):
        self._staff_only()
        data = ArticleCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        article = article_create(actor=request.user, **data.validated_data)
        response = self._out(self.get_queryset().get(pk=article.pk), code=status.HTTP_201_CREATED)
        response["Location"] = reverse("api:kb-article-detail", kwargs={"pk": article.pk})
        return response

    def partial_update(self, request, *args, **kwargs):
        self._staff_only()
        article = self.get_object()
        data = ArticleUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        expected = if_match_version(request, required=True, thing="article")
        changes = data.validated_data
        article_update(
            article=article,
            actor=request.user,
            title=changes.get("title", article.title),
            body=changes.get("body", article.body),
            category=changes.get("category", article.category),
            visibility=changes.get("visibility", article.visibility),
            tags=changes.get("tags", article.tags),
            note=changes.get("note", ""),
            expected_revision=expected,
        )
        return self._out(self.get_object())

    @extend_schema(
        summary="Move an article through the workflow (staff)",
        description="draft → in review → published → archived. The owner moves their own drafts to review; only "
        "editors (managers, admins) publish or archive. Setting the current status changes nothing.",
        request=ArticleStatusSerializer,
        responses={200: StaffArticleSerializer, **WRITE_ERRORS},
        examples=[OpenApiExample("Publish", request_only=True, value={"status": "published"})],
    )
    @action(detail=True, methods=["post"], url_path="status", url_name="status", filter_backends=[])
    def set_status(self, request, pk=None):
        self._staff_only()
        article = self.get_object()
        data = ArticleStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        article_set_status(article=article, actor=request.user, status=data.validated_data["status"])
        return self._out(self.get_object())

    @extend_schema(
        summary="An article's revisions, newest first (staff)",
        description="Every content change is a revision: who, when, the note and the content as it was then.",
        responses={200: ArticleRevisionSerializer(many=True), **READ_ERRORS},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def revisions(self, request, pk=None):
        reject_unknown_params(request, PAGING_PARAMS)
        if not request.user.is_staff_member:
            raise PermissionDenied("Only staff can read an article's revisions.")
        page = self.paginate_queryset(article_revisions(article=self.get_object()))
        return self.get_paginated_response(ArticleRevisionSerializer(page, many=True).data)
