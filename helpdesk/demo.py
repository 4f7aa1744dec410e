"""Demo data: people, teams, plans, categories and a few months of realistic tickets, built through the real
services with the clock moved back (``time_machine``) so that timelines and charts have a shape.

Idempotent: people and configuration are get-or-created; tickets are only created when none exist. Other apps add
their demo data with ``demo_seeder_register`` (called from their ``AppConfig.ready``), run after the core in order.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypedDict

import time_machine
from django.db import transaction
from django.utils import timezone

from helpdesk import services
from helpdesk.models import (
    AssignmentRule,
    Category,
    Channel,
    Organization,
    Plan,
    Priority,
    ReplyTemplate,
    Role,
    Status,
    Team,
    TeamMembership,
    Ticket,
    User,
)

_SEEDERS: list[tuple[int, str, Callable[..., None]]] = []


def demo_seeder_register(*, order: int, name: str, seeder: Callable[..., None]) -> None:
    """Register ``seeder(*, now, rng, stdout)``; it must be idempotent like the core seeder."""
    if all(existing != name for _, existing, _ in _SEEDERS):
        _SEEDERS.append((order, name, seeder))


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    description: str


DEMO_LOGINS = [
    DemoLogin("customer", Role.CUSTOMER, "Dana Reyes, Northwind Traders (Enterprise plan)"),
    DemoLogin("customer2", Role.CUSTOMER, "Sam Patel, Bluebird Bakery (Basic plan)"),
    DemoLogin("agent", Role.AGENT, "Alex Morgan, tier-1 Frontline"),
    DemoLogin("agent2", Role.AGENT, "Jordan Lee, tier-1 Frontline"),
    DemoLogin("specialist", Role.SPECIALIST, "Priya Shah, tier-2 Technical specialists"),
    DemoLogin("manager", Role.MANAGER, "Morgan Blake, tier-3 Customer care managers"),
    DemoLogin("manager2", Role.MANAGER, "Casey Novak, tier-3 Customer care managers (shares the on-call rota)"),
    DemoLogin("admin", Role.ADMIN, "Site administrator (Django admin)"),
]

CATEGORIES = [
    ("Billing", "billing", "Invoices, charges, refunds and payment methods"),
    ("Login & access", "login-access", "Passwords, two-factor, locked accounts"),
    ("Outage", "outage", "Service unavailable or degraded"),
    ("Integrations", "integrations", "APIs, webhooks, CRM and phone system connectors"),
    ("Data & privacy", "data-privacy", "Data requests, GDPR, compliance"),
    ("Orders & delivery", "orders-delivery", "Order status, shipping, returns"),
]

TICKET_TEMPLATES = [
    (
        "billing",
        "Charged twice for the March invoice",
        "Our card was charged twice for invoice INV-2291. Please refund the duplicate.",
    ),
    (
        "billing",
        "VAT number missing from invoices",
        "Our invoices do not show our VAT number, our finance team needs it for reclaim.",
    ),
    ("billing", "Refund for cancelled seats", "We removed five seats last month but were billed for them anyway."),
    (
        "billing",
        "Cannot update the payment card",
        "The payment page says 'card declined' for a card that works everywhere else.",
    ),
    (
        "login-access",
        "Locked out after password reset",
        "After resetting my password I get 'account locked' on every attempt.",
    ),
    (
        "login-access",
        "Two-factor codes not arriving",
        "SMS codes for two-factor login have stopped arriving since yesterday.",
    ),
    ("login-access", "New starter cannot sign in", "Our new colleague never received the invitation email."),
    (
        "login-access",
        "SSO login loops back to the start",
        "Signing in with our company SSO redirects back to the login page.",
    ),
    (
        "outage",
        "Dashboard not loading for the whole team",
        "Since 9:00 the dashboard shows a spinner forever for everyone in our office.",
    ),
    ("outage", "Reports export times out", "Exporting the monthly report fails with a timeout after two minutes."),
    ("outage", "Very slow search since this morning", "Search takes 30 seconds or more; it is normally instant."),
    (
        "integrations",
        "CRM sync stopped creating contacts",
        "New contacts from the CRM no longer appear. Last sync two days ago.",
    ),
    (
        "integrations",
        "Webhook deliveries failing with 401",
        "Our endpoint receives webhooks with an invalid signature since the update.",
    ),
    (
        "integrations",
        "Phone system integration drops caller ID",
        "Incoming calls show 'unknown' instead of the customer's number.",
    ),
    (
        "data-privacy",
        "Request to delete a former employee's data",
        "Please erase all personal data of a former employee under GDPR.",
    ),
    ("data-privacy", "Data export for our auditor", "Our auditor needs a full export of access logs for Q2."),
    ("orders-delivery", "Order 55812 not delivered", "The tracking page has said 'out for delivery' for six days."),
    (
        "orders-delivery",
        "Wrong items in the shipment",
        "We received 20 units of the wrong model. We need the right ones before Friday.",
    ),
    ("orders-delivery", "Return label does not work", "The courier refuses the return label, saying it is invalid."),
    ("outage", "Mobile app crashes on start", "Since the latest update the app closes immediately on Android 14."),
]


class Story(TypedDict):
    replies: list[str]
    follow_ups: list[str]
    notes: list[str]
    fixed: str


# What agents and customers say, per category, so that every demo conversation reads as the ticket it belongs to.
STORIES: dict[str, Story] = {
    "billing": {
        "replies": [
            "Thank you for the details. I can see the invoice in question and I am checking the payment log now.",
            "I have checked the billing history on your account and can see what went wrong with the charge.",
        ],
        "follow_ups": ["Here is the bank statement line you asked for.", "Any news on the invoice? Finance is asking."],
        "notes": ["Payment log shows the card was captured twice within a minute: gateway retry."],
        "fixed": "I have corrected the invoice and the refund is on its way. Does everything look right on your side now?",
    },
    "login-access": {
        "replies": [
            "Thank you. I have checked the sign-in log for your account and can see the failed attempts.",
            "Could you tell me the time of your last attempt, so that I can match it in the sign-in log?",
        ],
        "follow_ups": ["The last attempt was at 9:40 this morning.", "Still cannot sign in, unfortunately."],
        "notes": ["Sign-in log: lockout counter not reset after the password change."],
        "fixed": "I have reset the lock on the account and confirmed a test sign-in. Can your team sign in now?",
    },
    "outage": {
        "replies": [
            "Thank you for reporting this. I can reproduce the problem and I have passed it to our engineers.",
            "I understand how disruptive this is. Our engineers are on it; I will update you within the hour.",
        ],
        "follow_ups": ["It is still happening for the whole office.", "Any news? This is blocking our team."],
        "notes": ["Monitoring shows raised error rates on the affected service since the morning deploy."],
        "fixed": "The engineers rolled out a fix and I have confirmed it from our side. Is it working for you now?",
    },
    "integrations": {
        "replies": [
            "Thank you. I can see the failed deliveries on the connector and I am checking its credentials.",
            "Could you send me the time of the last record that synced, so that I can find it in the connector log?",
        ],
        "follow_ups": ["The last record synced on Tuesday at 17:02.", "Nothing has synced since, unfortunately."],
        "notes": ["Connector log: 401 responses since the signing secret was rotated."],
        "fixed": "I have renewed the connector credentials and re-sent the missed records. Are they arriving now?",
    },
    "data-privacy": {
        "replies": [
            "Thank you. I have logged your request and confirmed that you are an account owner.",
            "Your request is with our data-protection team, who will reply within the legal deadline.",
        ],
        "follow_ups": ["Thank you, please keep me posted.", "Could you confirm the date we can expect it?"],
        "notes": ["Requester verified as account owner against the contract contacts."],
        "fixed": "The request is complete and the confirmation letter is attached. Is there anything else you need?",
    },
    "orders-delivery": {
        "replies": [
            "Thank you. I have checked the tracking and I am contacting the courier's depot about the parcel.",
            "I am sorry about the wrong shipment. I am arranging the correct items and a collection now.",
        ],
        "follow_ups": ["The tracking page still has not changed.", "We really need it before Friday."],
        "notes": ["Courier portal: parcel scanned at the depot three days ago, no movement since."],
        "fixed": "The replacement was delivered this morning and the courier confirmed it. Has everything arrived?",
    },
}


def _user(username: str, *, password: str, role: str, first: str, last: str, email: str, **extra) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"role": role, "first_name": first, "last_name": last, "email": email, **extra},
    )
    if created or not user.check_password(password):
        user.set_password(password)
        user.save()
    return user


@transaction.atomic
def seed_core(*, password: str, now: datetime, rng: random.Random, stdout=None) -> dict:
    """Create (or find) the demo organisation and people, then tickets if there are none yet."""
    basic, _ = Plan.objects.get_or_create(
        code="basic", defaults={"name": "Basic", "rank": 1, "promise": "We resolve requests within 3 business days."}
    )
    pro, _ = Plan.objects.get_or_create(
        code="pro", defaults={"name": "Pro", "rank": 2, "promise": "We resolve requests within 48 hours."}
    )
    enterprise, _ = Plan.objects.get_or_create(
        code="enterprise",
        defaults={
            "name": "Enterprise",
            "rank": 3,
            "promise": "First answer within 1 hour, resolution within 24 hours, around the clock.",
        },
    )
    northwind, _ = Organization.objects.get_or_create(
        name="Northwind Traders", defaults={"plan": enterprise, "email_domain": "northwind.example"}
    )
    bluebird, _ = Organization.objects.get_or_create(
        name="Bluebird Bakery", defaults={"plan": basic, "email_domain": "bluebird.example"}
    )
    contoso, _ = Organization.objects.get_or_create(
        name="Contoso Logistics", defaults={"plan": pro, "email_domain": "contoso.example"}
    )
    categories = {}
    for name, slug, description in CATEGORIES:
        categories[slug], _ = Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description}
        )

    customer = _user(
        "customer",
        password=password,
        role=Role.CUSTOMER,
        first="Dana",
        last="Reyes",
        email="dana.reyes@northwind.example",
        organization=northwind,
        phone="+44 20 7946 0011",
    )
    customer2 = _user(
        "customer2",
        password=password,
        role=Role.CUSTOMER,
        first="Sam",
        last="Patel",
        email="sam.patel@bluebird.example",
        organization=bluebird,
        phone="+44 161 496 0022",
    )
    extra_customers = [
        _user(
            "olivia",
            password=password,
            role=Role.CUSTOMER,
            first="Olivia",
            last="Chen",
            email="olivia.chen@northwind.example",
            organization=northwind,
        ),
        _user(
            "marcus",
            password=password,
            role=Role.CUSTOMER,
            first="Marcus",
            last="Okafor",
            email="marcus.okafor@contoso.example",
            organization=contoso,
        ),
        _user(
            "ines",
            password=password,
            role=Role.CUSTOMER,
            first="Inès",
            last="Laurent",
            email="ines.laurent@contoso.example",
            organization=contoso,
        ),
    ]
    agent = _user(
        "agent", password=password, role=Role.AGENT, first="Alex", last="Morgan", email="alex@helpdesk.example"
    )
    agent2 = _user(
        "agent2", password=password, role=Role.AGENT, first="Jordan", last="Lee", email="jordan@helpdesk.example"
    )
    agent3 = _user(
        "agent3", password=password, role=Role.AGENT, first="Riley", last="Chen", email="riley@helpdesk.example"
    )
    specialist = _user(
        "specialist",
        password=password,
        role=Role.SPECIALIST,
        first="Priya",
        last="Shah",
        email="priya@helpdesk.example",
    )
    specialist2 = _user(
        "specialist2", password=password, role=Role.SPECIALIST, first="Tom", last="Becker", email="tom@helpdesk.example"
    )
    manager = _user(
        "manager", password=password, role=Role.MANAGER, first="Morgan", last="Blake", email="morgan@helpdesk.example"
    )
    # A second manager so that the tier-3 on-call rota has someone to hand over to.
    manager2 = _user(
        "manager2", password=password, role=Role.MANAGER, first="Casey", last="Novak", email="casey@helpdesk.example"
    )
    admin = _user(
        "admin",
        password=password,
        role=Role.ADMIN,
        first="Site",
        last="Admin",
        email="admin@helpdesk.example",
        is_staff=True,
        is_superuser=True,
    )

    frontline, _ = Team.objects.get_or_create(
        slug="frontline", defaults={"name": "Frontline", "tier": 1, "assignment_rule": AssignmentRule.ROUND_ROBIN}
    )
    technical, _ = Team.objects.get_or_create(slug="technical", defaults={"name": "Technical specialists", "tier": 2})
    billing_team, _ = Team.objects.get_or_create(slug="billing", defaults={"name": "Billing specialists", "tier": 2})
    compliance, _ = Team.objects.get_or_create(slug="compliance", defaults={"name": "Compliance", "tier": 2})
    managers, _ = Team.objects.get_or_create(
        slug="care-managers", defaults={"name": "Customer care managers", "tier": 3}
    )
    frontline.categories.set(categories.values())
    technical.categories.set([categories[s] for s in ("login-access", "outage", "integrations")])
    billing_team.categories.set([categories["billing"], categories["orders-delivery"]])
    compliance.categories.set([categories["data-privacy"]])
    managers.categories.set(categories.values())
    for team, user, lead in [
        (frontline, agent, True),
        (frontline, agent2, False),
        (frontline, agent3, False),
        (technical, specialist, True),
        (technical, specialist2, False),
        (billing_team, specialist, False),
        (billing_team, specialist2, True),
        (compliance, specialist2, False),
        (compliance, manager, True),
        (managers, manager, True),
        (managers, manager2, False),
    ]:
        TeamMembership.objects.get_or_create(team=team, user=user, defaults={"is_lead": lead})

    people = {
        "customers": [customer, customer2, *extra_customers],
        "agents": [agent, agent2, agent3],
        "specialists": [specialist, specialist2],
        "manager": manager,
        "manager2": manager2,
        "admin": admin,
        "categories": categories,
        "teams": {
            "frontline": frontline,
            "technical": technical,
            "billing": billing_team,
            "compliance": compliance,
            "managers": managers,
        },
    }
    _seed_reply_templates(categories)
    if not Ticket.objects.exists():
        _seed_tickets(people=people, now=now, rng=rng)
    return people


REPLY_TEMPLATES = [
    (
        None,
        "Acknowledge and set expectations",
        'Hello {{customer_first_name}},\n\nThank you for getting in touch about "{{ticket_subject}}" '
        "({{ticket_reference}}). I am looking into it now and will update you within the hour.\n\n{{agent_name}}",
    ),
    (
        None,
        "Ask for more details",
        "Hello {{customer_first_name}},\n\nTo move this forward, could you send us the exact error message, the time it "
        "happened and a screenshot if you have one?\n\nThank you,\n{{agent_name}}",
    ),
    (
        "billing",
        "Duplicate charge: refund on its way",
        "Hello {{customer_first_name}},\n\nI can confirm the duplicate charge on the {{organization_name}} account. I "
        "have issued a refund; it will reach your card within 3 to 5 working days.\n\n{{agent_name}}",
    ),
    (
        "login-access",
        "Password reset steps",
        'Hello {{customer_first_name}},\n\nPlease use "Forgot password" on the sign-in page; the link is valid for 30 '
        "minutes. If the account stays locked, reply here and I will unlock it for you.\n\n{{agent_name}}",
    ),
    (
        "outage",
        "Incident acknowledged",
        "Hello {{customer_first_name}},\n\nWe are aware of the problem and our engineers are working on it. As a "
        "{{plan_name}} customer you will hear from us at least every hour until it is fixed.\n\n{{agent_name}}",
    ),
    (
        "orders-delivery",
        "Delivery investigation opened",
        "Hello {{customer_first_name}},\n\nI have opened an investigation with the courier for {{ticket_reference}} and "
        "will update you as soon as they reply, at the latest tomorrow.\n\n{{agent_name}}",
    ),
]


def _seed_reply_templates(categories: dict) -> None:
    for slug, name, body in REPLY_TEMPLATES:
        ReplyTemplate.objects.get_or_create(
            name=name, defaults={"body": body, "category": categories[slug] if slug else None}
        )


def _seed_tickets(*, people: dict, now: datetime, rng: random.Random, count: int = 54) -> None:
    """About 50 tickets spread over the last 100 days, in every state, with replies, notes and status changes."""
    customers = people["customers"]
    categories = people["categories"]
    agents = people["agents"]
    final_states = (
        [Status.NEW] * 6
        + [Status.OPEN] * 12
        + [Status.PENDING_CUSTOMER] * 5
        + [Status.PENDING_THIRD_PARTY] * 2
        + [Status.RESOLVED] * 14
        + [Status.CLOSED] * 15
    )
    # Plan every ticket first, then create them oldest first: round-robin assignment then takes real turns.
    planned = []
    for index in range(count):
        slug, subject, description = TICKET_TEMPLATES[index % len(TICKET_TEMPLATES)]
        # Open tickets are recent; resolved and closed ones spread across the history.
        state = final_states[index % len(final_states)]
        recent = state in (Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER)
        age_days = rng.uniform(0.05, 3) if recent else rng.uniform(2, 100)
        planned.append((now - timedelta(days=age_days), index, slug, subject, description, state))
    planned.sort()
    for created, index, slug, subject, description, state in planned:
        customer = customers[index % len(customers)]
        priority = rng.choices(list(Priority.values), weights=[2, 5, 3, 1])[0]
        channel = rng.choice([Channel.WEB, Channel.EMAIL, Channel.PHONE, Channel.CHAT, Channel.WEB])
        with time_machine.travel(created, tick=False):
            ticket = services.ticket_create(
                customer=customer,
                subject=subject,
                description=description,
                category=categories[slug],
                priority=priority,
                channel=channel,
            )
        if state == Status.NEW:
            continue
        agent = ticket.assignee or agents[index % len(agents)]
        # Every later step happens after the previous one and never in the future.
        latest = now - timedelta(minutes=2)
        moment = min(created + timedelta(minutes=rng.randint(10, 240)), latest)
        # About a third of the solved tickets are solved at first contact: one answer that fixes it.
        first_contact = state in (Status.RESOLVED, Status.CLOSED) and index % 3 == 1
        with time_machine.travel(moment, tick=False):
            if ticket.assignee is None:
                services.ticket_assign(ticket=ticket, actor=agent, team=ticket.team, assignee=agent)
            if not first_contact:
                services.ticket_reply(ticket=ticket, author=agent, body=rng.choice(STORIES[slug]["replies"]))
        if index % 3 == 0 and not first_contact:
            moment = min(moment + timedelta(minutes=rng.randint(5, 60)), latest)
            with time_machine.travel(moment, tick=False):
                services.ticket_add_internal_note(ticket=ticket, author=agent, body=rng.choice(STORIES[slug]["notes"]))
        if index % 2 == 0 and not first_contact:
            moment = min(moment + timedelta(hours=rng.uniform(1, 20)), latest)
            with time_machine.travel(moment, tick=False):
                services.ticket_reply(ticket=ticket, author=customer, body=rng.choice(STORIES[slug]["follow_ups"]))
        if state == Status.OPEN:
            continue
        moment += timedelta(minutes=rng.randint(20, 90)) if first_contact else timedelta(hours=rng.uniform(0.5, 30))
        moment = min(moment, latest)
        with time_machine.travel(moment, tick=False):
            ticket.refresh_from_db()
            if state in (Status.PENDING_CUSTOMER, Status.PENDING_THIRD_PARTY):
                services.ticket_change_status(ticket=ticket, actor=agent, status=state)
                continue
            services.ticket_reply(
                ticket=ticket,
                author=agent,
                body=STORIES[slug]["fixed"],
            )
            services.ticket_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
        if state == Status.CLOSED:
            with time_machine.travel(min(moment + timedelta(days=3), latest), tick=False):
                ticket.refresh_from_db()
                services.ticket_change_status(ticket=ticket, actor=agent, status=Status.CLOSED)


def seed_demo(*, password: str, stdout=None) -> dict:
    """Seed everything: the core first, then each registered app's seeder. Idempotent."""
    now = timezone.now()
    rng = random.Random(20261123)  # noqa: S311 - deterministic demo data, not security
    people = seed_core(password=password, now=now, rng=rng, stdout=stdout)
    for _, _, seeder in sorted(_SEEDERS, key=lambda item: item[0]):
        seeder(now=now, rng=rng, people=people, stdout=stdout)
    return people
