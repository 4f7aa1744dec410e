"""A synthetic but structured history of closed tickets, for the demo and ``bench/risk_eval.py``.

Deterministic for a seed. Structure the model can learn, as real contact centres show it:

- a minority of customers escalate again and again (a latent "temper" per customer; a few organisations are
  demanding as a whole), and customers who escalated give low satisfaction scores afterwards;
- some categories escalate far more often (billing disputes, outages) than others (how-to questions);
- urgent and high priorities, raised priorities, reopenings and bounces between teams go with escalations;
- escalating customers write more, faster, and angrier ("third time", "moving to your competitor", "I'll dispute
  the charge with my bank", misspelt or in another language), but calm tickets also contain trigger words in
  harmless phrases, and some escalations come with polite words: the text is a signal, not the answer.

The rows are written as an import from a previous helpdesk would be (bulk inserts, no services, no signals), so
creating a few thousand takes seconds and nothing reacts to events that happened months ago. These figures are
made up: a model trained on them proves the machinery, not its value on real tickets.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import transaction

from escalations.models import Escalation, EscalationMode, EscalationStatus, EscalationType, RequestedBy
from helpdesk.models import (
    Category,
    Channel,
    EventKind,
    Organization,
    Plan,
    Priority,
    Role,
    Status,
    Team,
    Ticket,
    TicketEvent,
    Tier,
    User,
)

PREFIX = "HIST-"

# category slug -> (name, how much more often it escalates: log-odds)
CATEGORY_RISK = {
    "billing": ("Billing", 0.9),
    "outage": ("Outage", 1.1),
    "account": ("Account", 0.0),
    "integrations": ("Integrations", 0.3),
    "how-to": ("How-to", -1.3),
    "feature-request": ("Feature request", -1.0),
}
PLAN_RISK = {"basic": -0.2, "pro": 0.0, "enterprise": 0.5}
PRIORITY_RISK: dict[str, float] = {Priority.LOW: -0.8, Priority.NORMAL: 0.0, Priority.HIGH: 0.6, Priority.URGENT: 1.1}
CHANNEL_RISK: dict[str, float] = {
    Channel.WEB: 0.0,
    Channel.EMAIL: 0.0,
    Channel.CHAT: 0.1,
    Channel.PHONE: 0.3,
    Channel.SOCIAL: 0.6,
}

SUBJECTS = {
    "billing": ["Invoice amount looks wrong", "Charged twice this month", "Refund not received", "VAT missing"],
    "outage": ["Dashboard not loading", "API returning errors", "Nobody can log in", "Sync stopped overnight"],
    "account": ["Add a new user", "Change our billing contact", "Reset two-factor", "Merge two accounts"],
    "integrations": ["Webhook deliveries failing", "CRM sync duplicates", "SSO set-up question", "Zapier token"],
    "how-to": ["How do I export a report?", "Where is the audit log?", "Bulk edit tickets?", "Change my timezone"],
    "feature-request": ["Dark mode please", "More chart types", "Custom fields on forms", "Keyboard shortcuts"],
}
CALM = [
    "Could you take a look when you have a moment? Thanks.",
    "Thanks for the quick reply, that helps.",
    "Please review my invoice for March, I think a line is missing.",
    "I am a manager at our office and need to add two colleagues.",
    "We would like to terminate the old user account of a leaver.",
    "No rush on this one, just let me know.",
    "I do not want to cancel, I just want to understand the charge.",
    "The error says 'Sync failed (code 502)', as you asked.",
    "Great, that worked. Much appreciated!",
    "Can you confirm the change is live?",
    "Merci pour votre aide, tout fonctionne.",
    "Gracias, ya funciona correctamente.",
    "Our tennis court booking page shows the old logo, small thing.",
    "Is there a way to do this in bulk?",
]
FRUSTRATED = [
    "Any update? We are still waiting.",
    "This is still not working and it is slowing the whole team down.",
    "I already sent this information last week.",
    "This is the second time I have had to explain this.",
    "Not happy with how long this is taking.",
    "We really need this fixed today.",
    "Hello?? Is anyone looking at this?",
    "It's been three days with no real answer.",
    "Ich warte immer noch auf eine Antwort.",
    "Toujours aucune réponse, c'est très frustrant.",
]
ANGRY = [
    "This is the third time I am writing about this. Unacceptable.",
    "I want to speak to a manager now.",
    "If this is not fixed by Friday we are moving to your competitor.",
    "I'll dispute the charge with my bank if the refund doesn't arrive.",
    "We are considering legal action over the lost data.",
    "Absolutely ridiculous service, nobody can work.",
    "Cancel our contract if you cannot fix this.",
    "I will post about this on Twitter, your support is a joke.",
    "this is teh thrid time i ask, get me your manger",
    "Es la tercera vez que escribo, quiero hablar con un responsable.",
    "C'est la troisième fois que je vous écris, je veux parler à un responsable.",
    "Worst support ever. We have been down since yesterday!!!",
]
AGENT = [
    "Thanks for reaching out, I am looking into this now.",
    "Could you tell me the exact words of the error message?",
    "I have asked our specialists to check the logs.",
    "Sorry for the wait, here is what we found so far.",
]
FIXED = ["This is fixed now; please let us know if anything else comes up.", "Done: the change is live."]
ESCALATION_TYPES = {
    "billing": EscalationType.FINANCIAL,
    "outage": EscalationType.TECHNICAL,
    "account": EscalationType.SUPPORT_LEVEL,
    "integrations": EscalationType.THIRD_PARTY,
    "how-to": EscalationType.SUPPORT_LEVEL,
    "feature-request": EscalationType.PROCESS,
}


@dataclass
class HistoryResult:
    tickets: int
    escalated: int
    created: bool


@dataclass
class _Timeline:
    """One historic ticket's events, written in order: each step comes ``minutes`` after the previous one."""

    ticket: Ticket
    at: datetime
    events: list[TicketEvent]

    def add(self, kind, *, minutes: float, body: str = "", data: dict | None = None, public: bool = True, actor=None):
        self.at += timedelta(minutes=minutes)
        self.events.append(
            TicketEvent(
                ticket=self.ticket,
                kind=kind,
                actor=actor,
                is_public=public,
                body=body,
                data=data or {},
                created_at=self.at,
            )
        )


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _people(
    rng: random.Random, customers: int, known: Sequence[User]
) -> tuple[list[User], dict[int, float], list[Team]]:
    """Organisations and customers for the history (get-or-create), each customer with a latent temper."""
    plans = {plan.code: plan for plan in Plan.objects.all()}
    for code, name, rank in (("basic", "Basic", 1), ("pro", "Pro", 2), ("enterprise", "Enterprise", 3)):
        if code not in plans:
            plans[code] = Plan.objects.create(code=code, name=name, rank=rank)
    org_names = [
        ("Acme Widgets", "enterprise", 0.8),
        ("Harbour Dental", "basic", -0.3),
        ("Kestrel Freight", "pro", 0.4),
        ("Lumen Studios", "pro", -0.2),
        ("Maple Health", "enterprise", 0.2),
        ("Orchard Foods", "basic", 0.0),
        ("Pinecrest Legal", "enterprise", 0.6),
        ("Quartz Analytics", "pro", -0.4),
        ("Riverside Hotels", "basic", 0.3),
        ("Summit Outdoors", "pro", 0.0),
    ]
    password = make_password(None)
    people: list[User] = []
    temper: dict[int, float] = {}
    for name, plan, org_temper in org_names:
        domain = name.lower().replace(" ", "") + ".example"
        org, _ = Organization.objects.get_or_create(name=name, defaults={"plan": plans[plan], "email_domain": domain})
        per_org = max(1, customers // len(org_names))
        for number in range(per_org):
            username = f"hist-{domain.split('.')[0]}-{number + 1}"
            user, _ = User.objects.get_or_create(
                username=username,
                defaults={
                    "role": Role.CUSTOMER,
                    "organization": org,
                    "email": f"{username}@{domain}",
                    "first_name": f"Customer {number + 1}",
                    "last_name": name.split()[0],
                    "password": password,
                },
            )
            # A few customers escalate again and again; most rarely do.
            repeat = rng.random() < 0.15
            temper[user.pk] = org_temper + (rng.uniform(1.4, 2.4) if repeat else rng.gauss(-0.3, 0.5))
            people.append(user)
    # Customers who already exist (the demo's) join the history; the first of them escalates often.
    for index, user in enumerate(user for user in known if user.organization_id):
        temper[user.pk] = 2.0 if index == 0 else rng.gauss(-0.3, 0.5)
        people.append(user)
    teams = list(Team.objects.order_by("pk")[:3])
    return people, temper, teams


def _categories() -> dict[str, Category]:
    found = {category.slug: category for category in Category.objects.filter(slug__in=list(CATEGORY_RISK))}
    for slug, (name, _) in CATEGORY_RISK.items():
        if slug not in found:
            found[slug], _ = Category.objects.get_or_create(slug=slug, defaults={"name": name})
    return found


@transaction.atomic
def _history_agent() -> User:
    """The agent the history's tickets were handled by: an inactive account of its own (it cannot sign in, take
    work or be paged), so the generated past neither dilutes a demo agent's escalation rate in the coaching view
    nor counts in anyone's workload."""
    agent, _ = User.objects.get_or_create(
        username="hist-former-agent",
        defaults={
            "role": Role.AGENT,
            "first_name": "Former",
            "last_name": "agent",
            "email": "former.agent@example.com",
            "is_active": False,
            "password": make_password(None),
        },
    )
    return agent


def history_generate(
    *, n: int, seed: int, now: datetime, days: int = 240, customers: int = 60, known: Sequence[User] = ()
) -> HistoryResult:
    """Write ``n`` closed historic tickets created over the ``days`` before ``now`` (the newest a week old), with
    their timelines, escalations and survey answers. Idempotent: nothing is written if history already exists."""
    if Ticket.objects.filter(reference__startswith=PREFIX).exists():
        return HistoryResult(
            tickets=Ticket.objects.filter(reference__startswith=PREFIX).count(), escalated=0, created=False
        )
    rng = random.Random(seed)  # noqa: S311 - deterministic synthetic data, not security
    people, temper, teams = _people(rng, customers, known)
    categories = _categories()
    team = teams[0] if teams else None
    other_team = teams[1] if len(teams) > 1 else None
    agent = _history_agent()

    specs = []
    for index in range(n):
        customer = people[rng.randrange(len(people))]
        slug = rng.choices(list(CATEGORY_RISK), weights=[4, 2, 3, 2, 4, 2])[0]
        priority = rng.choices(list(Priority.values), weights=[2, 5, 3, 1])[0]
        channel = rng.choices(list(Channel.values), weights=[2, 4, 2, 4, 1])[0]
        created = now - timedelta(days=rng.uniform(7, days), minutes=rng.randint(0, 600))
        specs.append((created, index, customer, slug, priority, channel))
    specs.sort(key=lambda spec: (spec[0], spec[1]))

    # Escalations of each customer so far: escalating once makes the next one likelier (and satisfaction lower).
    past: dict[int, list[datetime]] = {}
    tickets: list[Ticket] = []
    # Every history customer belongs to an organisation (those without one are left out in ``_people``).
    org_of: dict[int, int] = {user.pk: user.organization_id for user in people if user.organization_id}
    plans_by_org: dict[int, str] = dict(Organization.objects.values_list("pk", "plan__code"))
    for created, index, customer, slug, priority, channel in specs:
        recent = [moment for moment in past.get(customer.pk, []) if moment > created - timedelta(days=90)]
        raised = rng.random() < 0.12
        bounced = rng.random() < 0.15
        reopened = rng.random() < 0.08
        logit = (
            -3.0
            + temper[customer.pk]
            + CATEGORY_RISK[slug][1]
            + PLAN_RISK.get(plans_by_org.get(org_of[customer.pk], ""), 0.0)
            + PRIORITY_RISK[priority]
            + CHANNEL_RISK[channel]
            + 0.5 * min(len(recent), 3)
            + 0.9 * raised
            + 0.7 * bounced
            + 0.9 * reopened
        )
        escalates = rng.random() < _sigmoid(logit)
        if escalates:
            past.setdefault(customer.pk, []).append(created + timedelta(hours=6))
        heat = _sigmoid(logit + rng.gauss(0, 1.2)) if escalates else _sigmoid(logit - 1.5 + rng.gauss(0, 1.2))
        tickets.append(
            Ticket(
                reference=f"{PREFIX}{seed % 1000:03d}-{index + 1:05d}",
                subject=rng.choice(SUBJECTS[slug]),
                description=rng.choice(ANGRY if heat > 0.8 else FRUSTRATED if heat > 0.55 else CALM),
                customer=customer,
                organization_id=org_of[customer.pk],
                channel=channel,
                category=categories[slug],
                priority=Priority.HIGH if raised and priority in (Priority.LOW, Priority.NORMAL) else priority,
                status=Status.CLOSED,
                team=team,
                assignee=agent,
                created_at=created,
                updated_at=created,
                last_public_activity_at=created,
            )
        )
        tickets[-1]._plan = (escalates, heat, raised, bounced, reopened, priority)  # type: ignore[attr-defined]
    Ticket.objects.bulk_create(tickets, batch_size=500)

    events: list[TicketEvent] = []
    hops: list[Escalation] = []
    for ticket in tickets:
        escalates, heat, raised, bounced, reopened, original_priority = ticket._plan  # type: ignore[attr-defined]
        timeline = _Timeline(ticket=ticket, at=ticket.created_at, events=events)
        add = timeline.add
        add(
            EventKind.CREATED,
            minutes=0,
            body=ticket.description,
            actor=ticket.customer,
            data={"channel": ticket.channel},
        )
        if raised:
            add(
                EventKind.PRIORITY_CHANGED,
                minutes=rng.uniform(5, 60),
                public=False,
                data={"from": original_priority, "to": ticket.priority},
            )
        if bounced and team and other_team:
            add(
                EventKind.ASSIGNED,
                minutes=rng.uniform(10, 120),
                public=False,
                data={"from_team": team.name, "to_team": other_team.name, "from": None, "to": None},
            )
        add(EventKind.AGENT_REPLY, minutes=rng.uniform(20, 600), body=rng.choice(AGENT), actor=agent)
        # Angrier customers write more, and faster.
        follow_ups = rng.choices([0, 1, 2, 3, 4], weights=[5, 4, 2, 1, 0.5] if heat < 0.6 else [1, 2, 3, 3, 2])[0]
        for _ in range(follow_ups):
            gap = rng.uniform(10, 90) if heat > 0.6 else rng.uniform(120, 1800)
            pool = ANGRY if heat > 0.8 else FRUSTRATED if heat > 0.5 else CALM
            add(EventKind.CUSTOMER_MESSAGE, minutes=gap, body=rng.choice(pool), actor=ticket.customer)
        if reopened:
            add(EventKind.STATUS_CHANGED, minutes=rng.uniform(60, 600), data={"from": "resolved", "to": "open"})
            add(EventKind.CUSTOMER_MESSAGE, minutes=5, body=rng.choice(FRUSTRATED), actor=ticket.customer)
        if escalates:
            escalated_at = timeline.at + timedelta(minutes=rng.uniform(15, 240))
            hops.append(
                Escalation(
                    ticket=ticket,
                    escalation_type=ESCALATION_TYPES[ticket.category.slug if ticket.category else "account"],
                    mode=EscalationMode.FUNCTIONAL,
                    status=EscalationStatus.RESOLVED,
                    level=1,
                    from_tier=Tier.AGENT,
                    to_tier=Tier.SPECIALIST,
                    from_team=team,
                    to_team=other_team or team,
                    requested_by_kind=RequestedBy.AGENT,
                    requested_by=agent,
                    reason="Customer needs a specialist.",
                    dossier_problem=ticket.subject,
                    dossier_tried="Checked settings and logs.",
                    dossier_desired_outcome="A fix and an explanation.",
                    dossier_mood="frustrated" if heat < 0.8 else "angry",
                    created_at=escalated_at,
                    accepted_at=escalated_at + timedelta(minutes=20),
                    closed_at=escalated_at + timedelta(hours=20),
                    resolution_summary="Resolved by the specialist team.",
                )
            )
            timeline.at = escalated_at
        add(EventKind.AGENT_REPLY, minutes=rng.uniform(60, 2880), body=rng.choice(FIXED), actor=agent)
        ticket.resolved_at = timeline.at
        add(EventKind.STATUS_CHANGED, minutes=1, data={"from": "open", "to": "resolved"})
        ticket.closed_at = timeline.at + timedelta(days=3)
        add(EventKind.STATUS_CHANGED, minutes=3 * 24 * 60, data={"from": "resolved", "to": "closed"}, public=True)
        if rng.random() < 0.5:
            csat = max(1, min(5, round(rng.gauss(2.2 if escalates else 4.3, 0.9))))
            add(
                EventKind.SURVEY, minutes=rng.uniform(60, 1440), public=False, data={"action": "answered", "csat": csat}
            )
        ticket.updated_at = timeline.at
    Ticket.objects.bulk_update(tickets, ["resolved_at", "closed_at", "updated_at"], batch_size=500)
    TicketEvent.objects.bulk_create(events, batch_size=1000)
    Escalation.objects.bulk_create(hops, batch_size=500)
    return HistoryResult(tickets=len(tickets), escalated=len(hops), created=True)
