"""The on-call rota: who is on call (pure arithmetic, DST-safe), and the staged paging of an emergency: the person on
call, then the backup, then every manager, exactly once under the sweep, stopped by accepting."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings

from escalations.models import Escalation, OnCallMember, OnCallOverride, OnCallPage, OnCallRotation
from escalations.rota import Cover, Rota, on_call_at
from escalations.services import escalation_accept
from escalations.sla.sweep import sla_sweep
from helpdesk.models import Notification

LONDON = ZoneInfo("Europe/London")


def london(*args):
    return datetime(*args, tzinfo=LONDON)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


WEEKLY = Rota(members=(1, 2, 3), handover="weekly", at=time(9), zone="Europe/London", starts_on=date(2026, 10, 19))
DAILY = Rota(members=(1, 2, 3), handover="daily", at=time(9), zone="Europe/London", starts_on=date(2026, 3, 27))


# --- the pure function ------------------------------------------------------------------------------------------------


def test_weekly_rota_hands_over_on_monday_at_nine_local_time():
    # given a weekly rota starting Monday 19 October 2026 at 09:00 London (BST, 08:00 UTC)
    # when asked just before and at the first hand-over
    before, first = on_call_at(WEEKLY, utc(2026, 10, 19, 7, 59)), on_call_at(WEEKLY, utc(2026, 10, 19, 8, 0))
    # then the last member's week ends and the first member's starts, the next in order backing them up
    assert (before.primary, before.backup) == (3, 1)
    assert (first.primary, first.backup) == (1, 2)


def test_weekly_hand_over_stays_at_nine_across_the_clocks_going_back():
    # given the clocks go back on Sunday 25 October 2026, so the next hand-over is 09:00 GMT (09:00 UTC)
    # when asked at 08:30 UTC on Monday 26 October (a naive 7 × 24 hours would already have handed over)
    still = on_call_at(WEEKLY, utc(2026, 10, 26, 8, 30))
    then = on_call_at(WEEKLY, utc(2026, 10, 26, 9, 0))
    # then the first member is still on call until 09:00 local time, and the second takes over then
    assert (still.primary, still.backup, still.until) == (1, 2, utc(2026, 10, 26, 9, 0))
    assert (then.primary, then.backup) == (2, 3)


def test_daily_rota_across_the_clocks_going_forward():
    # given a daily rota from Friday 27 March 2026; the clocks go forward on Sunday 29 March
    # when asked on the Sunday at 08:30 BST (07:30 UTC) and at 09:00 BST (08:00 UTC)
    before = on_call_at(DAILY, utc(2026, 3, 29, 7, 30))
    after = on_call_at(DAILY, utc(2026, 3, 29, 8, 0))
    # then Saturday's member holds on until 09:00 local time, when Sunday's takes over
    assert (before.primary, before.backup, before.until) == (2, 3, utc(2026, 3, 29, 8, 0))
    assert (after.primary, after.backup) == (3, 1)


def test_an_override_wins_and_the_person_covered_for_is_not_the_backup():
    # given member 1 is on holiday for their week and member 9 covers the Tuesday
    cover = Cover(user_id=9, starts_at=london(2026, 10, 20, 0), ends_at=london(2026, 10, 21, 0))
    rota = Rota(**{**WEEKLY.__dict__, "covers": (cover,)})
    # when asked during and after the cover
    during = on_call_at(rota, london(2026, 10, 20, 3))
    after = on_call_at(rota, london(2026, 10, 21, 3))
    # then the cover is on call with the next member as backup, and the rota resumes afterwards
    assert (during.primary, during.backup, during.covering) == (9, 2, True)
    assert (after.primary, after.backup, after.covering) == (1, 2, False)


def test_an_override_by_the_next_member_skips_to_the_one_after():
    cover = Cover(user_id=2, starts_at=london(2026, 10, 20, 0), ends_at=london(2026, 10, 21, 0))
    rota = Rota(**{**WEEKLY.__dict__, "covers": (cover,)})
    assert (on_call_at(rota, london(2026, 10, 20, 3)).primary, on_call_at(rota, london(2026, 10, 20, 3)).backup) == (
        2,
        3,
    )


def test_a_one_person_rota_has_no_backup_and_an_empty_one_nobody():
    solo = Rota(**{**DAILY.__dict__, "members": (7,)})
    empty = Rota(**{**DAILY.__dict__, "members": ()})
    assert (on_call_at(solo, utc(2026, 4, 1, 12)).primary, on_call_at(solo, utc(2026, 4, 1, 12)).backup) == (7, None)
    assert on_call_at(empty, utc(2026, 4, 1, 12)).primary is None


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match=r"^on_call_at needs an aware datetime\.$"):
        on_call_at(DAILY, datetime(2026, 4, 1, 12))


# --- paging an emergency ----------------------------------------------------------------------------------------------


@pytest.fixture
def managers(teams, manager, django_user_model):
    """Four managers: three take turns on the Managers team's weekly rota (Ada this week, Ben backing her up), and
    Morgan (the ``manager`` fixture) is a member of the team but not of the rota. Dee manages but is in no team."""
    from helpdesk.models import TeamMembership

    def make(username, first):
        user = django_user_model.objects.create_user(
            username=username,
            password="pw-" + username,
            role="manager",
            email=f"{username}@example.test",
            first_name=first,
        )
        return user

    ada, ben, cal, dee = make("ada", "Ada"), make("ben", "Ben"), make("cal", "Cal"), make("dee", "Dee")
    for user in (ada, ben, cal):
        TeamMembership.objects.create(team=teams["managers"], user=user)
    return {"ada": ada, "ben": ben, "cal": cal, "dee": dee, "morgan": manager}


@pytest.fixture
def rota(teams, managers):
    rotation = OnCallRotation.objects.create(
        team=teams["managers"],
        handover="weekly",
        handover_time=time(9),
        timezone="Europe/London",
        starts_on=date(2026, 11, 30),
    )
    for position, name in enumerate(("ada", "ben", "cal")):
        OnCallMember.objects.create(rotation=rotation, user=managers[name], position=position)
    return rotation


PAGES = ("escalation_emergency", "escalation_unacknowledged")


def paged(kind=None):
    """Who has been paged about the escalation so far (the escalation kinds: not the ticket's own notices)."""
    rows = Notification.objects.filter(kind__startswith="escalation_")
    if kind:
        rows = rows.filter(kind=kind)
    return sorted(set(rows.values_list("recipient__username", flat=True)))


def raise_emergency(make_ticket, customer, agent, escalate, moment):
    with time_machine.travel(moment, tick=False):
        ticket = make_ticket(customer, category="outage")
        return escalate(ticket, agent, "emergency", "hierarchical")


@override_settings(ESCALATION_ONCALL_BACKUP_MINUTES=3)
def test_an_emergency_at_three_pages_on_call_then_backup_then_everyone(
    config, rota, managers, make_ticket, customer, agent, escalate
):
    # given Ada is on call this week and Ben backs her up
    # when an agent raises an emergency at 03:00 on Tuesday
    raise_emergency(make_ticket, customer, agent, escalate, london(2026, 12, 1, 3))
    # then only Ada is paged, in-app and by email at once (quiet hours never delay an emergency)
    assert paged() == ["ada"]
    assert set(managers["ada"].notifications.values_list("channel", "not_before")) == {
        ("in_app", None),
        ("email", None),
    }
    # when the sweep runs before the backup minutes are up, nobody else is paged
    sla_sweep(now=london(2026, 12, 1, 3, 2))
    assert paged() == ["ada"]
    # when three minutes pass unaccepted, Ben is paged; a rerun pages nobody twice
    first = sla_sweep(now=london(2026, 12, 1, 3, 3))
    rerun = sla_sweep(now=london(2026, 12, 1, 3, 4))
    assert (first.oncall_paged, rerun.oncall_paged) == (1, 0)
    assert paged() == ["ada", "ben"]
    assert managers["ben"].notifications.filter(kind="escalation_emergency", channel="email").count() == 1
    # when three more minutes pass, every other manager (and the rest of the receiving team) is paged, once
    sla_sweep(now=london(2026, 12, 1, 3, 6))
    sla_sweep(now=london(2026, 12, 1, 3, 7))
    assert paged() == ["ada", "ben", "cal", "dee", "manager"]
    assert Notification.objects.filter(kind="escalation_emergency", channel="email").count() == 5
    assert list(OnCallPage.objects.order_by("paged_at").values_list("stage", "recipient__username")) == [
        ("primary", "ada"),
        ("backup", "ben"),
        ("everyone", None),
    ]


def test_accepting_stops_the_paging(config, rota, managers, make_ticket, customer, agent, escalate):
    # given an emergency at 03:00 whose backup was paged at 03:05 (the default five minutes)
    escalation = raise_emergency(make_ticket, customer, agent, escalate, london(2026, 12, 1, 3))
    sla_sweep(now=london(2026, 12, 1, 3, 4))
    assert paged() == ["ada"]
    sla_sweep(now=london(2026, 12, 1, 3, 5))
    assert paged() == ["ada", "ben"]
    # when Ben accepts at 03:07
    escalation_accept(escalation=escalation, actor=managers["ben"], now=london(2026, 12, 1, 3, 7))
    before = Notification.objects.filter(kind__in=PAGES).count()
    # then later sweeps page nobody
    assert sla_sweep(now=london(2026, 12, 1, 3, 10)).oncall_paged == 0
    sla_sweep(now=london(2026, 12, 1, 4))
    assert Notification.objects.filter(kind__in=PAGES).count() == before
    assert not OnCallPage.objects.filter(next_due_at__isnull=False).exists()


def test_an_override_is_paged_instead_of_the_rota(config, rota, managers, make_ticket, customer, agent, escalate):
    # given Cal covers Ada's Tuesday night
    OnCallOverride.objects.create(
        rotation=rota, user=managers["cal"], starts_at=london(2026, 12, 1, 0), ends_at=london(2026, 12, 1, 9)
    )
    # when an emergency is raised at 03:00, then Cal is paged, and after five minutes Ben (Ada is away)
    raise_emergency(make_ticket, customer, agent, escalate, london(2026, 12, 1, 3))
    assert paged() == ["cal"]
    sla_sweep(now=london(2026, 12, 1, 3, 5))
    assert paged() == ["ben", "cal"]


def test_unaccepted_at_the_top_of_the_path_pages_on_call_first(
    config, rota, managers, make_ticket, customer, agent, escalate
):
    # given an emergency accepted by nobody through every stage
    escalation = raise_emergency(make_ticket, customer, agent, escalate, london(2026, 12, 1, 3))
    sla_sweep(now=london(2026, 12, 1, 3, 5))
    sla_sweep(now=london(2026, 12, 1, 3, 9))
    # when its ten minutes to accept run out at the top of the path
    sla_sweep(now=london(2026, 12, 1, 3, 10))
    rerun = sla_sweep(now=london(2026, 12, 1, 3, 11))
    # then the hop stops waiting and the alert goes to the person on call only, once
    escalation.refresh_from_db()
    assert escalation.ack_due_at is None and rerun.paged == 0
    assert paged("escalation_unacknowledged") == ["ada"]
    assert managers["ada"].notifications.filter(kind="escalation_unacknowledged").count() == 2  # in-app and email
    # and five minutes later the backup, then everyone
    sla_sweep(now=london(2026, 12, 1, 3, 15))
    assert paged("escalation_unacknowledged") == ["ada", "ben"]
    sla_sweep(now=london(2026, 12, 1, 3, 20))
    assert paged("escalation_unacknowledged") == ["ada", "ben", "cal", "dee", "manager"]


def test_a_team_without_a_rota_pages_every_manager_at_once(config, managers, make_ticket, customer, agent, escalate):
    # given no rota for the Managers team
    # when an emergency is raised at 03:00
    raise_emergency(make_ticket, customer, agent, escalate, london(2026, 12, 1, 3))
    # then every manager (and the receiving team) hears of it at once, and the sweep adds no stages
    assert paged() == ["ada", "ben", "cal", "dee", "manager"]
    sla_sweep(now=london(2026, 12, 1, 3, 5))
    assert paged() == ["ada", "ben", "cal", "dee", "manager"]
    assert not OnCallPage.objects.exists()
    assert Escalation.objects.get().status == "open"


def test_the_inbox_shows_who_is_on_call(config, rota, managers, login):
    # given Ada on call this week, Ben backing her up; when Ben opens the inbox on Tuesday
    with time_machine.travel(london(2026, 12, 1, 10), tick=False):
        client = login(managers["ben"])
        response = client.get("/escalations/inbox/")
    # then the header names them and the hand-over
    assert response.status_code == 200, response
    text = response.content.decode()
    assert "Managers</a>: on call now <strong>Ada" in text
    assert "backup Ben" in text and 'next hand-over Mon 7 Dec 09:00 <span class="nowrap">(Europe/London)</span>' in text


def test_pages_go_by_sms_to_the_person_on_call_when_the_pager_is_on(
    settings, config, rota, managers, make_ticket, customer, agent, escalate
):
    # given the pager on and phone numbers for Ada, Ben and Morgan
    settings.PAGER_BACKEND = "console"
    for name, phone in (("ada", "+447700900001"), ("ben", "+447700900002"), ("morgan", "+447700900003")):
        managers[name].phone = phone
        managers[name].save(update_fields=["phone"])
    # when an emergency is raised at 03:00 and nobody accepts for ten minutes
    raise_emergency(make_ticket, customer, agent, escalate, london(2026, 12, 1, 3))
    sla_sweep(now=london(2026, 12, 1, 3, 5))
    sla_sweep(now=london(2026, 12, 1, 3, 10))
    # then the person on call and the backup were texted, once each, at once; the "everyone" stage is not a page
    # by SMS, and nobody else was texted
    sms = Notification.objects.filter(channel="sms")
    assert sorted(sms.values_list("to_address", "not_before", "kind")) == [
        ("+447700900001", None, "escalation_emergency"),
        ("+447700900001", None, "escalation_unacknowledged"),
        ("+447700900002", None, "escalation_emergency"),
    ]


def test_no_sms_when_the_pager_is_off(config, rota, managers, make_ticket, customer, agent, escalate):
    managers["ada"].phone = "+447700900001"
    managers["ada"].save(update_fields=["phone"])
    raise_emergency(make_ticket, customer, agent, escalate, london(2026, 12, 1, 3))
    assert paged() == ["ada"]
    assert not Notification.objects.filter(channel="sms").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, reset_sequences=True)  # see FOUNDATION_BUG in conftest
