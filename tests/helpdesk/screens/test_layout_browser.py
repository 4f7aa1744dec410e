"""The floor's screens hold their layout in Chromium: the agent queue (also sorted by risk, with a team lead's "likely
to escalate" panel), the ticket workspace (also one at risk), the escalation inbox, an escalation page, the manager
review queue and the dashboard, at a 1280 px laptop, a 1920 px screen, a 390 px phone
and 200 % zoom (a 640 px viewport at scale 2). On each: nothing scrolls sideways, no table is cut by its box, no
heading is clipped, no box inside the page hides rows, the main column never runs under the right one, selects show
their whole choice, dates are typed dd/mm/yyyy and times carry their zone, and no page polls more than it says.

The escalation inbox and review queue are dense lists: 50 escalations fit a 1280x800 screen, the columns sort
through ``?sort=`` and the keyboard works (and keeps out of text fields). Screenshots go to test-results/<test>/.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from escalations.models import Escalation, EscalationStatus
from helpdesk.models import ReplyTemplate, Status, Ticket

WIDTHS = {
    "laptop-1280": {"viewport": {"width": 1280, "height": 800}},
    "wide-1920": {"viewport": {"width": 1920, "height": 1080}},
    "phone-390": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True},
    "zoom-200": {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2},
}
DOSSIER = {
    "reason": "Needs the gateway logs tier 1 cannot read.",
    "dossier_problem": "Spinner forever on the dashboard for the whole office.",
    "dossier_tried": "Cleared the cache, two browsers; the status page is green.",
    "dossier_desired_outcome": "Working before the afternoon deadline.",
    "dossier_mood": "frustrated",
}

# Everything the page's layout must hold, measured in the page. Returns a list of problems (empty = fine).
LAYOUT_PROBLEMS = """() => {
  const problems = [];
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && el.checkVisibility(); };
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth) problems.push(`page scrolls sideways: ${doc.scrollWidth} > ${window.innerWidth}`);
  for (const wrap of document.querySelectorAll('.table-wrap')) {
    const table = wrap.querySelector('table');
    if (table && table.getBoundingClientRect().width > wrap.clientWidth + 1)
      problems.push(`table cut by its box: ${Math.round(table.getBoundingClientRect().width)} > ${wrap.clientWidth}`);
  }
  for (const th of document.querySelectorAll('main th')) {
    if (visible(th) && th.scrollWidth > th.clientWidth + 1) problems.push(`heading clipped: ${th.textContent.trim()}`);
  }
  for (const el of document.querySelectorAll('main *')) {
    const style = getComputedStyle(el);
    if (el.tagName !== 'TEXTAREA' && ['auto', 'scroll'].includes(style.overflowY) && el.scrollHeight > el.clientHeight + 1)
      problems.push(`a box inside the page scrolls and hides content: ${el.className}`);
  }
  const centre = document.querySelector('.ws-centre, .portal-grid > section');
  const right = document.querySelector('.ws-right, .portal-grid > aside');
  if (centre && right) {
    const r = right.getBoundingClientRect();
    for (const el of centre.querySelectorAll('*')) {
      if (!visible(el)) continue;
      const b = el.getBoundingClientRect();
      if (b.right > r.left + 1 && b.left < r.right - 1 && b.bottom > r.top + 1 && b.top < r.bottom - 1) {
        problems.push(`main column runs under the right one: ${el.tagName}.${el.className}`);
        break;
      }
    }
  }
  // A select cuts its choice when a copy holding only that choice, at its natural width, is wider than it.
  for (const select of document.querySelectorAll('main select')) {
    if (!visible(select) || select.selectedIndex < 0) continue;
    const probe = select.cloneNode(false);
    probe.append(new Option(select.options[select.selectedIndex].text));
    probe.style.cssText = 'position:absolute; visibility:hidden; width:max-content; min-width:0; max-width:none';
    select.parentElement.append(probe);
    const needed = probe.getBoundingClientRect().width;
    probe.remove();
    if (needed > select.getBoundingClientRect().width + 1)
      problems.push(`select cuts its choice: "${select.options[select.selectedIndex].text}"`);
  }
  for (const badge of document.querySelectorAll('main .status')) {
    const lineHeight = parseFloat(getComputedStyle(badge).lineHeight);
    if (visible(badge) && badge.getBoundingClientRect().height > 2 * lineHeight + 4)
      problems.push(`status badge on more than two lines: ${badge.textContent.trim()}`);
  }
  if (document.querySelector('input[type=date], input[type=datetime-local]'))
    problems.push('a date input drawn in the browser locale (mm/dd/yyyy in a US browser)');
  return problems;
}"""


def _sign_in(browser, base: str, username: str, **context_args):
    context = browser.new_context(locale="en-US", **context_args)
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"pw-{username}")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")
    return context, page


def _polls(page: Page, url: str, *, seconds: float) -> list[str]:
    """Open ``url`` and return the background (XHR/fetch) requests it makes in its first ``seconds``."""
    seen: list[str] = []

    def on_request(request):
        if request.resource_type in ("xhr", "fetch"):
            seen.append(f"{request.method} {request.url}")

    page.on("request", on_request)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(seconds * 1000)
    page.remove_listener("request", on_request)
    return seen


@pytest.fixture
def busy_floor(teams, categories, customer, agent, specialist, manager, make_ticket):
    """A busy day: 50 open escalations to the specialist's team, a ticket waiting on a third party, long team and
    reply-template names, and on-call rotas (a long zone name, a cover) for the inbox header and the dashboard."""
    from escalations.defaults import escalation_config_ensure
    from escalations.services import escalation_create
    from helpdesk.services import ticket_change_status

    escalation_config_ensure()
    teams["frontline"].name = "Customer care frontline"
    teams["frontline"].save()
    ReplyTemplate.objects.create(
        name="Acknowledge and set expectations", body="Hello {{customer_first_name}}, we are on it.", category=None
    )
    start = timezone.now() - timedelta(hours=3)
    escalations = []
    for number in range(50):
        ticket = make_ticket(customer, subject=f"Dashboard down for office {number:02d}", category="outage")
        escalations.append(
            escalation_create(
                ticket=ticket,
                actor=agent,
                escalation_type="technical",
                mode="functional",
                now=start + timedelta(minutes=number),
                **DOSSIER,
            )
        )
    # Tickets at risk and not escalated, for the queue's risk column and the "likely to escalate" panels.
    for subject, words in (
        ("Charged twice for the annual plan", "Third time I write. I'll dispute the charge with my bank."),
        ("Wants a manager about the outage credit", "I want to speak to a manager, this is unacceptable."),
        ("Factura duplicada", "Es la tercera vez que escribo por el mismo problema."),
    ):
        make_ticket(customer, subject=subject, description=words, category="billing")
    waiting = make_ticket(customer, subject="Courier has not collected the return", category="billing")
    ticket_change_status(ticket=waiting, actor=agent, status=Status.OPEN)
    ticket_change_status(ticket=waiting, actor=agent, status=Status.PENDING_THIRD_PARTY)
    # Tag chips in the queue rows and the workspace header (a long name, to see that it wraps, never clips).
    from helpdesk.tags import tickets_tag_add

    for name in ("vip", "Outage EU", "Refund promised by phone on Monday"):
        tickets_tag_add(tickets=[escalations[0].ticket, waiting], name=name, actor=agent)
    _rotas(teams, specialist, manager)
    return escalations


def _rotas(teams, specialist, manager) -> None:
    from escalations.models import OnCallMember, OnCallOverride, OnCallRotation
    from helpdesk.models import TeamMembership, User

    deputy = User.objects.create_user(
        username="deputy", role="manager", first_name="Maximiliana", last_name="Featherstonehaugh-Wolstenholme"
    )
    TeamMembership.objects.create(team=teams["managers"], user=deputy)
    today = timezone.localdate()
    for team, members, zone in (
        (teams["managers"], (manager, deputy), "America/Argentina/Buenos_Aires"),
        (teams["technical"], (specialist,), ""),
    ):
        rotation = OnCallRotation.objects.create(team=team, timezone=zone, starts_on=today - timedelta(weeks=5))
        for position, user in enumerate(members):
            OnCallMember.objects.create(rotation=rotation, user=user, position=position)
    OnCallOverride.objects.create(
        rotation=teams["technical"].oncall_rotation,
        user=manager,
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(days=2),
        reason="Holiday cover",
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_floor_screens_hold_at_every_width(live_server, browser, screenshot_dir, busy_floor):
    base = live_server.url
    first = busy_floor[0]
    screens = {
        "agent": {
            "queue": "/tickets/?scope=all&status=any",
            "queue-risk": "/tickets/?sort=risk&risk=medium",
            "workspace-risk": f"/tickets/{Ticket.objects.get(subject='Charged twice for the annual plan').reference}/",
            "workspace": f"/tickets/{first.ticket.reference}/?call=1",
        },
        "specialist": {"inbox": "/escalations/inbox/", "escalation": f"/escalations/{first.pk}/"},
        "manager": {"review": "/escalations/review/", "dashboard": "/reports/"},
    }
    problems: list[str] = []
    for username, pages in screens.items():
        for width, context_args in WIDTHS.items():
            context, page = _sign_in(browser, base, username, **context_args)
            for name, path in pages.items():
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=screenshot_dir / f"{name}-{width}.png", full_page=True)
                problems += [f"{name} at {width}: {p}" for p in page.evaluate(LAYOUT_PROBLEMS)]
            context.close()
    assert problems == [], "\n".join(problems)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_times_carry_their_zone_and_dates_are_typed_the_uk_way(live_server, browser, busy_floor):
    context, page = _sign_in(browser, live_server.url, "agent", viewport={"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/tickets/{busy_floor[0].ticket.reference}/?call=1")
    zone = timezone.localtime().strftime("%Z")
    for text in page.locator(".timeline time").all_inner_texts():
        assert text.endswith(f" {zone}"), text
    callback = page.get_by_label("Call back from (customer's time)")
    expect(callback).to_have_attribute("placeholder", "dd/mm/yyyy hh:mm")
    expect(callback).to_have_attribute("type", "text")
    context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_page_polls_more_than_it_says(live_server, browser, settings, busy_floor):
    base = live_server.url
    first = busy_floor[0]
    # Every staff page fetches its navigation's saved views (with their counts) once, after the page.
    nav = 1
    for username, path, allowed in [
        ("agent", "/tickets/", nav),
        # one presence "load" post (the next comes after PRESENCE_POLL_SECONDS, 15 s, outside this window) and one
        # GET of the suggested-articles panel, which loads after the page
        ("agent", f"/tickets/{first.ticket.reference}/", 2 + nav),
        ("specialist", "/escalations/inbox/", nav),
        ("specialist", f"/escalations/{first.pk}/", nav),
        ("manager", "/escalations/review/", nav),
        ("manager", "/reports/", nav),  # the attention panel refreshes every 60 s
    ]:
        context, page = _sign_in(browser, base, username, viewport={"width": 1280, "height": 800})
        seen = _polls(page, base + path, seconds=3)
        assert len(seen) <= allowed, (path, seen)
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_fifty_escalations_fit_a_laptop_screen_and_sort_by_column(live_server, browser, screenshot_dir, busy_floor):
    base = live_server.url
    context, page = _sign_in(browser, base, "specialist", viewport={"width": 1280, "height": 800})

    # 50 rows of the inbox take no more than a 1280x800 screen's height
    page.goto(f"{base}/escalations/inbox/")
    lines = page.locator("section[aria-labelledby=waiting-h] tbody.esc-item > tr.esc-line")
    expect(lines).to_have_count(50)
    top = lines.first.bounding_box()
    bottom = lines.last.bounding_box()
    assert bottom["y"] + bottom["height"] - top["y"] <= 800
    page.screenshot(path=screenshot_dir / "inbox-50.png")

    # the Waiting column sorts both ways through ?sort=, marked with aria-sort
    page.get_by_role("link", name="Waiting", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?sort=waiting$"))
    expect(page.locator("th[aria-sort=ascending]")).to_have_text("Waiting")
    newest = busy_floor[-1].ticket.reference
    expect(lines.first.locator(".esc-ref")).to_have_text(newest)
    page.get_by_role("link", name="Waiting", exact=True).click()
    expect(page.locator("th[aria-sort=descending]")).to_have_text("Waiting")
    expect(lines.first.locator(".esc-ref")).to_have_text(busy_floor[0].ticket.reference)

    # an unknown sort is the default order, not an error
    response = page.goto(f"{base}/escalations/inbox/?sort=ticket__customer__password")
    assert response.status == 200
    expect(page.locator("th[aria-sort]")).to_have_count(0)
    expect(lines.first.locator(".esc-ref")).to_have_text(busy_floor[0].ticket.reference)

    # the review queue keeps its filters when sorting
    context.close()
    context, page = _sign_in(browser, base, "manager", viewport={"width": 1280, "height": 800})
    page.goto(f"{base}/escalations/review/?tier=2")
    page.get_by_role("link", name="Customer", exact=True).click()
    expect(page).to_have_url(re.compile(r"tier=2&sort=customer$"))
    expect(page.locator("th[aria-sort=ascending]")).to_have_text("Customer")
    context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_escalation_list_keys(live_server, browser, screenshot_dir, busy_floor):
    base = live_server.url
    context, page = _sign_in(browser, base, "specialist", viewport={"width": 1280, "height": 800})
    page.goto(f"{base}/escalations/inbox/")
    items = page.locator("tbody.esc-item")

    # discoverable: the hint is on the page, "?" opens the list of keys and closes it again
    hint = page.get_by_text("Keyboard:")
    expect(hint).to_be_visible()
    page.keyboard.press("?")
    expect(page.locator("#kbd-help dl")).to_be_visible()
    page.keyboard.press("?")
    expect(page.locator("#kbd-help dl")).to_be_hidden()

    # j/k move the selection; Enter opens the dossier row
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(items.nth(0)).to_have_class(re.compile("is-selected"))
    expect(page.locator("tbody.esc-item.is-selected")).to_have_count(1)
    page.keyboard.press("j")
    expect(items.nth(1)).to_have_class(re.compile("is-selected"))
    dossier = items.nth(1).locator("tr.esc-dossier-row")
    expect(dossier).to_be_hidden()
    page.keyboard.press("Enter")
    expect(dossier).to_be_visible()
    expect(dossier).to_contain_text(DOSSIER["dossier_problem"])
    page.screenshot(path=screenshot_dir / "inbox-dossier-open.png")

    # keys typed in a text field are text, not commands
    search = page.get_by_role("searchbox", name="Search tickets")
    search.click()
    search.press_sequentially("jka?")
    expect(search).to_have_value("jka?")
    expect(items.nth(1)).to_have_class(re.compile("is-selected"))
    expect(page.locator("#kbd-help dl")).to_be_hidden()
    search.fill("")

    # e opens "escalate further" with its first field focused; typing there stays text
    items.nth(2).locator("td.esc-subject").click()
    page.keyboard.press("Escape")
    page.keyboard.press("e")
    reason = items.nth(2).get_by_label("Why does this need tier 3?")
    expect(reason).to_be_focused()
    page.keyboard.type("needs a manager j k")
    expect(reason).to_have_value("needs a manager j k")

    # a shows the accept confirmation and focuses its button: nothing is sent until it is pressed (a POST)
    page.locator("body").click(position={"x": 5, "y": 790})
    items.nth(1).locator("td.esc-subject").click()
    sent: list[str] = []
    page.on("request", lambda request: sent.append(f"{request.method} {request.url}"))
    page.keyboard.press("a")
    confirm = items.nth(1).get_by_role("button", name="Confirm: accept")
    expect(confirm).to_be_focused()
    expect(items.nth(1).get_by_text("You become the owner and")).to_be_visible()
    assert not any("/accept/" in line for line in sent)
    chosen = busy_floor[1]
    assert Escalation.objects.get(pk=chosen.pk).status == EscalationStatus.OPEN
    page.keyboard.press("Enter")
    expect(page.get_by_text("It is yours now.")).to_be_visible()
    assert [line.split(" ")[0] for line in sent if "/accept/" in line] == ["POST"]
    assert Escalation.objects.get(pk=chosen.pk).status == EscalationStatus.ACCEPTED

    # r goes to the ticket's reply box
    page.goto(f"{base}/escalations/inbox/")
    page.keyboard.press("j")
    reference = page.locator("tbody.esc-item.is-selected .esc-ref").inner_text()
    page.keyboard.press("r")
    expect(page).to_have_url(re.compile(rf"/tickets/{reference}/#composer$"))
    context.close()
