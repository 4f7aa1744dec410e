"""Signals for truly decoupled reactions: ``helpdesk`` imports no other app, so the SLA engine, risk detection and
webhooks learn about ticket activity by listening here. Receivers run inside the caller's transaction."""

from django.dispatch import Signal

# Sent after every TicketEvent is written. kwargs: event (TicketEvent), ticket (Ticket).
# ``use_caching``: the live receivers are worked out once per sender (Django clears the cache on every connect and
# disconnect), not on each send; the SLA sweep sends this tens of thousands of times a second.
ticket_event_recorded = Signal(use_caching=True)
