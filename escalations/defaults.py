"""The shipped configuration: a default escalation path per type, a playbook per type, approval limits per tier.
Used by the demo seeder and available to operators (idempotent: existing rows are left as configured)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils.translation import override

from escalations.models import (
    Currency,
    EscalationLevel,
    EscalationPath,
    EscalationType,
    LevelTarget,
    Playbook,
    TierApprovalLimit,
)
from helpdesk.models import Team

T = EscalationType

# type -> [(team key or None for the manager on call, ack minutes)]
DEFAULT_PATHS: dict[str, list[tuple[str | None, int]]] = {
    T.TECHNICAL: [("technical", 30), (None, 30)],
    T.MANAGERIAL: [(None, 60)],
    T.SUPPORT_LEVEL: [("technical", 30), (None, 30)],
    T.EMERGENCY: [(None, 10)],
    T.PROCESS: [(None, 120)],
    T.FINANCIAL: [("billing", 60), (None, 60)],
    T.COMPLIANCE: [("compliance", 60), (None, 60)],
    T.THIRD_PARTY: [("technical", 120), (None, 60)],
}

PLAYBOOKS: dict[str, tuple[str, str, list[str], str]] = {
    T.TECHNICAL: (
        "Technical problem beyond tier 1",
        "I'm passing this to our technical specialists, who can look deeper into the system than I can. "
        "They will have everything you have told me, so you won't need to repeat yourself.",
        ["Reproduce the problem and note the exact error", "Record browser/app version and time", "Search the KB"],
        "Exact error, steps to reproduce, when it started, how many users are affected.",
    ),
    T.MANAGERIAL: (
        "The customer needs someone with authority",
        "I understand you'd like a manager to look at this. I'm asking one now and giving them the full history.",
        ["Acknowledge the frustration in your own words", "Summarise what was promised and what happened"],
        "What the customer asks for, what has been promised so far, and the customer's mood.",
    ),
    T.SUPPORT_LEVEL: (
        "Needs a higher support tier",
        "I'm moving your request to a more senior team so it gets the attention it needs.",
        ["Confirm the SLA state", "Note what you have already tried"],
        "What was tried, and why tier 1 cannot finish it.",
    ),
    T.EMERGENCY: (
        "Emergency: business stopped or safety at risk",
        "This is now being treated as an emergency. A manager is being alerted right now and will take charge.",
        [
            "Confirm the impact (who is stopped, since when)",
            "Keep the caller on the line if possible",
            "Give a callback number",
        ],
        "Impact, number of users affected, the best way to reach the customer right now.",
    ),
    T.PROCESS: (
        "Our process failed the customer",
        "I'm sorry, our process let you down here. I'm raising it with a manager so it is put right and fixed.",
        ["Describe which step of the process failed", "Note any policy the customer was told"],
        "Which process step failed and what the customer was told.",
    ),
    T.FINANCIAL: (
        "Refund, credit or goodwill",
        "I'm asking our billing team to review this. If compensation is appropriate they will confirm the amount.",
        ["Check invoices and payments", "Agree the amount you propose", "Note the customer's plan"],
        "Invoice numbers, amount proposed and why, what the customer asked for.",
    ),
    T.COMPLIANCE: (
        "Legal, privacy or regulatory matter",
        "This needs our compliance team, who handle data and legal matters confidentially. They will contact you.",
        [
            "Do not promise outcomes",
            "Record the regulation or request named (e.g. GDPR erasure)",
            "Do not copy personal data into notes",
        ],
        "The request or regulation, deadlines mentioned, who is the data subject.",
    ),
    T.THIRD_PARTY: (
        "Waiting on a vendor or partner",
        "This depends on one of our partners. I'm raising it with them and we'll chase them on a set date.",
        ["Open the case with the vendor first", "Record their reference and contact", "Agree a follow-up date"],
        "Vendor, their reference and contact, and when to chase them.",
    ),
}

APPROVAL_LIMITS = {
    Currency.GBP: {1: Decimal("50"), 2: Decimal("250"), 3: Decimal("2500")},
    Currency.EUR: {1: Decimal("60"), 2: Decimal("300"), 3: Decimal("3000")},
    Currency.USD: {1: Decimal("60"), 2: Decimal("300"), 3: Decimal("3000")},
}


def _team(key: str) -> Team | None:
    team = Team.objects.filter(slug=key).first()
    if team is None and key == "billing":
        team = Team.objects.filter(slug="technical").first()
    return team or Team.objects.filter(tier=2).order_by("name").first()


@transaction.atomic
def _english(label: object) -> str:
    """A (translatable) choice label in the product's language, for a name stored in the database."""
    with override(settings.LANGUAGE_CODE):
        return str(label)


def escalation_config_ensure() -> None:
    """Create the default paths, playbooks and approval limits that do not exist yet. Idempotent."""
    for escalation_type, levels in DEFAULT_PATHS.items():
        if EscalationPath.objects.filter(escalation_type=escalation_type).exists():
            continue
        path = EscalationPath.objects.create(
            name=f"Default {_english(EscalationType(escalation_type).label).lower()} path",
            escalation_type=escalation_type,
        )
        for position, (key, ack) in enumerate(levels, start=1):
            EscalationLevel.objects.create(
                path=path,
                position=position,
                target=LevelTarget.MANAGER_ON_CALL if key is None else LevelTarget.TEAM,
                team=None if key is None else _team(key),
                ack_minutes=ack,
            )
    for escalation_type, (title, script, checklist, needs) in PLAYBOOKS.items():
        Playbook.objects.get_or_create(
            escalation_type=escalation_type,
            defaults={"title": title, "script": script, "checklist": "\n".join(checklist), "receiver_needs": needs},
        )
    for currency, limits in APPROVAL_LIMITS.items():
        for tier, amount in limits.items():
            TierApprovalLimit.objects.get_or_create(tier=tier, currency=currency, defaults={"amount": amount})
