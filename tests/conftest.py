"""Shared fixtures: the broker, role fixtures built through the real services, and the browser.

Broker: with ``CELERY_BROKER_URL`` unset, the session starts the embedded Redis on its own socket (never the one
``make run`` uses); with it set (CI's second pass), the real Redis is used.

Browser: Playwright drives Debian's Chromium (``shutil.which("chromium")``). Without it the browser tests are
skipped with one clear line; under ``CI=true`` a missing browser is an error.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from helpdesk import embedded_broker

ROOT = Path(__file__).resolve().parent.parent
TEST_VAR = ROOT / "var"
CHROMIUM = shutil.which("chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
NO_BROWSER_REASON = "browser tests skipped: Debian's chromium is not installed (apt-get install -y chromium)"

# Playwright's sync API runs an event loop in the test thread; Django's ORM is still used synchronously there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _broker_url() -> str:
    return os.environ.get("CELERY_BROKER_URL") or f"redis+socket://{TEST_VAR / 'test-redis.sock'}"


@pytest.fixture(scope="session", autouse=True)
def celery_broker():
    """The real broker for the whole session (embedded Redis unless CELERY_BROKER_URL is set)."""
    from helpdesk.celery import app

    proc = None
    url = _broker_url()
    if url.startswith("redis+socket://"):
        proc = embedded_broker.start(url.removeprefix("redis+socket://"))
    app.conf.broker_url = url
    yield url
    embedded_broker.stop(proc)


def pytest_report_header(config):
    if CHROMIUM:
        return f"browser: {CHROMIUM}"
    return NO_BROWSER_REASON + (" — and CI=true, so they will FAIL" if IN_CI else "")


def pytest_collection_modifyitems(config, items):
    if CHROMIUM or IN_CI:
        return
    skip = pytest.mark.skip(reason=NO_BROWSER_REASON)
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM:
        pytest.fail("CI=true but Debian's chromium is not installed: browser tests cannot run.")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


# Runs in every page before its own scripts (injected by the browser, so our CSP does not apply to it): each
# violation is echoed to the console, where the fixture below collects it together with Chromium's own report.
_CSP_VIOLATION_ECHO = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || location.href}:${event.lineNumber} ${event.sample || ""}`);
});
"""


def _is_csp_violation(text: str) -> bool:
    return text.startswith("CSP violation:") or "Content Security Policy" in text


