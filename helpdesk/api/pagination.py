"""Page-number pagination that answers 400 (not 404, not a silent clamp) to a bad page or page size, and counts
at most COUNT_CAP rows: an exact COUNT(*) over 100,000 visible tickets is a full scan, while counting up to a cap
stops early. Above the cap ``count`` is the cap and ``count_exact`` is false: narrow the list with filters."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

MAX_PAGE_SIZE = 100
COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    object_list: QuerySet[Any] | list[Any] | tuple[Any, ...]
    count_exact = True

    @cached_property
    def count(self) -> int:
        head = self.object_list[: COUNT_CAP + 1]
        counted = len(head) if isinstance(head, list | tuple) else head.count()
        self.count_exact = counted <= COUNT_CAP
        return min(counted, COUNT_CAP)


def _positive_int(raw: str) -> int | None:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if value >= 1 else None


class StrictPageNumberPagination(PageNumberPagination):
    django_paginator_class = CappedCountPaginator
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = _positive_int(raw)
        if size is None or size > self.max_page_size:
            raise ValidationError({"page_size": [f"Must be a whole number from 1 to {self.max_page_size}."]})
        return size

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and _positive_int(raw) is None:
            raise ValidationError({"page": ["Must be a whole number from 1."]})
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            last = self.django_paginator_class(queryset, self.get_page_size(request)).num_pages
            raise ValidationError({"page": [f"Page {raw} is beyond the last page ({last})."]}) from None

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
                parameter["description"] = f"Results per page: 1 to {self.max_page_size} (default {self.page_size})."
        return parameters

    def get_paginated_response(self, data):
        paginator = self.page.paginator
        return Response(
            {
                "count": paginator.count,
                "count_exact": paginator.count_exact,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count"]["description"] = f"Matching rows, counted up to {COUNT_CAP}."
        response["properties"]["count_exact"] = {
            "type": "boolean",
            "example": True,
            "description": f"False when more than {COUNT_CAP} rows match (count is then {COUNT_CAP}).",
        }
        response["required"] = ["count", "count_exact", "results"]
        return response
