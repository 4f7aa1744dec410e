"""Every task the beat schedule names is a task the worker knows: a renamed or moved task fails here, not in
production where beat would publish messages that no worker can run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from helpdesk.celery import app

ROOT = Path(__file__).resolve().parents[2]

# Loading the registry as a worker does runs Celery's Django fix-up, which touches the connection.
pytestmark = pytest.mark.django_db


def _registered() -> set[str]:
    app.loader.import_default_modules()
    return set(app.tasks)


def test_every_scheduled_task_is_registered():
    # given the schedule as the settings build it
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled, "the beat schedule is empty"

    # when the worker's task registry is loaded
    registered = _registered()

    # then every scheduled name is a registered task
    assert sorted(scheduled - registered) == []


def test_the_mailbox_poll_scheduled_with_mailboxes_is_registered():
    # given mailboxes configured, the settings add the IMAP poll to the schedule
    env = {**os.environ, "INBOUND_MAILBOXES": '[{"name": "support", "host": "127.0.0.1"}]'}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(sorted(e['task'] for e in settings.CELERY_BEAT_SCHEDULE.values())))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test"},
        capture_output=True,
        text=True,
        check=True,
    )
    scheduled = set(json.loads(out.stdout.strip().splitlines()[-1]))

    # then it is in the schedule and the worker knows it
    assert "helpdesk.tasks.poll_mailboxes_task" in scheduled
    assert sorted(scheduled - _registered()) == []
