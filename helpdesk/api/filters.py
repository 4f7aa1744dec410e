"""Allowlisted filters and ordering: anything else in the query string is a 400 that says what is allowed."""

from __future__ import annotations

import django_filters
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.filters import OrderingFilter

from helpdesk.models import STAFF_ROLES, Category, Channel, Priority, Status, Team, Ticket, User

PAGING_PARAMS = frozenset({"page", "page_size"})


class BadQuery(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_query"


class CustomerTicketFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Status.choices)
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    category = django_filters.ModelChoiceFilter(queryset=Category.objects.all(), to_field_name="slug")

    class Meta:
        model = Ticket
        fields = ["status", "priority", "channel", "category"]


class StaffTicketFilter(CustomerTicketFilter):
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), to_field_name="slug")
    assignee = django_filters.ModelChoiceFilter(queryset=User.objects.filter(role__in=STAFF_ROLES))

    class Meta(CustomerTicketFilter.Meta):
        fields = [*CustomerTicketFilter.Meta.fields, "team", "assignee"]


class StrictOrderingFilter(OrderingFilter):
    """DRF's ordering filter ignores unknown fields silently; this one refuses them. A primary-key tie-breaker
    keeps pages stable when the sort key repeats."""

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param)
        if raw is None:
            return self.get_default_ordering(view)
        terms = [term.strip() for term in raw.split(",")]
        allowed = list(view.ordering_fields)
        bad = [term for term in terms if term.lstrip("-") not in allowed]
        if bad or not terms:
            raise ValidationError(
                {
                    self.ordering_param: [
                        f"Cannot order by {', '.join(repr(t) for t in bad) or 'nothing'}. "
                        f"Allowed: {', '.join(allowed)} (prefix with '-' for descending)."
                    ]
                }
            )
        return [*terms, "-pk"]

    def get_schema_operation_parameters(self, view):
        allowed = list(view.ordering_fields)
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": f"Sort by one of {', '.join(allowed)}; prefix with '-' for descending. "
                "Several may be given, separated by commas.",
                "schema": {"type": "string", "enum": [*allowed, *(f"-{name}" for name in allowed)]},
            }
        ]


def reject_unknown_params(request, allowed) -> None:
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        raise BadQuery(f"Unknown query parameter(s): {', '.join(unknown)}. Allowed: {', '.join(sorted(allowed))}.")


class StrictListMixin:
    """For a list/retrieve viewset: only the filterset's parameters, ``ordering`` (when the view has an allowlist)
    and paging on a list, nothing on a detail; anything else is a 400 naming it."""

    def list(self, request, *args, **kwargs):
        allowed = {*PAGING_PARAMS}
        if getattr(self, "filterset_class", None) is not None:
            allowed |= set(self.filterset_class.base_filters)
        if getattr(self, "ordering_fields", None):
            allowed.add("ordering")
        reject_unknown_params(request, allowed)
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        reject_unknown_params(request, ())
        return super().retrieve(request, *args, **kwargs)
