import pytest
from django.test import RequestFactory

from helpdesk import audit
from helpdesk.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def test_record_names_actor_target_and_address(manager, agent):
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3")
    event = audit.record(
        AuditAction.ROLE_CHANGED,
        actor=manager,
        target=agent,
        request=request,
        detail={"from": "agent", "to": "specialist"},
    )
    event.refresh_from_db()
    assert (event.action, event.actor, event.actor_label) == ("role_changed", manager, manager.username)
    assert (event.target_type, event.target_id) == ("user", str(agent.pk))
    assert event.ip_address == "10.1.2.3"
    assert event.detail == {"from": "agent", "to": "specialist"}


def test_unknown_action_is_refused():
    with pytest.raises(ValueError):
        audit.record("made_up")
    assert not AuditEvent.objects.exists()


def test_audit_rows_are_append_only():
    event = audit.record(AuditAction.SIGN_OUT)
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
