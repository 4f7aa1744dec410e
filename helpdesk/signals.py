"""Signals for truly decoupled reactions: ``helpdesk`` imports no other app, so the SLA engine, risk detection and
webhooks learn about ticket activity by listening here. Receivers run inside the caller's transaction."""

from django.dispatch import Signal

# Sent after every TicketEvent is written. kwargs: event (TicketEvent), ticket (Ticket).
ticket_event_recorded = Signal()
