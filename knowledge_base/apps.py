from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class KnowledgeBaseConfig(AppConfig):
    name = "knowledge_base"
    verbose_name = gettext_lazy("Knowledge base")

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from helpdesk.demo import demo_seeder_register
        from helpdesk.models import Role
        from helpdesk.navigation import nav_register
        from helpdesk.panels import panel_register
        from helpdesk.signals import ticket_event_recorded
        from knowledge_base import receivers
        from knowledge_base.demo import seed_knowledge_base
        from knowledge_base.panels import kb_panel_context, kb_panel_placeholder_context

        staff = {Role.AGENT, Role.SPECIALIST, Role.MANAGER, Role.ADMIN}
        nav_register(label=_("Knowledge base"), url_name="kb_list", roles=staff, order=40)
        nav_register(label=_("Help centre"), url_name="kb_list", roles={Role.CUSTOMER}, order=15)
        nav_register(label=_("KB health"), url_name="kb_health", roles={Role.MANAGER, Role.ADMIN}, order=45)
        panel_register(
            name="kb_suggestions",
            template="knowledge_base/_panel_lazy.html",
            context=kb_panel_placeholder_context,
            audience="staff",
            order=60,
        )
        panel_register(
            name="kb_suggestions_customer",
            template="knowledge_base/_panel.html",
            context=kb_panel_context,
            audience="customer",
            order=60,
        )
        demo_seeder_register(order=30, name="knowledge_base", seeder=seed_knowledge_base)
        ticket_event_recorded.connect(receivers.on_ticket_event, dispatch_uid="kb_deflections_on_ticket_created")

        from django.db.models.signals import post_migrate

        from knowledge_base.fts import fts_repair_after_migrate

        # A later migration that rebuilds the article table on SQLite drops the search triggers (see fts.py).
        post_migrate.connect(fts_repair_after_migrate, sender=self, dispatch_uid="kb_fts_repair_after_migrate")

        from helpdesk.panels import slot_register

        # Suggestions as the customer types on the new-ticket form (and deflection tracking from there).
        slot_register(slot="new_ticket_form", template="knowledge_base/_suggest_widget.html")
        slot_register(slot="escalation_resolved", template="knowledge_base/_draft_from_escalation_button.html")

        from helpdesk.api.registry import api_route_register
        from knowledge_base.api import ArticleViewSet

        api_route_register(prefix="kb/articles", viewset=ArticleViewSet, basename="kb-article")