def test_two_sweeps_at_once_page_each_backup_exactly_once(
    config, rota, managers, make_ticket, customer, agent, escalate
):
    from tests.escalations.sla.test_concurrency import postgres_only
    from tests.threads import run_threads

    postgres_only()
    # given twelve emergencies raised at 03:00, each paged to Ada
    for _ in range(12):
        raise_emergency(make_ticket, customer, agent, escalate, london(2026, 12, 1, 3))
    results = []
    # when two sweeps run at 03:05 at the same moment, in small batches
    run_threads(*[lambda: results.append(sla_sweep(now=london(2026, 12, 1, 3, 5), batch_size=5)) for _ in range(2)])
    # then each backup stage was written and paged once, shared between them
    assert sum(r.oncall_paged for r in results) == 12
    assert OnCallPage.objects.filter(stage="backup").count() == 12
    assert managers["ben"].notifications.filter(channel="in_app").count() == 12


# --- the acceptance test, quiet hours, who is next, the team page -----------------------------------------


@override_settings(ESCALATION_ONCALL_BACKUP_MINUTES=4)
def test_an_emergency_at_three_pages_on_call_then_backup_and_stops_when_acknowledged_nobody_else(
    config, rota, managers, make_ticket, customer, agent, escalate
):
    # given Ada on call and Ben her backup, the backup paged after the configured four minutes
    escalation = raise_emergency(make_ticket, customer, agent, escalate, london(2026, 12, 1, 3))
    # then at 03:00 only the manager on call is paged
    assert paged() == ["ada"]
    sla_sweep(now=london(2026, 12, 1, 3, 3, 59))
    assert paged() == ["ada"]
    # when four minutes pass unacknowledged, the backup is paged
    sla_sweep(now=london(2026, 12, 1, 3, 4))
    assert paged() == ["ada", "ben"]
    # when Ben acknowledges (accepts) at 03:05, the paging stops: however long the sweep runs, nobody else is paged
    escalation_accept(escalation=escalation, actor=managers["ben"], now=london(2026, 12, 1, 3, 5))
    for minute in (8, 12, 20, 45):
        sla_sweep(now=london(2026, 12, 1, 3, minute))
    sla_sweep(now=london(2026, 12, 1, 6))
    assert paged("escalation_emergency") == ["ada", "ben"]
    assert not Notification.objects.filter(kind__in=PAGES).exclude(recipient__username__in=["ada", "ben"]).exists()
    for name in ("cal", "dee", "morgan"):
        assert not managers[name].notifications.exists(), name
    # (the frontline agent hears of the new ticket and that Ben accepted: notices, not pages)
    assert set(agent.notifications.values_list("kind", flat=True)) == {"ticket_created", "escalation_accepted"}
    assert list(OnCallPage.objects.order_by("paged_at").values_list("stage", "recipient__username")) == [
        ("primary", "ada"),
        ("backup", "ben"),
    ]


