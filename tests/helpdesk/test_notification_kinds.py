"""One vocabulary of notification kinds: ``helpdesk.models.NotificationKind``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.core.management import call_command

from helpdesk.models import Notification, NotificationKind

ROOT = Path(__file__).resolve().parent.parent.parent
APPS = ("helpdesk", "escalations", "feedback", "knowledge_base", "reports")
# Everything that writes an outbox row and takes a ``kind``.
WRITERS = {"notification_enqueue", "notification_enqueue_raw", "Notification", "_Notice"}


def _callee(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _is_text(node: ast.expr) -> bool:
    """A string literal or an f-string, also as either branch of ``a if c else b``."""
    if isinstance(node, ast.IfExp):
        return _is_text(node.body) or _is_text(node.orelse)
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def test_no_notification_kind_is_spelled_as_a_string_outside_the_vocabulary():
    # given every Python source file of the apps (the vocabulary itself excepted)
    offenders = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if path == ROOT / "helpdesk" / "models" / "notifications.py" or "migrations" in path.parts:
                continue
            # when each call that writes an outbox row is inspected
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Call) and _callee(node) in WRITERS:
                    for keyword in node.keywords:
                        if keyword.arg == "kind" and _is_text(keyword.value):
                            offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    # then none passes a literal or an f-string: the kind is a NotificationKind member or helper
    assert offenders == []


def test_every_kind_a_representative_lifecycle_writes_is_a_member(db):
    # given the demo, which drives tickets through the real services: create, reply, escalate (every type and
    # automatically), accept, return, resolve, compensation, callbacks, SLA warnings, surveys, follow-ups, RCAs, KB
    call_command("seed_demo", "--password", "pw-demo")
    # when the outbox is read
    kinds = set(Notification.objects.values_list("kind", flat=True))
    # then every kind written is in the vocabulary, and the lifecycle was broad enough to mean something
    assert kinds - set(NotificationKind.values) == set()
    assert len(kinds) >= 25
    assert {
        NotificationKind.TICKET_CREATED,
        NotificationKind.CUSTOMER_ESCALATED,
        NotificationKind.ESCALATION_AUTOMATIC,
        NotificationKind.SLA_WARNING,
        NotificationKind.CUSTOMER_CALLBACK_PROMISED,
        NotificationKind.SURVEY,
    } <= kinds


def test_derived_kinds_are_members_and_unknown_values_are_refused():
    # given the escalation types, webhook events, follow-up kinds and statuses that name kinds
    from escalations.models import EscalationType
    from feedback.models import FollowUpKind
    from helpdesk.models import WebhookEventType

    # when each is turned into a kind, then it is a member
    assert {NotificationKind.for_escalation(t) for t in EscalationType.values} <= set(NotificationKind)
    assert NotificationKind.for_escalation("technical", automatic=True) == NotificationKind.ESCALATION_AUTOMATIC
    assert {NotificationKind.for_webhook(t) for t in WebhookEventType.values} <= set(NotificationKind)
    assert {NotificationKind.for_follow_up(k) for k in FollowUpKind.values} <= set(NotificationKind)
    assert NotificationKind.for_status("resolved") == NotificationKind.STATUS_RESOLVED
    # and a value outside the vocabulary is an error, not a new kind
    with pytest.raises(ValueError, match="'escalation_nonsense' is not a valid NotificationKind"):
        NotificationKind.for_escalation("nonsense")
