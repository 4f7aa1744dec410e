from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = "Surveys, follow-ups and root-cause analyses"

    def ready(self) -> None:
        from feedback import panels, services
        from feedback.demo import seed_feedback
        from helpdesk.demo import demo_seeder_register
        from helpdesk.guards import status_guard_register
        from helpdesk.models import Role
        from helpdesk.navigation import nav_register
        from helpdesk.panels import panel_register
        from helpdesk.signals import ticket_event_recorded

        status_guard_register(name="feedback.resolution_criteria", guard=services.resolution_status_guard)
        ticket_event_recorded.connect(services.on_ticket_event_recorded, dispatch_uid="feedback.ticket_events")

        staff = {Role.AGENT, Role.SPECIALIST, Role.MANAGER, Role.ADMIN}
        nav_register(label=_("My follow-ups"), url_name="follow_up_list", roles=staff, order=60)
        nav_register(label=_("RCA review"), url_name="rca_review_queue", roles={Role.MANAGER, Role.ADMIN}, order=70)

        panel_register(
            name="feedback.resolution_checklist",
            template="feedback/_panel_checklist.html",
            context=panels.checklist_panel,
            audience="staff",
            order=40,
        )
        panel_register(
            name="feedback.rca",
            template="feedback/_panel_rca.html",
            context=panels.rca_panel,
            audience="staff",
            order=45,
        )
        panel_register(
            name="feedback.survey",
            template="feedback/_panel_survey.html",
            context=panels.survey_panel,
            audience="staff",
            order=50,
        )
        demo_seeder_register(order=70, name="feedback", seeder=seed_feedback)

        from feedback.api import SurveyApi
        from helpdesk.api.registry import api_view_register

        api_view_register(route="surveys/<str:token>/", view=SurveyApi.as_view(), name="survey")

        from feedback import api_staff
        from helpdesk.api.registry import api_route_register

        api_route_register(prefix="rcas", viewset=api_staff.RcaViewSet, basename="rca")
        api_route_register(
            prefix="corrective-actions", viewset=api_staff.CorrectiveActionViewSet, basename="corrective-action"
        )
        api_route_register(prefix="follow-ups", viewset=api_staff.FollowUpViewSet, basename="follow-up")
        api_route_register(prefix="survey-results", viewset=api_staff.SurveyResultViewSet, basename="survey-result")
