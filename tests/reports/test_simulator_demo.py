"""On the demo data, replaying every current policy unchanged ("no change") reproduces exactly what happened."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command

from escalations.models import SLAPolicy
from reports import simulator
from reports.simulator import Draft

SEEDED = dt.datetime(2026, 11, 25, 14, 0, tzinfo=dt.UTC)


@pytest.fixture
def demo(db):
    with time_machine.travel(SEEDED, tick=False):
        call_command("seed_demo", "--password", "pw-demo")


def test_a_no_change_replay_of_every_policy_on_the_demo_data_shows_no_difference(demo):
    # given the demo data (seeded, with its sweep, at SEEDED)
    policies = list(SLAPolicy.objects.filter(is_active=True, clocks__isnull=False).distinct())
    assert any(p.name == "Enterprise · High" for p in policies)
    for policy in policies:
        # when the current policy is replayed unchanged over the whole history, as of the seeding moment
        result = simulator.simulate(
            draft=Draft(policy_id=policy.pk), start=SEEDED - dt.timedelta(days=400), end=SEEDED, viewer=None, now=SEEDED
        )
        # then breaches and warnings are what happened, target by target, and no ticket would change
        assert result.description == f"{policy.name}: no change (replays the current policy)"
        for target, tally in result.by_target.items():
            assert (policy.name, target, tally.simulated_breaches, tally.simulated_warned) == (
                policy.name,
                target,
                tally.actual_breaches,
                tally.actual_warned,
            )
        assert (policy.name, result.changed_count, result.changed) == (policy.name, 0, [])
