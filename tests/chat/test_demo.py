"""The chat demo seeder: one chat ended into a ticket with its transcript, one waiting; idempotent."""

from __future__ import annotations

import random

import pytest
from django.utils import timezone

from chat.demo import seed_chat
from chat.models import ChatSession, ChatStatus

pytestmark = pytest.mark.django_db


def test_the_demo_has_an_ended_chat_with_its_ticket_and_a_waiting_one(
    customer, customer2, agent, agent2, categories, org, django_user_model
):
    # given the demo's people
    third = django_user_model.objects.create_user(username="c3", password="x", role="customer", organization=org)
    people = {"categories": categories, "customers": [customer, customer2, third], "agents": [agent, agent2]}

    # when the chat demo is seeded twice
    for _ in range(2):
        seed_chat(now=timezone.now(), rng=random.Random(1), people=people)

    # then customer2's chat ended into a ticket holding the transcript, the last customer waits, nothing doubled
    ended = ChatSession.objects.get(status=ChatStatus.ENDED)
    assert (ended.customer, ended.agent, ended.ticket.assignee) == (customer2, agent2, agent2)
    assert "I have refunded it" in ended.ticket.description
    assert list(ChatSession.objects.filter(status=ChatStatus.WAITING).values_list("customer", flat=True)) == [third.pk]
    assert ChatSession.objects.count() == 2
