"""Local development: DEBUG on, console email."""

from helpdesk.settings.base import *  # noqa: F403
from helpdesk.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# The demo (`make run`) leaves two-step sign-in optional so its printed logins work with the password alone;
# MFA_REQUIRED_ROLES=manager,admin make run shows the enforcement (README, Security: Multi-factor authentication).
MFA_REQUIRED_ROLES = env.list("MFA_REQUIRED_ROLES", default=[])
