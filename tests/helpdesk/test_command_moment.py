"""``--at`` / ``--now`` mean the same in every command that takes a moment (helpdesk.management.command_moment)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from helpdesk.management import command_moment


def test_a_naive_moment_is_utc_and_a_zoned_one_is_kept():
    assert command_moment("2026-11-23T09:00:00") == datetime(2026, 11, 23, 9, tzinfo=UTC)
    zoned = command_moment("2026-11-23T09:00:00+02:00")
    assert zoned.utcoffset() == timedelta(hours=2) and zoned == datetime(2026, 11, 23, 7, tzinfo=UTC)
    assert command_moment(None).tzinfo is not None


def test_a_bad_moment_names_the_option():
    with pytest.raises(CommandError, match=r"--now must be an ISO-8601 date and time, not 'soon'\."):
        command_moment("soon", option="--now")


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["sla_sweep", "calls_sweep", "feedback_sweep", "retention_sweep"])
def test_every_sweep_command_reads_its_moment_the_same_way(command):
    with pytest.raises(CommandError, match=r"--at must be an ISO-8601 date and time, not 'tuesday'\."):
        call_command(command, "--at", "tuesday")
    call_command(command, "--at", "2026-11-23T09:00:00")  # naive: UTC, not refused
