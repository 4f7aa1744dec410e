"""Escalation and SLA models. ``escalation.py`` holds escalations, paths, levels, playbooks, approvals and vendor
cases; ``sla.py`` holds business calendars, SLA policies and clocks; ``calls.py`` holds phone calls and callbacks;
``oncall.py`` holds the on-call rota and the paging stages."""

from escalations.models.calls import *  # noqa: F403
from escalations.models.escalation import *  # noqa: F403
from escalations.models.oncall import *  # noqa: F403
from escalations.models.risk_model import *  # noqa: F403
from escalations.models.sla import *  # noqa: F403