@override_settings(ESCALATION_ONCALL_BACKUP_MINUTES=3)
def test_quiet_hours_never_delay_an_emergency_page(config, rota, managers, make_ticket, customer, agent, escalate):
    from escalations.models import BusinessCalendar, TeamCalendar, WorkingInterval
    from escalations.sla.selectors import team_next_working_moments

    # given the Managers team keeps office hours (Mon–Fri 09:00–17:00 London): at 03:00 its quiet hours are on
    office = BusinessCalendar.objects.create(name="Office", timezone="Europe/London")
    for day in range(5):
        WorkingInterval.objects.create(calendar=office, weekday=day, start=time(9), end=time(17))
    team = rota.team
    TeamCalendar.objects.create(team=team, calendar=office)
    assert team_next_working_moments(team_ids=[team.pk], now=london(2026, 12, 1, 3)) == {
        team.pk: london(2026, 12, 1, 9)
    }
    # when an emergency is raised at 03:00 and nobody accepts for three minutes
    raise_emergency(make_ticket, customer, agent, escalate, london(2026, 12, 1, 3))
    sla_sweep(now=london(2026, 12, 1, 3, 3))
    # then the on-call page and the backup page go out at once on every channel: none waits for 09:00
    pages = Notification.objects.filter(kind="escalation_emergency")
    assert sorted(pages.values_list("recipient__username", "channel")) == [
        ("ada", "email"),
        ("ada", "in_app"),
        ("ben", "email"),
        ("ben", "in_app"),
    ]
    assert set(pages.values_list("not_before", flat=True)) == {None}


