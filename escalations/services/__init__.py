"""Writes for escalations: escalate, accept, return, escalate further, resolve, reassign; the customer's request
for a manager; emergency, financial (compensation approvals), compliance and third-party escalations; the
vendor follow-up reminder. Screens, tasks, the SLA sweep and the admin call these same functions, imported from
here (``from escalations.services import escalation_accept``).

One module per flow:

- ``create``: the path preview and a manual escalation with its dossier and type-specific effects;
- ``automatic``: the SLA breach escalation and paging the next level, one ticket at a time by the sweep's route;
- ``lifecycle``: accept, return, escalate further, resolve, reassign, and closing with the ticket;
- ``manager_request``: the customer's request for a manager and its guards;
- ``vendors``: third-party vendor cases and their follow-up reminders;
- ``risk``: the escalation-risk assessment of incoming customer messages;
- ``common``: what they share (locks, who may act, the words the customer reads).

Exactly-once is enforced by the database, not by hoping: at most one *open* escalation per ticket and level
(a partial unique constraint; the insert runs in a savepoint so a duplicate becomes a clean refusal), and every
state change is a conditional UPDATE on the status the caller saw (two people accepting at once: one row
changes, the other gets ``EscalationConflict`` naming the winner).
"""

from escalations.errors import EscalationConflict
from escalations.services.automatic import escalation_create_automatic, escalation_page_next_level
from escalations.services.create import PathPreview, escalation_create, escalation_preview
from escalations.services.lifecycle import (
    escalation_accept,
    escalation_can_handle,
    escalation_escalate_further,
    escalation_reassign,
    escalation_resolve,
    escalation_return,
    escalations_close_with_ticket,
)
from escalations.services.manager_request import ManagerRequestCheck, escalation_request_manager, manager_request_check
from escalations.services.risk import risk_assess_message, risk_outcomes_record
from escalations.services.vendors import vendor_case_etag, vendor_case_update, vendor_followups_due_remind

__all__ = [
    "EscalationConflict",
    "ManagerRequestCheck",
    "PathPreview",
    "escalation_accept",
    "escalation_can_handle",
    "escalation_create",
    "escalation_create_automatic",
    "escalation_escalate_further",
    "escalation_page_next_level",
    "escalation_preview",
    "escalation_reassign",
    "escalation_request_manager",
    "escalation_resolve",
    "escalation_return",
    "escalations_close_with_ticket",
    "manager_request_check",
    "risk_assess_message",
    "risk_outcomes_record",
    "vendor_case_etag",
    "vendor_case_update",
    "vendor_followups_due_remind",
]
