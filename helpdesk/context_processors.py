"""Navigation per role, the bell's unread count and the push client's fallback period, for base.html."""

from django.conf import settings

from helpdesk.navigation import nav_for
from helpdesk.selectors import notification_unread_count


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_items": nav_for(user),
        "unread_notifications": notification_unread_count(user),
        "live_fallback_seconds": settings.LIVE_FALLBACK_POLL_SECONDS,
    }