def test_who_is_next_after_the_hand_over_and_around_holiday_cover():
    from escalations.rota import next_on_call

    # Ada (1) on call this week; Ben (2) takes over on Monday 7 December at 09:00
    assert next_on_call(WEEKLY_ADA, london(2026, 12, 1, 10)) == (london(2026, 12, 7, 9), 2)
    # Cal (3) covers Ada from Thursday 09:00 to Friday 09:00: Cal is next, from the start of the cover
    cover = Cover(user_id=3, starts_at=london(2026, 12, 3, 9), ends_at=london(2026, 12, 4, 9))
    covered = Rota(**{**WEEKLY_ADA.__dict__, "covers": (cover,)})
    assert next_on_call(covered, london(2026, 12, 1, 10)) == (london(2026, 12, 3, 9), 3)
    # during the cover, Ada is next when it ends
    assert next_on_call(covered, london(2026, 12, 3, 12)) == (london(2026, 12, 4, 9), 1)
    # an empty rota has nobody next
    empty = Rota(**{**WEEKLY_ADA.__dict__, "members": ()})
    assert next_on_call(empty, london(2026, 12, 1, 10)) == (None, None)


WEEKLY_ADA = Rota(members=(1, 2, 3), handover="weekly", at=time(9), zone="Europe/London", starts_on=date(2026, 11, 30))


