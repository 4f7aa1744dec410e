"""Demo data: one open major incident (the dashboard outage) with a few linked tickets and one update sent, built
through the services. Idempotent: nothing is added once an incident exists."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import time_machine
from django.db import transaction

from helpdesk.models import Status, Ticket
from helpdesk.services import ticket_create
from incidents.models import Incident, IncidentStatus
from incidents.services import incident_declare, incident_link_tickets, incident_update_deliver, incident_update_post

DEMO_SUBJECTS = [
    "Dashboard stuck on a spinner",
    "Dashboard not loading since this morning",
    "Cannot open the dashboard at all",
]


@transaction.atomic
def seed_incident(*, now: datetime, rng: random.Random, people: dict, stdout=None) -> None:
    if Incident.objects.exists():
        return
    manager, outage = people["manager"], people["categories"]["outage"]
    started = now - timedelta(hours=3)
    # Three customers write in about the same outage within the hour; an older unrelated ticket stays out.
    for index, subject in enumerate(DEMO_SUBJECTS):
        with time_machine.travel(started + timedelta(minutes=10 + 17 * index), tick=False):
            ticket_create(
                customer=people["customers"][index % len(people["customers"])],
                subject=subject,
                description="The dashboard shows a spinner forever for everyone in our office.",
                category=outage,
            )
    with time_machine.travel(started + timedelta(minutes=70), tick=False):
        incident = incident_declare(
            actor=manager,
            title="Dashboard not loading for EU customers",
            customer_message="Our dashboard is not loading for some customers. Our engineers are on it.",
            description="eu-west load balancer health checks failing after the 08:40 deploy; rollback in progress.",
            category=outage,
            keywords="dashboard spinner loading",
            affected_since=started,
        )
        matching = Ticket.objects.filter(
            subject__in=DEMO_SUBJECTS, status__in=[Status.NEW, Status.OPEN], created_at__gte=started
        )
        incident_link_tickets(incident=incident, tickets=list(matching.order_by("pk")), actor=manager)
    with time_machine.travel(started + timedelta(minutes=85), tick=False):
        update = incident_update_post(
            incident=incident,
            actor=manager,
            status=IncidentStatus.IDENTIFIED,
            message="We have found the cause (a faulty release) and are rolling it back. Next update within the hour.",
            deliver_later=False,
        )
        incident_update_deliver(update=update)
    if stdout is not None:
        stdout.write(f"Major incident {incident.reference} with {incident.links.count()} linked tickets.\n")
