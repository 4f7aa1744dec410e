"""Local development: DEBUG on, console email."""

from helpdesk.settings.base import *  # noqa: F403
from helpdesk.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
