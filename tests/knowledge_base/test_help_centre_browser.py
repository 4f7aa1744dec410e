"""End to end in Chromium, without an account: a visitor searches the help centre, opens an article, votes, types a
question in "contact us", opens a suggestion and leaves (a deflection); another visitor sends the form, confirms
their email through the emailed link and gets a ticket. Screenshots at phone, laptop and wide-screen widths."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from helpdesk.models import Notification, NotificationKind, Ticket
from helpdesk.notifications import notification_deliver
from knowledge_base.models import ArticleVisibility, ArticleVote, Deflection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": 390, "laptop": 1280, "wide": 1920}


def _articles(make_article):
    article = make_article(
        title="I was charged twice for the same invoice",
        tags="duplicate charge, refund, card",
        body="A duplicate charge is usually a **pending authorisation** that your bank releases within 5 days.",
    )
    make_article(title="Adding your VAT number to invoices", tags="vat, invoice", body="Enter your VAT number.")
    make_article(title="Planned maintenance windows", category="outage", body="We announce maintenance a week ahead.")
    make_article(
        title="Refund approval limits", body="Charged twice: staff rules.", visibility=ArticleVisibility.INTERNAL
    )
    return article


def test_anonymous_visitor_searches_reads_votes_and_is_deflected(browser, live_server, make_article, screenshot_dir):
    # given
    article = _articles(make_article)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()

    # when: the visitor searches the help centre (no sign-in page on the way)
    page.goto("/help/")
    assert page.locator("h1").inner_text() == "How can we help?"
    page.screenshot(path=screenshot_dir / "1-home-1280.png", full_page=True)
    page.fill("#hc-q", "charged twice")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(lambda url: "q=charged" in url)
    results = page.locator(".hc-results").inner_text()
    # then: the public article is found, the internal one is not
    assert "I was charged twice for the same invoice" in results
    assert "Refund approval limits" not in results
    page.screenshot(path=screenshot_dir / "2-search-1280.png", full_page=True)

    # when: they open it and vote
    page.locator(".hc-results a", has_text="charged twice").click()
    page.wait_for_url(f"**{article.get_help_url()}")
    assert page.locator(".kb-body strong").inner_text() == "pending authorisation"
    assert page.locator('link[rel="canonical"]').get_attribute("href") == (
        f"https://helpdesk.example.test{article.get_help_url()}"
    )
    page.get_by_role("button", name="Yes").click()
    page.locator("#hc-vote", has_text="Thanks, you said yes.").wait_for()
    # then
    assert ArticleVote.objects.get(article=article).visitor
    page.screenshot(path=screenshot_dir / "3-article-voted-1280.png", full_page=True)

    # when: they type a question in "contact us", open a suggestion and leave
    page.goto("/contact/")
    page.locator("#id_description").press_sequentially("My card was charged twice this month", delay=15)
    suggestion = page.locator(".kb-suggest-box a", has_text="charged twice for the same invoice")
    suggestion.wait_for()
    assert "Refund approval limits" not in page.locator(".kb-suggest").inner_text()
    page.screenshot(path=screenshot_dir / "4-contact-suggestions-1280.png", full_page=True)
    with context.expect_page() as opened:
        suggestion.click()
    reading = opened.value
    reading.wait_for_load_state()
    assert reading.locator("h1").inner_text() == "I was charged twice for the same invoice"
    assert reading.get_by_role("button", name="Yes, this solved my problem").is_visible()
    context.close()

    # then: a deflection is recorded for the anonymous visitor
    deflection = Deflection.objects.get()
    assert deflection.article == article and deflection.user is None
    assert deflection.session_key.startswith("visitor:") and deflection.is_deflection
    assert deflection.query == "My card was charged twice this month"


def test_visitor_confirms_their_email_and_gets_a_ticket(browser, live_server, make_article, org, teams, screenshot_dir):
    # given
    _articles(make_article)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()

    # when: the visitor sends the contact form
    page.goto("/contact/")
    page.fill("#id_subject", "Invoice shows the wrong VAT")
    page.fill("#id_description", "The VAT number on my last invoice is not ours.")
    page.select_option("#id_category", label="Billing")
    page.fill("#id_name", "Robin Chen")
    page.fill("#id_email", "robin@northwind.test")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url("**/contact/sent/")
    # then: nothing is opened before the address is confirmed
    assert page.locator("h1").inner_text() == "Check your inbox"
    assert Ticket.objects.count() == 0

    # when: they follow the link in the email and confirm
    row = Notification.objects.get(kind=NotificationKind.HELP_REQUEST_CONFIRM, to_address="robin@northwind.test")
    notification_deliver(notification_id=row.pk)
    body = next(m for m in mail.outbox if m.to == ["robin@northwind.test"]).body
    path = re.search(r"https://helpdesk\.example\.test(/contact/confirm/\S+/)", body).group(1)
    page.goto(path)
    page.screenshot(path=screenshot_dir / "5-confirm-1280.png", full_page=True)
    page.get_by_role("button", name="Confirm and send my request").click()
    page.locator("h1", has_text="your request is with us").wait_for()
    # then: one ticket, for a new customer of the organisation that owns the domain
    ticket = Ticket.objects.get()
    assert page.locator(".hc-reference").inner_text() == ticket.reference
    assert ticket.customer.email == "robin@northwind.test" and ticket.customer.organization == org
    assert ticket.category.slug == "billing"
    page.screenshot(path=screenshot_dir / "6-done-1280.png", full_page=True)

    # when: the link is used again
    page.goto(path)
    # then: it says so, and no second ticket appears
    assert "already confirmed" in page.locator("h1").inner_text()
    assert Ticket.objects.count() == 1
    context.close()


def test_help_centre_pages_at_phone_laptop_and_wide_widths(browser, live_server, make_article, screenshot_dir):
    article = _articles(make_article)
    for name, width in WIDTHS.items():
        context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 900})
        page = context.new_page()
        for label, url in [("home", "/help/"), ("article", article.get_help_url()), ("contact", "/contact/")]:
            page.goto(url)
            # nothing sticks out sideways: the page reads without horizontal scrolling
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, (name, label, overflow)
            page.screenshot(path=screenshot_dir / f"{label}-{name}-{width}.png", full_page=True)
        context.close()
