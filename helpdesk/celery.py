"""The Celery application, configured from Django settings (``CELERY_*``).

Tasks are acknowledged late and rejected back to the queue when a worker dies, so a killed worker never loses
work; every task is therefore written to be idempotent. Only JSON crosses the broker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.local")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
