from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Live chat"

    def ready(self) -> None:
        from chat import receivers
        from chat.demo import seed_chat
        from helpdesk.demo import demo_seeder_register
        from helpdesk.models import STAFF_ROLES, Role
        from helpdesk.navigation import nav_register

        nav_register(label=_("Chat with us"), url_name="chat_customer", roles={Role.CUSTOMER}, order=25)
        nav_register(label=_("Chat console"), url_name="chat_console", roles=set(STAFF_ROLES), order=15)
        nav_register(
            label=_("Chat on your site"), url_name="chat_embed_settings", roles={Role.ADMIN, Role.MANAGER}, order=195
        )
        from chat.selectors import chat_customer_audience
        from helpdesk.live import LiveKind
        from helpdesk.live.publish import live_customer_rule_register

        live_customer_rule_register(kind=LiveKind.CHAT, rule=chat_customer_audience)
        demo_seeder_register(order=16, name="chat", seeder=seed_chat)  # before the SLA sweep (20)
        from chat.guest import chat_guest_ticket_open, chat_guests_purge
        from helpdesk.retention import retention_purge_register
        from helpdesk.signals import ticket_event_recorded
        from knowledge_base.hooks import help_request_ticket_opener_register

        help_request_ticket_opener_register(chat_guest_ticket_open)  # a guest's confirmed email opens the chat's ticket
        from helpdesk.panels import slot_register

        # The accepter of a chat's warm transfer is linked from the escalation's page to the chat they joined.
        slot_register(slot="escalation_aside", template="chat/_escalation_chat.html", order=10)
        retention_purge_register(name="chat.guest_unconfirmed", purge=chat_guests_purge)  # the retention sweep's
        ticket_event_recorded.connect(receivers.on_ticket_event_recorded, dispatch_uid="chat.escalation_accepted")
