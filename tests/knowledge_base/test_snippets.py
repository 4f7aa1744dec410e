"""The snippets other screens include (new-ticket suggest widget, before-you-escalate, draft button) and the htmx
search fragment."""

from __future__ import annotations

from html import unescape

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from knowledge_base.selectors import articles_for_escalation

pytestmark = pytest.mark.django_db


def test_suggest_widget_listens_to_the_new_ticket_fields_by_default():
    # when
    html = render_to_string("knowledge_base/_suggest_widget.html")
    # then
    assert 'hx-get="/kb/suggest/"' in html
    assert 'hx-include="#id_subject, #id_description"' in html
    assert (
        'hx-trigger="input changed delay:400ms from:#id_subject, input changed delay:400ms from:#id_description"'
        in html
    )


def test_before_you_escalate_lists_articles_for_the_ticket(make_article, make_ticket, customer, agent):
    # given
    make_article(title="Refund timing", body="Refunds take five days.", tags="refund")
    ticket = make_ticket(customer, subject="Where is my refund?", description="Refund not received.")
    request = RequestFactory().get("/")
    request.user = agent
    # when
    hits = articles_for_escalation(ticket=ticket, user=agent)
    html = render_to_string(
        "knowledge_base/_before_you_escalate.html", {"hits": hits, "ticket": ticket}, request=request
    )
    # then
    assert "Before you escalate" in html and "<mark>Refund</mark> timing" in html


def test_draft_button_posts_to_the_draft_url():
    # given
    class Escalation:
        pk = 7

    # when
    html = render_to_string("knowledge_base/_draft_from_escalation_button.html", {"escalation": Escalation()})
    # then
    assert 'action="/kb/from-escalation/7/"' in html and 'method="post"' in html


def test_htmx_search_returns_only_the_results_fragment(make_article, customer, login, client):
    # given
    make_article(title="Resetting your password", category="billing")
    login(customer)
    # when
    response = client.get(reverse("kb_list"), {"q": "password"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="kb-results")
    # then
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="kb-results"')
    assert "Resetting your <mark>password</mark>" in body and "<html" not in body


def test_before_you_escalate_snippet_is_escaped_exactly_once(make_article, make_ticket, customer, agent, login):
    # given an article whose text has an apostrophe and a literal <b> (a Markdown code span), and a ticket it suits
    make_article(
        title="Refund timing", body="Refunds follow your plan's SLA. Type `<b>` to bold a word.", tags="refund"
    )
    ticket = make_ticket(customer, subject="Where is my refund?", description="Refund not received.")
    # when the agent opens the escalate form
    html = login(agent).get(reverse("escalation_new", args=[ticket.reference])).content.decode()
    # then the snippet is escaped once: the browser shows the apostrophe and "<b>" as text, never entities
    section = html.split('id="kb-h"', 1)[1].split("</section>", 1)[0]
    snippet_html = section.split('<small class="muted">', 1)[1].split("</small>", 1)[0]
    # (PostgreSQL's ts_headline ends a fragment on a word, so the final full stop may be cut)
    assert snippet_html.startswith("Refunds follow your plan&#x27;s SLA. Type &lt;b&gt; to bold a word")
    assert unescape(snippet_html).startswith("Refunds follow your plan's SLA. Type <b> to bold a word")
    assert "&amp;" not in snippet_html
