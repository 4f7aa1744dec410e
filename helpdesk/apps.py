from django.apps import AppConfig


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = "Helpdesk core"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        import helpdesk.audit  # records every sign-in, refused sign-in and sign-out
        import helpdesk.live.receivers  # pushes every ticket event to the open screens that may see it
        import helpdesk.pager
        import helpdesk.session_lifetime  # stamps every new session with its sign-in time
        import helpdesk.webhooks  # noqa: F401 - registers the webhook deliverer and its ticket-event listener
        from helpdesk.models import Role
        from helpdesk.navigation import nav_register

        staff = {Role.AGENT, Role.SPECIALIST, Role.MANAGER, Role.ADMIN}
        nav_register(label=_("My requests"), url_name="ticket_list", roles={Role.CUSTOMER}, order=10)
        nav_register(label=_("New request"), url_name="ticket_new", roles={Role.CUSTOMER}, order=20)
        nav_register(label=_("My queue"), url_name="ticket_list", roles=staff, order=10)
        nav_register(label=_("All open tickets"), url_name="ticket_list", roles=staff, order=20, query="?scope=all")
        nav_register(label=_("Notifications"), url_name="notification_list", roles=staff | {Role.CUSTOMER}, order=90)
        nav_register(label=_("Profile & API tokens"), url_name="profile", roles=staff | {Role.CUSTOMER}, order=180)
        nav_register(label=_("Audit export"), url_name="audit_export", roles={Role.ADMIN}, order=190)
        nav_register(label=_("Administration"), url_name="admin:index", roles={Role.ADMIN, Role.MANAGER}, order=200)
