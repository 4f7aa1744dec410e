"""The four-eyes rule every approval in the product follows: nobody decides their own request. Compensation above a
tier limit (``escalations.compensation``) and data-protection requests (the ``privacy`` app) both call it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext

from helpdesk.models import User


def approval_require_second_person(*, requested_by_id: int | None, actor: User, what: str, who: str) -> None:
    """Refuse when ``actor`` asked for the request themselves: "You cannot approve or reject your own <what>; <who>
    must decide." """
    if requested_by_id is not None and requested_by_id == actor.pk:
        raise PermissionDenied(
            gettext("You cannot approve or reject your own %(what)s; %(who)s must decide.") % {"what": what, "who": who}
        )
