"""URLs of the REST API (mounted at /api/) and of the profile page (mounted at /profile/)."""

from django.urls import include, path, register_converter
from django.urls.converters import StringConverter
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny
from rest_framework.routers import SimpleRouter

from helpdesk.api import views, views_profile, views_resources, views_saved
from helpdesk.api.registry import api_routes, api_views

app_name = "api"


class TicketReferenceConverter(StringConverter):
    """``<ticket_reference:reference>`` in a registered view's route accepts what the ticket routes' lookup does,
    so a plain view under ``tickets/{reference}/`` matches, and is documented, like a ticket action."""

    regex = views.TicketViewSet.lookup_value_regex


register_converter(TicketReferenceConverter, "ticket_reference")

router = SimpleRouter()
router.register("tickets", views.TicketViewSet, basename="ticket")
router.register("teams", views.TeamViewSet, basename="team")
router.register("tokens", views.ApiTokenViewSet, basename="token")
router.register("tickets", views_resources.TicketAttachmentViewSet, basename="ticket-attachment")
router.register("attachments", views_resources.AttachmentViewSet, basename="attachment")
router.register("notifications", views_resources.NotificationViewSet, basename="notification")
router.register("organizations", views_resources.OrganizationViewSet, basename="organization")
router.register("contacts", views_resources.ContactViewSet, basename="contact")
router.register("saved-views", views_saved.SavedViewViewSet, basename="saved-view")
for route in api_routes():
    router.register(route.prefix, route.viewset, basename=route.basename)

urlpatterns = [
    path("auth/login/", views.LoginApi.as_view(), name="login"),
    path("me/", views.MeApi.as_view(), name="me"),
    path("audit/export/", views.AuditExportApi.as_view(), name="audit_export"),
    path(
        "schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny], authentication_classes=[]), name="schema"
    ),
    path("docs/", views_profile.api_docs_view, name="docs"),
    *(path(entry.route, entry.view, name=entry.name) for entry in api_views()),
    path("", include(router.urls)),
]

profile_urlpatterns = [
    path("", views_profile.profile_view, name="profile"),
    path("preferences/", views_profile.profile_preferences_view, name="profile_preferences"),
    path("tokens/<int:pk>/revoke/", views_profile.token_revoke_view, name="token_revoke"),
]
