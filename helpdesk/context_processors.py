"""Navigation per role, the bell's unread count and the push client's fallback period, for base.html."""

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from helpdesk.navigation import nav_for
from helpdesk.panels import slot_templates
from helpdesk.selectors import notification_unread_count


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Counted only if the template shows the bell: htmx fragments (the workspace's panels, presence) never do.
    unread = SimpleLazyObject(lambda: notification_unread_count(user))
    return {
        "nav_items": nav_for(user),
        "unread_notifications": unread,
        "live_fallback_seconds": settings.LIVE_FALLBACK_POLL_SECONDS,
        # Other apps' fragments above every staff page (e.g. the phone system's screen pop); they cost no query.
        "staff_top": slot_templates("staff_top") if user.is_staff_member else [],
    }
