"""Escalation helpdesk: project wiring and the ticket core."""

from helpdesk.celery import app as celery_app

__all__ = ("celery_app",)
