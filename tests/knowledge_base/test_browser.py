"""End to end in Chromium: a customer describes a problem, opens a suggested article and leaves (a deflection);
another customer submits anyway; the agent sees the same article suggested in the workspace and inserts its link."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

import pytest

from knowledge_base.models import ArticleVisibility, Deflection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(browser, live_server, user):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "pw-" + user.username)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    return context, page


def test_suggestion_deflects_one_customer_and_helps_the_agent_of_another(
    browser, live_server, make_article, customer, customer2, agent, screenshot_dir
):
    # given
    article = make_article(
        title="I was charged twice for the same invoice",
        tags="duplicate charge, refund, card",
        body="A duplicate charge is usually a **pending authorisation** that your bank releases within 5 days.",
    )
    make_article(title="Adding your VAT number to invoices", tags="vat, invoice", body="Enter your VAT number.")
    make_article(title="Refund policy", body="Internal refund rules.", visibility=ArticleVisibility.INTERNAL)

    # when: the first customer describes the problem in the help centre and opens the suggestion
    context, page = _sign_in(browser, live_server, customer)
    page.goto("/kb/")
    page.locator("#kb-describe").press_sequentially("My card was charged twice this month", delay=15)
    suggestion = page.locator(".kb-suggest-box a", has_text="charged twice for the same invoice")
    suggestion.wait_for()
    page.screenshot(path=screenshot_dir / "1-customer-suggestions.png", full_page=True)
    assert "Refund policy" not in page.content()
    with context.expect_page() as opened:
        suggestion.click()
    reading = opened.value
    reading.wait_for_load_state()
    assert reading.locator("h1").inner_text() == "I was charged twice for the same invoice"
    assert reading.locator(".kb-body strong").inner_text() == "pending authorisation"
    reading.screenshot(path=screenshot_dir / "2-customer-reads-article.png", full_page=True)
    context.close()  # ... and leaves without sending a request

    # then: a deflection is recorded
    deflection = Deflection.objects.get(user=customer)
    assert deflection.article == article and deflection.is_deflection
    assert deflection.query == "My card was charged twice this month"

    # when: another customer reads the same suggestion but submits a request anyway
    context2, page2 = _sign_in(browser, live_server, customer2)
    page2.goto("/kb/")
    page2.locator("#kb-describe").press_sequentially("charged twice on my card", delay=15)
    suggestion2 = page2.locator(".kb-suggest-box a", has_text="charged twice for the same invoice")
    suggestion2.wait_for()
    with context2.expect_page() as opened2:
        suggestion2.click()
    opened2.value.close()
    page2.goto("/tickets/new/")
    page2.fill("#id_subject", "Charged twice this month")
    page2.select_option("#id_category", label="Billing")
    page2.fill("#id_description", "My card shows a duplicate charge for the same invoice.")
    page2.get_by_role("button", name="Send request").click()
    page2.wait_for_url(lambda url: "/tickets/HD-" in url)
    reference = page2.url.rstrip("/").split("/")[-1]
    context2.close()

    # then: that open is not a deflection
    assert Deflection.objects.get(user=customer2).ticket.reference == reference

    # when: the agent opens the ticket
    context3, page3 = _sign_in(browser, live_server, agent)
    page3.goto(f"/tickets/{reference}/")
    panel = page3.locator(".kb-panel")
    panel.locator(".kb-panel-list").wait_for()  # the panel loads after the page
    # then: the same article is suggested, and "Insert link" puts it into the reply
    assert "I was charged twice for the same invoice" in panel.inner_text()
    panel.locator("[data-kb-insert=link]").first.click()
    reply = page3.locator(".reply-form textarea[name=body]").input_value()
    assert reply == (
        "This article explains it: I was charged twice for the same invoice\n"
        "https://helpdesk.example.test/help/billing/i-was-charged-twice-for-the-same-invoice/"
    )
    page3.screenshot(path=screenshot_dir / "3-agent-workspace-panel.png", full_page=True)
    context3.close()


def test_editor_pages_in_the_browser(
    browser, live_server, make_article, make_ticket, customer, agent, manager, screenshot_dir
):
    # given: a poorly rated, never reviewed article, a pending proposal and an agent's draft
    from knowledge_base.models import Article
    from knowledge_base.services import article_vote, proposal_create

    article = make_article(title="Checking the service status", body="See the **status page**.", owner=manager)
    article_vote(article=article, user=customer, helpful=False)
    article_vote(article=article, user=agent, helpful=False)
    article_vote(article=article, user=manager, helpful=True)
    Article.objects.filter(pk=article.pk).update(last_reviewed_at=None)
    proposal_create(article=article, author=agent, kind="edit", proposed_body="See the status page at status.example.")
    make_article(title="Agent notes on refunds", status="draft", owner=agent)

    # when
    context, page = _sign_in(browser, live_server, manager)
    page.goto("/kb/health/")
    # then
    assert "1 of 3 found it helpful" in page.locator("#low-h + ul").inner_text()
    assert "never reviewed" in page.locator("#stale-h + ul").inner_text()
    page.screenshot(path=screenshot_dir / "1-health.png", full_page=True)

    # when: the owner accepts the proposal from the review queue
    page.goto("/kb/review/")
    page.screenshot(path=screenshot_dir / "2-review-queue.png", full_page=True)
    page.get_by_role("button", name="Accept (new revision)").click()
    page.wait_for_url(lambda url: url.endswith("/kb/review/"))
    # then
    assert "Proposal accepted." in page.locator(".messages").inner_text()
    page.goto(f"/kb/articles/{article.pk}/")
    assert page.locator(".kb-body").inner_text() == "See the status page at status.example."
    page.screenshot(path=screenshot_dir / "3-article-staff.png", full_page=True)
    page.goto("/kb/")
    page.screenshot(path=screenshot_dir / "4-kb-list-editor.png", full_page=True)
    page.locator("#id_q").press_sequentially("status page", delay=10)
    page.locator("#kb-results h2", has_text="Results for").wait_for()
    assert "status page" in page.locator(".kb-hit .kb-snippet").first.inner_text()
    page.screenshot(path=screenshot_dir / "5-kb-search-as-you-type.png", full_page=True)
    page.goto("/kb/articles/new/")
    page.screenshot(path=screenshot_dir / "6-new-article.png", full_page=True)
    context.close()


def test_workspace_loads_the_suggestions_after_the_page_with_one_request(
    browser, live_server, make_article, make_ticket, customer, agent, screenshot_dir
):
    # given
    article = make_article(title="I was charged twice", tags="duplicate charge", body="A pending authorisation.")
    internal = make_article(title="Refund limits", body="Duplicate charge refunds.", visibility="internal")
    ticket = make_ticket(customer, subject="Charged twice this month", description="A duplicate charge.")
    context, page = _sign_in(browser, live_server, agent)
    requests: list[tuple[str, str]] = []
    page.on("request", lambda request: requests.append((request.method, urlsplit(request.url).path)))
    # when
    page.goto(f"/tickets/{ticket.reference}/")
    panel = page.locator(".kb-panel")
    panel.locator(".kb-panel-list").wait_for()
    page.wait_for_load_state("networkidle")
    # then: the ranked panel replaced the placeholder, staff tools and internal articles included
    assert panel.count() == 1
    assert "Finding articles" not in panel.inner_text()
    titles = panel.locator(".kb-panel-list > li > a").all_inner_texts()
    assert titles == ["I was charged twice", "Refund limits"]
    assert panel.locator("[data-kb-insert=link]").count() == 1
    # and: the page, the presence post, one suggestions request and the navigation's saved views once; the panel's
    # stylesheet and script once each
    # (the push stream's own requests are counted by tests/helpdesk/screens/test_live_browser.py; under this WSGI test
    # server it answers 204 and the client retries with back-off, so how many fall in this window is not the point)
    pages = Counter(request for request in requests if not request[1].startswith(("/static/", "/live/stream/")))
    assert pages == Counter(
        {
            ("GET", f"/tickets/{ticket.reference}/"): 1,
            ("POST", f"/tickets/{ticket.reference}/presence/"): 1,
            ("GET", f"/kb/tickets/{ticket.reference}/suggestions/"): 1,
            ("GET", "/queue/views/nav/"): 1,
        }
    )
    assets = Counter(path.rsplit("/", 1)[-1] for _, path in requests if "/knowledge_base/" in path)
    assert assets == Counter({"kb.css": 1, "kb.js": 1})
    # and: inserting a suggested link still fills the reply box
    panel.locator("[data-kb-insert=link]").click()
    assert page.locator(".reply-form textarea[name=body]").input_value().endswith(f"/help/billing/{article.slug}/")
    page.screenshot(path=screenshot_dir / "1-workspace-suggestions-loaded.png", full_page=True)
    context.close()

    # when: JavaScript is off
    plain = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = plain.new_page()
    page.goto("/login/")
    page.fill("input[name=username]", agent.username)
    page.fill("input[name=password]", "pw-" + agent.username)
    page.click("button[type=submit]")
    page.goto(f"/tickets/{ticket.reference}/")
    page.get_by_role("link", name="Show the suggested articles").click()
    # then: the same suggestions as a page of their own
    page.wait_for_url(f"**/kb/tickets/{ticket.reference}/suggestions/")
    assert page.locator(".kb-panel-list > li > a").all_inner_texts() == ["I was charged twice", internal.title]
    page.screenshot(path=screenshot_dir / "2-suggestions-without-javascript.png", full_page=True)
    plain.close()
