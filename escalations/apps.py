from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EscalationsConfig(AppConfig):
    name = "escalations"
    verbose_name = "Escalations and SLAs"

    def ready(self) -> None:
        from escalations import receivers  # noqa: F401 - connects the risk detector to ticket events
        from escalations.demo import seed_escalations, seed_oncall, seed_risk_model
        from escalations.panels import chain_panel, manager_request_panel, risk_panel
        from helpdesk.demo import demo_seeder_register
        from helpdesk.models import Role
        from helpdesk.navigation import nav_register
        from helpdesk.panels import panel_register

        nav_register(
            label=_("Escalation inbox"),
            url_name="escalation_inbox",
            roles={Role.AGENT, Role.SPECIALIST, Role.MANAGER, Role.ADMIN},
            order=30,
        )
        nav_register(
            label=_("Escalation review"), url_name="escalation_review", roles={Role.MANAGER, Role.ADMIN}, order=40
        )
        nav_register(
            label=_("Approvals"),
            url_name="compensation_approvals",
            roles={Role.SPECIALIST, Role.MANAGER, Role.ADMIN},
            order=45,
        )
        nav_register(
            label=_("Teams & on call"),
            url_name="team_list",
            roles={Role.AGENT, Role.SPECIALIST, Role.MANAGER, Role.ADMIN},
            order=150,
        )
        panel_register(
            name="escalation_chain",
            template="escalations/_chain_panel.html",
            context=chain_panel,
            audience="staff",
            order=20,
        )
        panel_register(
            name="escalation_risk",
            template="escalations/_risk_panel.html",
            context=risk_panel,
            audience="staff",
            order=30,
        )
        panel_register(
            name="manager_request",
            template="escalations/_manager_request_panel.html",
            context=manager_request_panel,
            audience="customer",
            order=20,
        )
        from escalations.queue import RISK_COLUMN
        from helpdesk.filters import queue_column_register

        queue_column_register(RISK_COLUMN)
        demo_seeder_register(order=15, name="escalations", seeder=seed_escalations)  # before the SLA sweep
        # After the SLA seeder (20) gives each team its calendar (and so its zone), and after the demo escalations,
        # which were paged as before the rota existed.
        demo_seeder_register(order=25, name="oncall", seeder=seed_oncall)
        # after the feedback seeder (70): the demo's own surveys are part of the history the model learns from
        demo_seeder_register(order=80, name="risk_model", seeder=seed_risk_model)

        # Calls, warm transfers and callbacks.
        import escalations.calls.tasks  # noqa: F401  (registers the beat tasks with the worker)
        from escalations.calls.demo import seed_calls
        from escalations.calls.panels import call_panel
        from helpdesk.panels import slot_register

        nav_register(
            label=_("My callbacks"),
            url_name="my_callbacks",
            roles={Role.AGENT, Role.SPECIALIST, Role.MANAGER, Role.ADMIN},
            order=35,
        )
        panel_register(
            name="call_panel",
            template="escalations/calls/_call_panel.html",
            context=call_panel,
            audience="staff",
            order=5,
        )
        slot_register(slot="queue_top", template="escalations/calls/_queue_callbacks.html")
        slot_register(slot="staff_top", template="escalations/calls/_screen_pop_host.html")
        slot_register(slot="queue_top", template="escalations/_queue_likely.html", order=110)
        demo_seeder_register(order=50, name="calls", seeder=seed_calls)  # after escalations (15) and SLA (20)

        # The knowledge base never imports escalations: escalations plugs KB articles into its escalate form and
        # tells KB health how often each category escalates.
        from escalations.hooks import before_escalate_register
        from escalations.selectors import escalations_per_category
        from knowledge_base.hooks import escalation_demand_register
        from knowledge_base.panels import before_escalate_articles

        before_escalate_register(before_escalate_articles)
        escalation_demand_register(escalations_per_category)

        from escalations.sla import wiring as sla_wiring

        sla_wiring.connect()

        from escalations import api
        from helpdesk.api.registry import api_route_register

        api_route_register(prefix="escalations", viewset=api.EscalationViewSet, basename="escalation")
        api_route_register(prefix="tickets", viewset=api.TicketEscalationViewSet, basename="ticket-escalation")
        api_route_register(prefix="approvals", viewset=api.ApprovalViewSet, basename="approval")
        api_route_register(prefix="vendor-cases", viewset=api.VendorCaseViewSet, basename="vendor-case")

        from escalations.calls import api as calls_api

        api_route_register(prefix="calls", viewset=calls_api.CallViewSet, basename="call")
        api_route_register(prefix="callbacks", viewset=calls_api.CallbackViewSet, basename="callback")

        from escalations.risk_model.api import risk_api_fields
        from helpdesk.api.registry import api_ticket_fields_register

        api_ticket_fields_register(name="risk", fields=risk_api_fields, select_related=("risk_assessment",))
