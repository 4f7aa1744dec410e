from django.contrib import admin

from privacy.models import AnonymisedTicket, DataRequest


@admin.register(DataRequest)
class DataRequestAdmin(admin.ModelAdmin):
    """Read-only: requests are made, decided and carried out on the data-protection screens (privacy.services)."""

    list_display = ("pk", "kind", "status", "customer", "requested_by", "decided_by", "created_at")
    list_filter = ("kind", "status")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AnonymisedTicket)
class AnonymisedTicketAdmin(admin.ModelAdmin):
    list_display = ("ticket", "cause", "anonymised_at")
    list_filter = ("cause",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
