from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Live chat"

    def ready(self) -> None:
        from helpdesk.models import STAFF_ROLES
        from helpdesk.navigation import nav_register

        nav_register(label="Chat console", url_name="chat_console", roles=set(STAFF_ROLES), order=15)
