"""Demo data: one chat that ended into a ticket with its transcript, and one chat waiting on the console, built
through the services. Idempotent: nothing is added once a chat exists. Dana (``customer``) is left free to start one."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import time_machine
from django.db import transaction

from chat.models import ChatSession
from chat.services import chat_accept, chat_end, chat_post, chat_start


@transaction.atomic
def seed_chat(*, now: datetime, rng: random.Random, people: dict, stdout=None) -> None:
    if ChatSession.objects.exists():
        return
    billing = people["categories"]["billing"]
    customer2, waiting_customer = people["customers"][1], people["customers"][-1]
    agent2 = people["agents"][1]
    started = now - timedelta(days=1, hours=2)
    replies = [
        (agent2, "Hello Sam, I can see the invoice. One moment while I check the payment."),
        (customer2, "Thanks. It was taken twice from our card on the 3rd."),
        (agent2, "Confirmed: a duplicate charge. I have refunded it; it shows in 3 to 5 working days."),
    ]
    with time_machine.travel(started, tick=False):
        session = chat_start(customer=customer2, category=billing, first_message="Our last invoice was charged twice.")
    with time_machine.travel(started + timedelta(minutes=2), tick=False):
        chat_accept(session=session, agent=agent2)
    for minute, (author, body) in enumerate(replies, start=3):
        with time_machine.travel(started + timedelta(minutes=minute), tick=False):
            chat_post(session=session, author=author, body=body)
    with time_machine.travel(started + timedelta(minutes=8), tick=False):
        chat_end(session=session, actor=agent2)
    if waiting_customer.pk != customer2.pk:
        with time_machine.travel(now - timedelta(minutes=rng.randint(2, 6)), tick=False):
            chat_start(
                customer=waiting_customer, category=None, first_message="How do I add a colleague to our account?"
            )
    if stdout is not None:
        stdout.write("Chat: one ended chat (with its ticket) and one waiting.\n")
