"""The demo seeder: escalations at every stage, built through the services, and the on-call rotas; running it twice
adds nothing."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import time_machine

from escalations.models import (
    CompensationRequest,
    CompensationStatus,
    Escalation,
    EscalationPath,
    OnCallMember,
    OnCallOverride,
    OnCallRotation,
    Playbook,
    TierApprovalLimit,
    VendorCase,
)
from escalations.selectors import oncall_board_for
from helpdesk.demo import seed_demo
from helpdesk.models import User
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


def test_demo_has_weekly_oncall_rotas_with_a_holiday_cover_and_seeding_twice_adds_none(db):
    # when the demo is seeded twice on Wednesday 2 December 2026
    with time_machine.travel(datetime(2026, 12, 2, 14, tzinfo=UTC), tick=False), dispatch_disabled():
        seed_demo(password="demo-pass-1")
        counts = (OnCallRotation.objects.count(), OnCallMember.objects.count(), OnCallOverride.objects.count())
        seed_demo(password="demo-pass-1")
    # then the second run added nothing
    assert counts == (2, 4, 1)
    assert (OnCallRotation.objects.count(), OnCallMember.objects.count(), OnCallOverride.objects.count()) == counts
    # and the tier-3 managers and the tier-2 technical specialists take turns weekly, Monday 09:00 in the team's zone
    rotations = {rotation.team.slug: rotation for rotation in OnCallRotation.objects.select_related("team")}
    assert set(rotations) == {"care-managers", "technical"}
    assert {(r.team.tier, r.handover, r.handover_weekday, r.handover_time, r.timezone) for r in rotations.values()} == {
        (3, "weekly", 0, time(9), "Europe/London"),
        (2, "weekly", 0, time(9), ""),
    }
    assert [m.user.username for m in rotations["care-managers"].members.all()] == ["manager2", "manager"]
    assert [m.user.username for m in rotations["technical"].members.all()] == ["specialist", "specialist2"]
    # and this week Casey is on call for the managers (Morgan backs her up), Priya for the specialists (Tom)
    now = datetime(2026, 12, 2, 14, tzinfo=UTC)
    board = {line.team.slug: line for line in oncall_board_for(user=User.objects.get(username="manager2"), now=now)}
    assert (board["care-managers"].primary.username, board["care-managers"].backup.username) == ("manager2", "manager")
    # (the managers' rota names London although their 24x7 calendar is UTC; the specialists' follows their office
    # calendar, Europe/London)
    assert (board["care-managers"].until, board["care-managers"].zone) == (
        datetime(2026, 12, 7, 9, tzinfo=ZoneInfo("Europe/London")),
        "Europe/London",
    )
    board = {line.team.slug: line for line in oncall_board_for(user=User.objects.get(username="specialist"), now=now)}
    assert (board["technical"].primary.username, board["technical"].backup.username) == ("specialist", "specialist2")
    assert (board["technical"].until, board["technical"].zone) == (
        datetime(2026, 12, 7, 9, tzinfo=ZoneInfo("Europe/London")),
        "Europe/London",
    )
    # and next week Morgan, on holiday, is covered by the site administrator, with Casey as the backup
    cover = OnCallOverride.objects.get()
    assert (cover.rotation.team.slug, cover.user.username) == ("care-managers", "admin")
    assert (cover.starts_at, cover.ends_at) == (
        datetime(2026, 12, 7, 9, tzinfo=UTC),
        datetime(2026, 12, 14, 9, tzinfo=UTC),
    )
    next_week = oncall_board_for(user=User.objects.get(username="manager"), now=datetime(2026, 12, 9, 12, tzinfo=UTC))
    line = next(line for line in next_week if line.team.slug == "care-managers")
    assert (line.primary.username, line.backup.username, line.covering) == ("admin", "manager2", True)
