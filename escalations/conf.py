"""Escalation settings with their defaults. Override any of them in Django settings (those read from the environment
below also from there); read them through these functions so tests can use ``override_settings``."""

from __future__ import annotations

from decimal import Decimal

import environ
from django.conf import settings

# Settings that operators tune per deployment are read from the environment here, next to their defaults.
env = environ.Env()

DEFAULTS = {
    # A customer may ask for a manager once this share of the SLA time has elapsed ...
    "ESCALATION_MANAGER_REQUEST_SLA_SHARE": 0.5,
    # ... or once the ticket has gone this many hours without a reply from us.
    "ESCALATION_MANAGER_REQUEST_IDLE_HOURS": 24,
    # At most this many manager requests per customer in a rolling 24 hours (across all their tickets).
    "ESCALATION_MANAGER_REQUEST_MAX_PER_DAY": 3,
    # How long an escalation may stay unaccepted when its path level says nothing.
    "ESCALATION_DEFAULT_ACK_MINUTES": 30,
    # ... and when the caller is waiting on the line (a warm transfer); then it becomes a promised callback.
    "ESCALATION_CALLER_WAITING_ACK_MINUTES": 2,
    # Approval limits per tier when no TierApprovalLimit row exists for the currency.
    "ESCALATION_APPROVAL_LIMITS": {1: Decimal("50"), 2: Decimal("250"), 3: Decimal("2500")},
    "ESCALATION_DEFAULT_CURRENCY": "GBP",
    # A risk score at or above this flags the ticket in the workspace.
    "ESCALATION_RISK_FLAG_SCORE": 30,
    # A message's risk signals count half after this many days, a quarter after twice as many, and so on, so a calm
    # week lowers a ticket's risk. 0 turns the decay off.
    "ESCALATION_RISK_HALF_LIFE_DAYS": env.float("ESCALATION_RISK_HALF_LIFE_DAYS", default=3.0),
    # The "likely to escalate" panel (team leads' queue, manager dashboard) offers this many tickets ...
    "ESCALATION_RISK_WATCHLIST_SIZE": env.int("ESCALATION_RISK_WATCHLIST_SIZE", default=10),
    # ... or, when above 0, this many per available agent of the teams it covers (sized by capacity).
    "ESCALATION_RISK_LOOKS_PER_AGENT": env.int("ESCALATION_RISK_LOOKS_PER_AGENT", default=0),
    # The text classifier beside the rules (``escalations.risk_text``), trained on first use from this labelled set.
    "ESCALATION_RISK_TEXT_MODEL": env.bool("ESCALATION_RISK_TEXT_MODEL", default=True),
    # "" is the set shipped in the repository (tests/data/risk_messages.csv).
    "ESCALATION_RISK_TEXT_MESSAGES": env.str("ESCALATION_RISK_TEXT_MESSAGES", default=""),
    # A page to the person on call (a team with an on-call rota) that nobody accepts within this many minutes pages
    # the backup; as long again, and every manager.
    "ESCALATION_ONCALL_BACKUP_MINUTES": env.int("ESCALATION_ONCALL_BACKUP_MINUTES", default=5),
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])
