from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from helpdesk import mfa_views, queue_views, sso, views
from helpdesk.api import urls as api_urls
from helpdesk.live.views import live_stream_view
from helpdesk.signin import SignInForm

urlpatterns = [
    path("", views.home_view, name="home"),
    path("favicon.ico", views.favicon_view, name="favicon"),
    path("login/", auth_views.LoginView.as_view(form_class=SignInForm, redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("sso/login/", sso.SsoLoginView.as_view(), name="sso_login"),
    path("sso/callback/", sso.SsoCallbackView.as_view(), name="sso_callback"),
    path("tickets/", views.ticket_list_view, name="ticket_list"),
    path("queue/bulk/", queue_views.bulk_action_view, name="bulk_action"),
    path("queue/bulk/<int:pk>/", queue_views.bulk_action_report_view, name="bulk_action_report"),
    path("queue/views/", queue_views.saved_view_list_view, name="saved_view_list"),
    path("queue/views/new/", queue_views.saved_view_new_view, name="saved_view_new"),
    path("queue/views/nav/", queue_views.saved_view_nav_view, name="saved_view_nav"),
    path("queue/views/<int:pk>/rename/", queue_views.saved_view_rename_view, name="saved_view_rename"),
    path("queue/views/<int:pk>/delete/", queue_views.saved_view_delete_view, name="saved_view_delete"),
    path("tickets/new/", views.ticket_new_view, name="ticket_new"),
    path("tickets/<str:reference>/", views.ticket_detail_view, name="ticket_detail"),
    path("tickets/<str:reference>/reply/", views.ticket_reply_view, name="ticket_reply"),
    path("tickets/<str:reference>/note/", views.ticket_note_view, name="ticket_note"),
    path("tickets/<str:reference>/update/", views.ticket_update_view, name="ticket_update"),
    path("tickets/<str:reference>/tags/add/", views.ticket_tag_add_view, name="ticket_tag_add"),
    path("tickets/<str:reference>/tags/remove/", views.ticket_tag_remove_view, name="ticket_tag_remove"),
    path("tickets/<str:reference>/presence/", views.ticket_presence_view, name="ticket_presence"),
    path("attachments/<int:pk>/", views.attachment_download_view, name="attachment_download"),
    path("notifications/", views.notification_list_view, name="notification_list"),
    path("live/stream/", live_stream_view, name="live_stream"),
    path("me/availability/", views.availability_toggle_view, name="availability_toggle"),
    path("audit/export/", views.audit_export_view, name="audit_export"),
    path("admin/", admin.site.urls),
    path("api/", include("helpdesk.api.urls")),
    path("profile/two-step/", mfa_views.mfa_setup_view, name="mfa_setup"),
    path("profile/two-step/recovery-codes/", mfa_views.mfa_recovery_codes_view, name="mfa_recovery_codes"),
    path("profile/two-step/remove/", mfa_views.mfa_remove_view, name="mfa_remove"),
    path("profile/", include(api_urls.profile_urlpatterns)),
]

# Other apps mount their own URLconfs; helpdesk does not import their views.
urlpatterns += [
    path("", include("escalations.urls")),
    path("", include("knowledge_base.urls")),
    path("", include("feedback.urls")),
    path("", include("reports.urls")),
    path("", include("privacy.urls")),
    path("", include("incidents.urls")),
    path("", include("chat.urls")),
]
