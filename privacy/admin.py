from django.contrib import admin

from helpdesk.admin_services import ViewOnlyAdmin
from privacy.models import AnonymisedTicket, DataRequest


@admin.register(DataRequest)
class DataRequestAdmin(ViewOnlyAdmin):
    """Read-only: requests are made, decided and carried out on the data-protection screens (privacy.services)."""

    list_display = ("pk", "kind", "status", "customer", "requested_by", "decided_by", "created_at")
    list_filter = ("kind", "status")


@admin.register(AnonymisedTicket)
class AnonymisedTicketAdmin(ViewOnlyAdmin):
    """Read-only: the erasure and the retention sweep record here which tickets they anonymised, and why."""

    list_display = ("ticket", "cause", "anonymised_at")
    list_filter = ("cause",)
