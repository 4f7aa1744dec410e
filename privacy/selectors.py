"""Reads for data-protection screens."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from escalations.models import Escalation
from helpdesk.models import Role, User
from privacy.models import DataRequest, RequestStatus
from privacy.services import data_request_may_ask


def data_requests_visible_to(user: User) -> QuerySet[DataRequest]:
    """Managers and administrators see every request; anyone else only those they asked for."""
    qs = DataRequest.objects.select_related("customer", "requested_by", "decided_by", "escalation__ticket")
    return qs if user.is_manager else qs.filter(requested_by=user)


def data_request_get_for_user(*, user: User, pk: int) -> DataRequest:
    request = data_requests_visible_to(user).filter(pk=pk).first()
    if request is None:
        raise Http404("No such data request.")
    return request


def customer_get(*, pk: int) -> User:
    customer = User.objects.filter(pk=pk, role=Role.CUSTOMER).select_related("organization__plan").first()
    if customer is None:
        raise Http404("No such customer.")
    return customer


def customers_search(query: str, *, limit: int = 20) -> QuerySet[User]:
    query = (query or "").strip()
    if len(query) < 2:
        return User.objects.none()
    match = Q(email__icontains=query) | Q(username__icontains=query) | Q(last_name__icontains=query)
    return User.objects.filter(match, role=Role.CUSTOMER).select_related("organization").order_by("username")[:limit]


def escalation_requests_context(*, user: User, escalation: Escalation) -> dict | None:
    """What the compliance escalation's screen shows: the ticket customer's requests and what this user may do."""
    if escalation.escalation_type != "compliance":
        return None
    customer = escalation.ticket.customer
    return {
        "customer": customer,
        "requests": list(data_requests_visible_to(user).filter(customer=customer)[:10]),
        "may_ask": data_request_may_ask(user=user, escalation=escalation),
        "may_decide": user.is_manager,
        "pending": RequestStatus.PENDING,
    }
