"""The knowledge-base API: ``/api/kb/articles/`` (read-only), registered from ``KnowledgeBaseConfig.ready``.

Every row comes from ``selectors.articles_visible_to`` (customers: published public articles; staff: published ones
and their own drafts; editors: all), so the list and the details agree. ``?search=`` ranks through the same search
module as the help centre (best first, at most ``SEARCH_LIMIT`` hits)."""

from __future__ import annotations

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import NotFound, ValidationError

from helpdesk.api.filters import PAGING_PARAMS, StrictOrderingFilter, reject_unknown_params
from helpdesk.api.schema import schema_staff_only_register
from helpdesk.api.views import E400, E401, E404
from helpdesk.models import Category
from knowledge_base.models import Article, ArticleStatus, ArticleVisibility
from knowledge_base.search import articles_search
from knowledge_base.selectors import articles_visible_to

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

    class Meta:
        model = Article
        fields = [
            "id",
            "title",
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
            "published_at",
            "created_at",
            "updated_at",
        ]
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
        description="Customers receive it without the workflow fields (status, visibility, owner, counts).",
        responses={200: StaffArticleSerializer, **E400, **E401, 404: E404[404]},
    ),
)
class ArticleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = ArticleFilter
    ordering_fields = ["title", "updated_at", "published_at"]
    ordering = ["title", "pk"]
    queryset = Article.objects.none()

    def get_queryset(self):
        return articles_visible_to(self.request.user).with_list_related()

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
        return super().retrieve(request, *args, **kwargs)
