"""Helpers for the screens tests: reply templates and a second logged-in client."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def reply_template(categories):
    from helpdesk.models import ReplyTemplate

    def make(
        *,
        name="Refund on its way",
        body="Hello {{customer_first_name}}, your refund is on its way.",
        category="billing",
    ):
        return ReplyTemplate.objects.create(
            name=name, body=body, category=categories[category] if isinstance(category, str) else category
        )

    return make


@pytest.fixture
def other_client():
    return Client()


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)