def test_the_team_page_shows_who_is_on_call_now_and_next_and_the_cover(config, rota, managers, login, agent):
    # given Cal covers Ada on Thursday (holiday cover)
    OnCallOverride.objects.create(
        rotation=rota,
        user=managers["cal"],
        starts_at=london(2026, 12, 3, 9),
        ends_at=london(2026, 12, 4, 9),
        reason="Ada on leave",
    )
    # when an agent (not in the team) opens the Managers team's page on Tuesday
    with time_machine.travel(london(2026, 12, 1, 10), tick=False):
        client = login(agent)
        response = client.get("/teams/managers/")
    # then it names who is on call now, the backup and who is next, from when, in the rota's zone
    assert response.status_code == 200
    html = response.content.decode()
    assert "<dt>Now</dt><dd><strong>Ada</strong></dd>" in html
    assert "<dt>Backup</dt><dd>Ben</dd>" in html
    assert '<dt>Next</dt><dd>Cal from Thu 3 Dec 09:00 <span class="nowrap">(Europe/London)</span></dd>' in html
    assert "Cal: Thu 3 Dec 09:00 to Fri 4 Dec 09:00" in html and "Ada on leave" in html
    assert "Morgan Blake <span" in html  # a member outside the rota is listed too


def test_the_teams_list_links_each_team_and_its_on_call(config, rota, managers, login, agent):
    with time_machine.travel(london(2026, 12, 1, 10), tick=False):
        client = login(agent)
        response = client.get("/teams/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<a href="/teams/managers/">Managers</a>' in html
    assert "<strong>Ada</strong>" in html and "backup Ben" in html
    assert "No on-call rota" in html  # the other teams


def test_the_team_page_is_for_staff(config, rota, login, customer):
    client = login(customer)
    assert client.get("/teams/managers/").status_code == 403
    assert client.get("/teams/").status_code == 403


def test_an_unknown_team_is_not_found(config, login, agent):
    assert login(agent).get("/teams/nope/").status_code == 404


def test_the_inbox_names_who_is_next_and_links_the_team_page(config, rota, managers, login):
    with time_machine.travel(london(2026, 12, 1, 10), tick=False):
        text = login(managers["ben"]).get("/escalations/inbox/").content.decode()
    assert '<a href="/teams/managers/">Managers</a>: on call now <strong>Ada' in text
    assert "; next on call Ben." in text
