"""Demo data for escalations: the default paths, playbooks and approval limits, then escalations at every stage
on the core's open demo tickets (open, accepted, returned, resolved, superseded, emergency, compliance, third
party, a customer's manager request, compensation auto-approved and pending approval). Built through the real
services with the clock moved back. Idempotent: nothing is created when escalations already exist. Then, after the
SLA seeder has given each team its calendar, the on-call rotas (``seed_oncall``)."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

import time_machine
from django.db import transaction

from escalations import services
from escalations.compensation import compensation_decide
from escalations.defaults import escalation_config_ensure
from escalations.models import Escalation, HandOver, OnCallMember, OnCallOverride, OnCallRotation, Weekday
from escalations.rota import on_call_at
from escalations.selectors import oncall_rotas
from helpdesk.models import OPEN_STATUSES, Team, Ticket, User
from helpdesk.services import ticket_reply

TRIED = {
    "billing": "Checked the invoice and the payment log; the refund button is greyed out for tier 1.",
    "login-access": "Reset the password, cleared the SSO session, checked the audit log for lockouts.",
    "outage": "Reproduced it, cleared cache, tried two browsers; the status page is green.",
    "integrations": "Re-sent the failed deliveries and checked the connector credentials.",
    "data-privacy": "Confirmed the requester is the account owner; no data touched.",
    "orders-delivery": "Checked tracking and called the depot (no answer).",
}
WANTS = {
    "billing": "The duplicate refunded, and something for the hassle.",
    "login-access": "Their team signed in again today.",
    "outage": "It working again before their afternoon deadline.",
    "integrations": "The sync running again without losing records.",
    "data-privacy": "Written confirmation within the legal deadline.",
    "orders-delivery": "The order delivered or replaced before Friday.",
}
MOODS = ["frustrated", "angry", "worried", "calm", "frustrated"]


def _escalate(ticket: Ticket, actor, escalation_type: str, mode: str, at: datetime, **extra) -> Escalation:
    slug = ticket.category.slug if ticket.category else "outage"
    with time_machine.travel(at, tick=False):
        ticket.refresh_from_db()
        return services.escalation_create(
            ticket=ticket,
            actor=actor,
            escalation_type=escalation_type,
            mode=mode,
            reason=f"Tier 1 cannot finish this: {ticket.subject.lower()}.",
            dossier_problem=ticket.description,
            dossier_tried=TRIED.get(slug, TRIED["outage"]),
            dossier_desired_outcome=WANTS.get(slug, WANTS["outage"]),
            dossier_mood=MOODS[ticket.pk % len(MOODS)],
            now=at,
            **extra,
        )


def _at(moment: datetime):
    return time_machine.travel(moment, tick=False)


@transaction.atomic
def seed_escalations(*, now: datetime, rng: random.Random, people: dict, stdout=None) -> None:
    escalation_config_ensure()
    if Escalation.objects.exists():
        return
    agent = people["agents"][0]
    specialist, specialist2 = people["specialists"]
    manager = people["manager"]
    # The agent who escalates in this demo escalates their own tickets, so the coaching view has someone to show.
    open_tickets = sorted(
        Ticket.objects.filter(status__in=OPEN_STATUSES).select_related("category").order_by("created_at"),
        key=lambda ticket: ticket.assignee_id != agent.pk,
    )

    def take(*slugs: str) -> Ticket | None:
        for ticket in open_tickets:
            if ticket.category and ticket.category.slug in slugs:
                open_tickets.remove(ticket)
                return ticket
        return open_tickets.pop(0) if open_tickets else None

    def start(ticket: Ticket) -> datetime:
        return max(ticket.created_at + timedelta(minutes=20), now - timedelta(hours=20))

    _seed_tier2_stages(take, start, agent=agent, specialist=specialist, specialist2=specialist2, now=now)
    _seed_compensation_chains(take, start, agent=agent, specialist2=specialist2, manager=manager)
    _seed_special_types(take, start, agent=agent, now=now)
    _seed_manager_request(open_tickets, now=now)
    if stdout is not None:
        stdout.write(f"Escalations: {Escalation.objects.count()} records.")


# The demo's stages, each taking the tickets it needs with ``take(*category_slugs)`` and starting at ``start(ticket)``.


def _seed_tier2_stages(take, start, *, agent, specialist, specialist2, now: datetime) -> None:
    # Open, not yet accepted (waiting in the technical inbox).
    if ticket := take("outage", "integrations"):
        _escalate(ticket, agent, "technical", "functional", max(ticket.created_at, now - timedelta(minutes=12)))
    # Accepted by the specialist.
    if ticket := take("login-access", "outage"):
        t0 = start(ticket)
        escalation = _escalate(ticket, agent, "technical", "functional", t0)
        with _at(t0 + timedelta(minutes=12)):
            services.escalation_accept(escalation=escalation, actor=specialist, now=t0 + timedelta(minutes=12))
    # Returned with guidance (avoidable).
    if ticket := take("login-access", "integrations"):
        t0 = start(ticket)
        escalation = _escalate(ticket, agent, "support_level", "hierarchical", t0)
        with _at(t0 + timedelta(minutes=25)):
            services.escalation_return(
                escalation=escalation,
                actor=specialist,
                guidance="This is the known SSO cache issue: KB article 'Reset SSO session' fixes it at tier 1.",
                now=t0 + timedelta(minutes=25),
            )
    # Resolved (accepted, then resolved with a summary; the ticket is resolved too).
    if ticket := take("integrations", "outage"):
        t0 = start(ticket)
        escalation = _escalate(ticket, agent, "technical", "functional", t0)
        with _at(t0 + timedelta(minutes=8)):
            services.escalation_accept(escalation=escalation, actor=specialist2, now=t0 + timedelta(minutes=8))
        with _at(t0 + timedelta(hours=2)):
            services.escalation_resolve(
                escalation=escalation,
                actor=specialist2,
                summary="We rotated the webhook signing secret and re-sent the failed deliveries.",
                now=t0 + timedelta(hours=2),
            )


def _seed_compensation_chains(take, start, *, agent, specialist2, manager) -> None:
    # Superseded: accepted at tier 2, escalated further to tier 3 with compensation above the specialist's limit
    # (pending approval).
    if ticket := take("billing"):
        t0 = start(ticket)
        escalation = _escalate(
            ticket,
            agent,
            "financial",
            "functional",
            t0,
            compensation_amount="40.00",
            compensation_currency="GBP",
            compensation_reason="Refund of the duplicate charge.",
        )
        with _at(t0 + timedelta(minutes=15)):
            services.escalation_accept(escalation=escalation, actor=specialist2, now=t0 + timedelta(minutes=15))
        with _at(t0 + timedelta(minutes=50)):
            services.escalation_escalate_further(
                escalation=escalation,
                actor=specialist2,
                reason="Goodwill above my limit: the customer lost a day of sales.",
                dossier_tried="Refunded the duplicate (£40).",
                compensation_amount="400.00",
                compensation_currency="GBP",
                compensation_reason="One month's subscription as goodwill for the lost day.",
                now=t0 + timedelta(minutes=50),
            )
    # The same chain, finished: the manager accepted and approved the goodwill.
    if ticket := take("billing"):
        t0 = start(ticket)
        escalation = _escalate(ticket, agent, "financial", "functional", t0, compensation_amount="30.00")
        with _at(t0 + timedelta(minutes=10)):
            services.escalation_accept(escalation=escalation, actor=specialist2, now=t0 + timedelta(minutes=10))
        with _at(t0 + timedelta(minutes=40)):
            top = services.escalation_escalate_further(
                escalation=escalation,
                actor=specialist2,
                reason="Customer asks for three months' credit.",
                compensation_amount="300.00",
                now=t0 + timedelta(minutes=40),
            )
        with _at(t0 + timedelta(minutes=70)):
            services.escalation_accept(escalation=top, actor=manager, now=t0 + timedelta(minutes=70))
            pending = top.compensation_requests.get()
            compensation_decide(
                request=pending,
                actor=manager,
                approve=True,
                note="Long-standing customer; approved.",
                now=t0 + timedelta(minutes=70),
            )


def _seed_special_types(take, start, *, agent, now: datetime) -> None:
    # Emergency, waiting for a manager (red banner, top of every queue).
    if ticket := take("outage"):
        t0 = max(ticket.created_at + timedelta(minutes=5), now - timedelta(minutes=25))
        _escalate(ticket, agent, "emergency", "hierarchical", t0, caller_waiting=True)
    # Compliance: restricted from now on.
    if ticket := take("data-privacy"):
        _escalate(ticket, agent, "compliance", "functional", start(ticket))
    # Third party: vendor case, ticket waits on the vendor.
    if ticket := take("orders-delivery"):
        t0 = start(ticket)
        if ticket.status in OPEN_STATUSES:
            _escalate(
                ticket,
                agent,
                "third_party",
                "functional",
                t0,
                vendor_name="SwiftShip Couriers",
                vendor_reference="SS-448812",
                vendor_contact="depot-support@swiftship.example",
                vendor_follow_up_at=now + timedelta(days=1),
            )


def _seed_manager_request(open_tickets: list[Ticket], *, now: datetime) -> None:
    # A customer asks for a manager after a day without an answer: the oldest open ticket where the guard allows it.
    later = now - timedelta(minutes=30)
    for ticket in sorted(open_tickets, key=lambda t: t.created_at):
        if not services.manager_request_check(ticket=ticket, customer=ticket.customer, now=later).allowed:
            continue
        open_tickets.remove(ticket)
        with _at(later):
            ticket.refresh_from_db()
            ticket_reply(
                ticket=ticket,
                author=ticket.customer,
                body="This is the third time I ask. Unacceptable. I want to speak to a manager.",
            )
            services.escalation_request_manager(
                ticket=ticket,
                customer=ticket.customer,
                reason="Nobody has answered for a day and this blocks our team.",
                now=later,
            )
        break


@transaction.atomic
def seed_oncall(*, now: datetime, rng: random.Random, people: dict, stdout=None) -> None:
    """Weekly on-call rotas for the tier-3 managers and the tier-2 technical specialists, handing over on Monday at
    09:00 in the team's zone (left empty: the zone of the team's calendar), with the first person named on call this
    week, and a holiday cover for the managers' next week. Idempotent: a team that has a rota is left alone."""
    teams = people["teams"]
    # The managers' calendar is 24x7 in UTC, but the people on the rota hand over in the London office's morning.
    managers = _rota_ensure(teams["managers"], [people["manager2"], people["manager"]], now=now, zone="Europe/London")
    _rota_ensure(teams["technical"], list(people["specialists"]), now=now)
    if managers is not None:
        # Morgan Blake is on call next week but on holiday: the site administrator (tier 3) covers that shift.
        rota = oncall_rotas(team_ids=[managers.team_id], now=now)[managers.team_id]
        holiday = on_call_at(rota, now).until
        back = on_call_at(rota, holiday).until if holiday else None
        if holiday and back:
            OnCallOverride.objects.create(
                rotation=managers,
                user=people["admin"],
                starts_at=holiday,
                ends_at=back,
                reason=f"Holiday cover: {people['manager'].display_name} is away",
            )


