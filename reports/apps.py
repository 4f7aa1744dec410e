from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports and coaching"

    def ready(self) -> None:
        from helpdesk.demo import demo_seeder_register
        from helpdesk.models import Role
        from helpdesk.navigation import nav_register
        from reports.demo import seed_coaching_sessions

        managers = {Role.MANAGER, Role.ADMIN}
        nav_register(label=_("Dashboard"), url_name="reports_dashboard", roles=managers, order=5)
        nav_register(label=_("Coaching"), url_name="reports_coaching", roles=managers, order=60)
        nav_register(label=_("Trend explorer"), url_name="reports_explorer", roles=managers, order=61)
        nav_register(label=_("SLA what-if"), url_name="reports_sla_simulator", roles=managers, order=62)
        demo_seeder_register(order=900, name="reports.coaching_sessions", seeder=seed_coaching_sessions)

        from django.db.models.signals import post_save

        from helpdesk.models import Organization
        from helpdesk.signals import ticket_event_recorded
        from knowledge_base.models import Article
        from reports import receivers

        ticket_event_recorded.connect(receivers.on_ticket_event_recorded, dispatch_uid="reports.rollups_ticket_events")
        post_save.connect(receivers.on_article_saved, sender=Article, dispatch_uid="reports.rollups_articles")
        post_save.connect(receivers.on_organization_saved, sender=Organization, dispatch_uid="reports.rollups_orgs")

        from helpdesk.api.registry import api_view_register
        from reports.api import MetricsApi

        api_view_register(route="metrics/", view=MetricsApi.as_view(), name="metrics")
