from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Major incidents"

    def ready(self) -> None:
        from helpdesk.api.registry import api_route_register
        from helpdesk.bulk_actions import bulk_action_register
        from helpdesk.demo import demo_seeder_register
        from helpdesk.models import STAFF_ROLES
        from helpdesk.navigation import nav_register
        from helpdesk.panels import panel_register
        from incidents.bulk import LINK_TO_INCIDENT
        from incidents.demo import seed_incident
        from incidents.panels import ticket_incident_panel

        nav_register(label=_("Major incidents"), url_name="incident_list", roles=set(STAFF_ROLES), order=35)
        panel_register(
            name="incident",
            template="incidents/_ticket_panel.html",
            context=ticket_incident_panel,
            audience="staff",
            order=10,
        )
        bulk_action_register(LINK_TO_INCIDENT)
        from incidents.api import IncidentViewSet

        api_route_register(prefix="incidents", viewset=IncidentViewSet, basename="incident")
        demo_seeder_register(order=900, name="incidents", seeder=seed_incident)
