from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Data protection: export, erasure and retention"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from helpdesk.models import Role
        from helpdesk.navigation import nav_register
        from helpdesk.panels import panel_register, slot_register
        from privacy.panels import customer_panel

        nav_register(label=_("Data requests"), url_name="data_request_list", roles={Role.MANAGER, Role.ADMIN}, order=90)
        # The compliance escalation's own screen offers export / erasure of the ticket's customer.
        slot_register(slot="escalation_aside", template="privacy/_escalation_requests.html")
        panel_register(
            name="privacy.customer",
            template="privacy/_customer_panel.html",
            context=customer_panel,
            audience="staff",
            order=90,
        )