def _rota_ensure(team: Team, members: list[User], *, now: datetime, zone: str = "") -> OnCallRotation | None:
    """A weekly Monday 09:00 rota of ``members`` in order (in ``zone``; empty: the team's calendar's), ``members[0]``
    on call at ``now``; None if the team has one already."""
    rotation, created = OnCallRotation.objects.get_or_create(
        team=team,
        defaults={
            "handover": HandOver.WEEKLY,
            "handover_weekday": Weekday.MONDAY,
            "handover_time": time(9, 0),
            "starts_on": now.date() - timedelta(weeks=4),
            "timezone": zone,
        },
    )
    if not created:
        return None
    OnCallMember.objects.bulk_create(
        OnCallMember(rotation=rotation, user=user, position=position) for position, user in enumerate(members)
    )
    # Start the rota earlier one week at a time until the first member's turn is this week (asked of the rota
    # itself, so the team's zone and the hand-over hour are taken into account).
    for _ in members:
        rota = oncall_rotas(team_ids=[team.pk], now=now)[team.pk]
        if on_call_at(rota, now).primary == members[0].pk:
            break
        rotation.starts_on -= timedelta(weeks=1)
        rotation.save(update_fields=["starts_on"])
    return rotation


def seed_risk_model(*, now: datetime, rng: random.Random, people: dict, stdout=None) -> None:
    """A few hundred closed historic tickets with structure the model can learn (``escalations.risk_model.history``;
    synthetic, so the demo's figures are not production figures), then a first model version and the open tickets
    scored with it. Idempotent: the history is written once and a model is trained only when none exists."""
    from escalations.models import RiskModel
    from escalations.risk_model.history import history_generate
    from escalations.risk_model.scoring import risk_score_open_tickets
    from escalations.risk_model.train import RiskTrainingError, risk_model_train

    history = history_generate(n=400, seed=20261123, now=now, customers=40, known=people["customers"])
    if RiskModel.objects.exists():
        return
    try:
        model = risk_model_train(seed=0, now=now)
    except RiskTrainingError as exc:
        if stdout:
            stdout.write(f"  risk model not trained: {exc}")
        return
    scored = risk_score_open_tickets(now=now) if model.is_active else 0
    if stdout:
        auc = model.evaluation["model"]["auc"]
        stdout.write(
            f"  risk model v{model.version}: {history.tickets} historic tickets, hold-out AUC {auc} "
            f"({'active' if model.is_active else 'not active'}), {scored} open tickets scored"
        )
