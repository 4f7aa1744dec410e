"""A team's page in a real browser: who is on call now, the backup, who is next and the holiday cover, at laptop,
wide and phone widths (screenshots to look at)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser import sign_in


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_team_page_shows_the_rota(browser, live_server, screenshot_dir, teams, manager, agent, django_user_model):
    from escalations.models import OnCallMember, OnCallOverride, OnCallRotation
    from helpdesk.models import TeamMembership

    # given a weekly managers' rota that started this week, and holiday cover tomorrow
    london = ZoneInfo("Europe/London")
    today = timezone.now().astimezone(london).date()
    rotation = OnCallRotation.objects.create(
        team=teams["managers"], handover="weekly", handover_time=time(9), timezone="Europe/London",
        handover_weekday=today.weekday(), starts_on=today - timedelta(days=7),
    )  # fmt: skip
    people = []
    for username, first in (("ada", "Ada"), ("ben", "Ben")):
        user = django_user_model.objects.create_user(username=username, password="x", role="manager", first_name=first)
        TeamMembership.objects.create(team=teams["managers"], user=user)
        people.append(user)
    for position, user in enumerate([manager, *people]):
        OnCallMember.objects.create(rotation=rotation, user=user, position=position)
    tomorrow = datetime.combine(today + timedelta(days=1), time(9), tzinfo=london)
    OnCallOverride.objects.create(
        rotation=rotation, user=people[1], starts_at=tomorrow, ends_at=tomorrow + timedelta(hours=12), reason="Leave"
    )
    # when an agent opens "Teams & on call", then the Managers team
    page = sign_in(browser, live_server.url, "agent")
    page.get_by_role("link", name="Teams & on call").click()
    page.get_by_role("link", name="Managers").click()
    page.wait_for_url(f"{live_server.url}/teams/managers/")
    # then the page names who is on call, the backup, who is next and the cover
    expect(page.get_by_role("heading", name="On call")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("Backup")
    expect(page.get_by_text("Holiday cover")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Leave")
    for width in (1280, 1920, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=screenshot_dir / f"team-{width}.png", full_page=True)
    page.goto(f"{live_server.url}/teams/")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=screenshot_dir / "teams-1280.png", full_page=True)
