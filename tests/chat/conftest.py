"""Chat fixtures, through the real services."""

from __future__ import annotations

import pytest


@pytest.fixture
def start_chat(categories):
    """``start_chat(customer, message=...)``: a waiting chat opened by the customer through the service."""
    from chat.services import chat_start

    def do(customer, message="My invoice shows a double charge.", category="billing"):
        return chat_start(customer=customer, category=categories[category], first_message=message)

    return do


@pytest.fixture
def frames(monkeypatch):
    """The live frames published after commit, as ``(kind, payload, user ids)``."""
    from helpdesk.live import publish

    sent: list = []
    monkeypatch.setattr(
        publish.live_publisher,
        "submit",
        lambda messages: sent.extend((m.kind, m.payload, m.user_ids) for m in messages),
    )
    return sent