@pytest.fixture(autouse=True)
def _default_language_between_tests():
    """Each test starts in the default language: a request by a user who chose French activates French for the thread
    (``helpdesk.locale.UserLocaleMiddleware``, as Django's ``LocaleMiddleware`` does), and code run outside a request
    afterwards (an inbound email, a task run eagerly) would otherwise speak it in the next test."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def csp_violations(request, monkeypatch):
    """Browser tests fail (at teardown) if any page reported a Content-Security-Policy violation.

    Every context the test opens (``page``/``context`` and ``browser.new_context(...)`` alike) is watched: the console
    messages of all its pages are collected, and a ``securitypolicyviolation`` listener echoes each violation there
    (which also catches those Chromium does not log itself). The list is yielded for tests that want to look.
    """
    seen: list[str] = []
    if "browser" not in request.keywords:
        yield seen
        return
    browser = request.getfixturevalue("browser")
    original_new_context = browser.new_context

    def watched_new_context(*args, **kwargs):
        context = original_new_context(*args, **kwargs)
        context.add_init_script(script=_CSP_VIOLATION_ECHO)
        context.on("console", lambda message: seen.append(f"[{message.type}] {message.text} ({message.location})"))
        return context

    monkeypatch.setattr(browser, "new_context", watched_new_context)
    yield seen
    violations = [line for line in seen if _is_csp_violation(line.split("] ", 1)[-1])]
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations), pytrace=False)


@pytest.fixture
def screenshot_dir(request) -> Path:
    """Where a browser test saves its screenshots: test-results/<test name>/."""
    path = ROOT / "test-results" / request.node.name.replace("[", "-").replace("]", "")
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- role fixtures -------------------------------------------------------------------------------------------


@pytest.fixture
def plans(db):
    from helpdesk.models import Plan

    return {
        "basic": Plan.objects.create(code="basic", name="Basic", rank=1),
        "pro": Plan.objects.create(code="pro", name="Pro", rank=2),
        "enterprise": Plan.objects.create(code="enterprise", name="Enterprise", rank=3),
    }


@pytest.fixture
def org(plans):
    from helpdesk.models import Organization

    return Organization.objects.create(name="Northwind", plan=plans["enterprise"], email_domain="northwind.test")


@pytest.fixture
def org2(plans):
    from helpdesk.models import Organization

    return Organization.objects.create(name="Bluebird", plan=plans["basic"], email_domain="bluebird.test")


@pytest.fixture
def categories(db):
    from helpdesk.models import Category

    return {
        slug: Category.objects.create(name=name, slug=slug)
        for name, slug in [("Billing", "billing"), ("Outage", "outage"), ("Data & privacy", "data-privacy")]
    }


def _make_user(username: str, role: str, **extra):
    from helpdesk.models import User

    user = User.objects.create_user(
        username=username, password="pw-" + username, role=role, email=f"{username}@example.test", **extra
    )
    return user


@pytest.fixture
def customer(org):
    return _make_user("customer", "customer", organization=org, first_name="Dana", last_name="Reyes")


@pytest.fixture
def customer2(org2):
    return _make_user("customer2", "customer", organization=org2, first_name="Sam", last_name="Patel")


@pytest.fixture
def teams(categories):
    from helpdesk.models import Team

    frontline = Team.objects.create(name="Frontline", slug="frontline", tier=1)
    frontline.categories.set(categories.values())
    technical = Team.objects.create(name="Technical", slug="technical", tier=2)
    technical.categories.set([categories["outage"]])
    compliance = Team.objects.create(name="Compliance", slug="compliance", tier=2)
    compliance.categories.set([categories["data-privacy"]])
    managers = Team.objects.create(name="Managers", slug="managers", tier=3)
    return {"frontline": frontline, "technical": technical, "compliance": compliance, "managers": managers}


@pytest.fixture
def agent(teams):
    from helpdesk.models import TeamMembership

    user = _make_user("agent", "agent", first_name="Alex", last_name="Morgan")
    TeamMembership.objects.create(team=teams["frontline"], user=user, is_lead=True)
    return user


@pytest.fixture
def agent2(teams):
    from helpdesk.models import TeamMembership

    user = _make_user("agent2", "agent", first_name="Jordan", last_name="Lee")
    TeamMembership.objects.create(team=teams["frontline"], user=user)
    return user


@pytest.fixture
def specialist(teams):
    from helpdesk.models import TeamMembership

    user = _make_user("specialist", "specialist", first_name="Priya", last_name="Shah")
    TeamMembership.objects.create(team=teams["technical"], user=user, is_lead=True)
    return user


@pytest.fixture
def compliance_officer(teams):
    from helpdesk.models import TeamMembership

    user = _make_user("compliance", "specialist", first_name="Cora", last_name="Ng")
    TeamMembership.objects.create(team=teams["compliance"], user=user, is_lead=True)
    return user


@pytest.fixture
def manager(teams):
    from helpdesk.models import TeamMembership

    user = _make_user("manager", "manager", first_name="Morgan", last_name="Blake")
    TeamMembership.objects.create(team=teams["managers"], user=user, is_lead=True)
    return user


@pytest.fixture
def admin_user(db):
    return _make_user("admin", "admin", is_staff=True, is_superuser=True)


@pytest.fixture
def make_ticket(categories, teams):
    """Create tickets through the real service: ``make_ticket(customer, subject=..., category="billing")``."""
    from helpdesk.services import ticket_create

    def make(customer, *, subject="Printer on fire", description="It is on fire.", category="billing", **kwargs):
        return ticket_create(
            customer=customer,
            subject=subject,
            description=description,
            category=categories[category] if isinstance(category, str) else category,
            **kwargs,
        )

    return make


# --- escalations through the real services ------------------------------------------------------------------


@pytest.fixture
def config(teams):
    """The shipped escalation paths, playbooks and approval limits."""
    from escalations.defaults import escalation_config_ensure

    escalation_config_ensure()


@pytest.fixture
def dossier():
    return {
        "reason": "Needs access to the billing gateway logs.",
        "dossier_problem": "The customer was charged twice for invoice INV-1.",
        "dossier_tried": "Checked the invoice; refund button is greyed out.",
        "dossier_desired_outcome": "A refund of the duplicate charge today.",
        "dossier_mood": "frustrated",
    }


@pytest.fixture
def escalate(dossier):
    """``escalate(ticket, actor, type="technical", mode="functional", **overrides)`` through the real service."""
    from escalations.services import escalation_create

    def do(ticket, actor, escalation_type="technical", mode="functional", **overrides):
        return escalation_create(
            ticket=ticket, actor=actor, escalation_type=escalation_type, mode=mode, **{**dossier, **overrides}
        )

    return do


@pytest.fixture
def login(client):
    """``login(user)`` logs the test client in (fixtures use the password ``pw-<username>``)."""

    def do(user, c=None):
        c = c or client
        assert c.login(username=user.username, password="pw-" + user.username)
        return c

    return do


@pytest.fixture
def clean_live():
    """No push frames or online users left over from another test in the session's Redis (the live tests and the
    browser tests that hold a stream use it); yields the Redis connection."""
    from helpdesk.live import broker

    conn = broker.client()
    for key in conn.scan_iter("live:*"):
        conn.delete(key)
    yield conn
    for key in conn.scan_iter("live:*"):
        conn.delete(key)
