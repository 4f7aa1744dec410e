"""Admin for live chat: view-only (chats change through ``chat.services`` from the chat pages)."""

from django.contrib import admin

from chat.models import ChatMessage, ChatSession
from helpdesk.admin_services import ViewOnlyAdmin


@admin.register(ChatSession)
class ChatSessionAdmin(ViewOnlyAdmin):
    list_display = ("pk", "customer", "status", "agent", "created_at", "accepted_at", "ended_at", "ticket")
    list_filter = ("status",)
    list_select_related = ("customer", "agent", "ticket")


@admin.register(ChatMessage)
class ChatMessageAdmin(ViewOnlyAdmin):
    list_display = ("pk", "session", "author", "from_staff", "created_at")
    list_select_related = ("session", "author")
