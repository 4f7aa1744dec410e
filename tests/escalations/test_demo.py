"""The demo seeder: escalations at every stage, built through the services; running it twice adds nothing."""

from escalations.models import (
    CompensationRequest,
    CompensationStatus,
    Escalation,
    EscalationPath,
    Playbook,
    TierApprovalLimit,
    VendorCase,
)
from helpdesk.demo import seed_demo
from helpdesk.notifications import dispatch_disabled


def test_demo_has_escalations_at_every_stage_and_is_idempotent(db):
    # when the demo is seeded twice
    with dispatch_disabled():
        seed_demo(password="demo-pass-1")
        counts = (Escalation.objects.count(), CompensationRequest.objects.count(), VendorCase.objects.count())
        seed_demo(password="demo-pass-1")
    # then nothing was added the second time
    assert (Escalation.objects.count(), CompensationRequest.objects.count(), VendorCase.objects.count()) == counts
    # and every stage, the emergency, compliance, third party and a customer's request are there
    assert set(Escalation.objects.values_list("status", flat=True)) == {
        "open",
        "accepted",
        "returned",
        "resolved",
        "superseded",
    }
    assert Escalation.objects.filter(escalation_type="emergency", status="open", ticket__is_emergency=True).exists()
    assert Escalation.objects.filter(escalation_type="compliance", ticket__restricted=True).exists()
    assert Escalation.objects.filter(requested_by_kind="customer").exists()
    assert VendorCase.objects.filter(ticket__status="pending_third_party").exists()
    assert set(CompensationRequest.objects.values_list("status", flat=True)) == {
        CompensationStatus.AUTO_APPROVED,
        CompensationStatus.PENDING,
        CompensationStatus.APPROVED,
    }
    # and the configuration: a path per type, 8 playbooks, limits for 3 tiers x 3 currencies
    assert EscalationPath.objects.values("escalation_type").distinct().count() == 8
    assert Playbook.objects.count() == 8
    assert TierApprovalLimit.objects.count() == 9
