from django.urls import path

from chat import guest_views, views

urlpatterns = [
    path("chat/", views.chat_customer_view, name="chat_customer"),
    path("chat/guest/", guest_views.chat_guest_view, name="chat_guest"),
    path("chat/guest/<int:pk>/log/", guest_views.chat_guest_log_view, name="chat_guest_log"),
    path("chat/guest/<int:pk>/send/", guest_views.chat_guest_send_view, name="chat_guest_send"),
    path("chat/guest/<int:pk>/typing/", guest_views.chat_guest_typing_view, name="chat_guest_typing"),
    path("chat/guest/<int:pk>/end/", guest_views.chat_guest_end_view, name="chat_guest_end"),
    path("chat/console/", views.chat_console_view, name="chat_console"),
    path("chat/embed.js", views.chat_embed_js_view, name="chat_embed_js"),
    path("chat/widget/", views.chat_widget_view, name="chat_widget"),
    path("chat/embed/", views.chat_embed_settings_view, name="chat_embed_settings"),
    path("chat/console/waiting/", views.chat_waiting_view, name="chat_waiting"),
    path("chat/<int:pk>/log/", views.chat_log_view, name="chat_log"),
    path("chat/<int:pk>/send/", views.chat_send_view, name="chat_send"),
    path("chat/<int:pk>/accept/", views.chat_accept_view, name="chat_accept"),
    path("chat/<int:pk>/end/", views.chat_end_view, name="chat_end"),
    path("chat/<int:pk>/escalate/", views.chat_escalate_view, name="chat_escalate"),
    path("chat/<int:pk>/callback/", views.chat_callback_view, name="chat_callback"),
    path("chat/file/<int:pk>/", views.chat_attachment_view, name="chat_attachment"),
    path("chat/<int:pk>/typing/", views.chat_typing_view, name="chat_typing"),
]
