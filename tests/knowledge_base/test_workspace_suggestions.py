"""The workspace's suggested-articles panel loads after the page: the workspace GET never ranks articles, and the
panel's own endpoint shows the same articles the panel showed in the page, to exactly those who may see the ticket."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpdesk import panels
from helpdesk.models import Ticket
from knowledge_base.models import ArticleVisibility
from knowledge_base.panels import kb_panel_context

pytestmark = pytest.mark.django_db

ARTICLE_LINK = re.compile(r'href="/kb/articles/(\d+)/" target="_blank"')


@pytest.fixture
def charged_twice(make_article, make_ticket, customer):
    articles = [
        make_article(title="I was charged twice", tags="duplicate charge, refund", body="Pending authorisation."),
        make_article(
            title="Refund limits for duplicate charges",
            body="Up to 50 pounds.",
            visibility=ArticleVisibility.INTERNAL,
        ),
        make_article(title="Adding a VAT number", body="Open Billing, then Details."),
        make_article(title="Resetting a password", category="outage", body="Use the reset link."),
    ]
    ticket = make_ticket(customer, subject="Charged twice this month", description="Duplicate charge on my card.")
    return ticket, articles


@pytest.fixture
def eager_panel(monkeypatch):
    """The panel as the workspace rendered it before it loaded lazily: ranked during the workspace request."""
    monkeypatch.setitem(
        panels._PANELS,
        "kb_suggestions",
        panels.Panel(
            name="kb_suggestions",
            template="knowledge_base/_panel.html",
            context=kb_panel_context,
            audience="all",
            order=60,
        ),
    )


def _suggestions_url(ticket):
    return reverse("kb_ticket_suggestions", args=[ticket.reference])


def _workspace(client, ticket):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("ticket_detail", args=[ticket.reference]))
        html = response.content.decode()
    assert response.status_code == 200
    return html, [query["sql"] for query in queries.captured_queries]


def test_the_workspace_paints_a_placeholder_without_ranking_articles(charged_twice, agent, login, client):
    # given
    ticket, _ = charged_twice
    login(agent)
    # when
    html, queries = _workspace(client, ticket)
    # then: no query reads the knowledge base, and the panel is a placeholder that loads the ranked one
    assert [sql for sql in queries if "knowledge_base_" in sql] == []
    url = _suggestions_url(ticket)
    assert f'hx-get="{url}" hx-trigger="load" hx-swap="outerHTML"' in html
    assert "Finding articles…" in html
    assert f'<noscript><p><a href="{url}">Show the suggested articles</a></p></noscript>' in html
    assert ARTICLE_LINK.findall(html) == []


def test_the_workspace_makes_fewer_queries_than_with_the_panel_in_the_page(
    charged_twice, agent, login, client, monkeypatch
):
    # given
    ticket, _ = charged_twice
    login(agent)
    _, lazy = _workspace(client, ticket)
    # when
    monkeypatch.setitem(
        panels._PANELS,
        "kb_suggestions",
        panels.Panel(
            name="kb_suggestions", template="knowledge_base/_panel.html", context=kb_panel_context, audience="all"
        ),
    )
    _, eager = _workspace(client, ticket)
    # then
    ranking = [sql for sql in eager if "knowledge_base_article" in sql]
    assert ranking
    assert len(lazy) == len(eager) - len([sql for sql in eager if "knowledge_base_" in sql])


def test_the_endpoint_shows_the_articles_the_panel_showed_in_the_page(charged_twice, agent, login, client, eager_panel):
    # given: the articles as the workspace listed them when it ranked them itself
    ticket, articles = charged_twice
    login(agent)
    before, _ = _workspace(client, ticket)
    # when
    fragment = client.get(_suggestions_url(ticket), headers={"HX-Request": "true"})
    page = client.get(_suggestions_url(ticket))
    # then: same ids in the same order, internal articles included for staff, with the staff tools
    shown = ARTICLE_LINK.findall(before)
    assert shown[:2] == [str(articles[0].pk), str(articles[1].pk)]
    assert ARTICLE_LINK.findall(fragment.content.decode()) == shown
    assert ARTICLE_LINK.findall(page.content.decode()) == shown
    body = fragment.content.decode()
    assert body.lstrip().startswith('<section class="card kb-panel"') and "<html" not in body
    assert "<mark>charged</mark> <mark>twice</mark>" in body
    assert reverse("kb_article_insert", args=[articles[0].pk, ticket.reference]) + "?what=link" in body
    assert reverse("kb_article_use", args=[articles[1].pk, ticket.reference]) in body
    assert (
        "<html" in page.content.decode() and reverse("ticket_detail", args=[ticket.reference]) in page.content.decode()
    )
    assert "HX-Request" in fragment["Vary"] and "HX-Request" in page["Vary"]


def test_the_endpoint_reads_and_changes_nothing_else(charged_twice, agent, login, client):
    # given
    ticket, _ = charged_twice
    login(agent)
    version, events = ticket.version, ticket.events.count()
    # when
    posted = client.post(_suggestions_url(ticket))
    got = client.get(_suggestions_url(ticket), headers={"HX-Request": "true"})
    # then
    assert (posted.status_code, got.status_code) == (405, 200)
    ticket.refresh_from_db()
    assert (ticket.version, ticket.events.count()) == (version, events)


def test_the_endpoint_is_404_for_whoever_cannot_see_the_ticket(
    make_ticket, customer, customer2, agent, compliance_officer, teams, login, client
):
    # given: a restricted request handled by compliance
    ticket = make_ticket(customer, subject="GDPR erasure", category="data-privacy")
    Ticket.objects.filter(pk=ticket.pk).update(restricted=True, team=teams["compliance"])
    url = _suggestions_url(ticket)
    # when
    statuses = {}
    people = {"agent": agent, "customer2": customer2, "customer": customer, "compliance": compliance_officer}
    for name, user in people.items():
        login(user)
        statuses[name] = client.get(url, headers={"HX-Request": "true"}).status_code
    missing = client.get(reverse("kb_ticket_suggestions", args=["HD-1999-000001"])).status_code
    # then: an agent outside the team and another customer get the workspace's 404; the raiser is no staff member
    assert statuses == {"agent": 404, "customer2": 404, "customer": 403, "compliance": 200}
    assert missing == 404


def test_the_customer_ticket_page_still_shows_its_articles_at_once(charged_twice, customer, login, client):
    # given
    ticket, articles = charged_twice
    login(customer)
    # when
    html = client.get(reverse("ticket_detail", args=[ticket.reference])).content.decode()
    # then: public articles only, rendered in the page (a customer has no suggestions endpoint)
    assert "Articles that may help" in html and "hx-get" not in html.split("kb-panel", 1)[1][:300]
    assert str(articles[1].pk) not in ARTICLE_LINK.findall(html)
    assert str(articles[0].pk) in ARTICLE_LINK.findall(html)
