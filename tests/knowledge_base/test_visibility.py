"""A customer never sees internal or unpublished content: not through lists, search, suggestions, counts, panels or
direct URLs. Staff see published internal articles; drafts only their own, editors everything."""

from __future__ import annotations

import pytest
from django.urls import reverse

from knowledge_base.selectors import (
    articles_count_for_user,
    articles_for_ticket,
    articles_search_for_user,
    articles_suggest,
    articles_visible_to,
)

pytestmark = pytest.mark.django_db


def _titles(hits) -> set[str]:
    return {hit.article.title for hit in hits}


def test_customer_search_suggest_and_count_show_public_published_only(kb_set, customer):
    # when
    searched = articles_search_for_user(user=customer, query="refund")
    suggested = articles_suggest(user=customer, text="I need a refund please")
    # then
    assert _titles(searched) == {"Refund for a duplicate charge"}
    assert _titles(suggested) == {"Refund for a duplicate charge"}
    assert articles_count_for_user(user=customer) == 1
    assert set(articles_visible_to(customer)) == {kb_set["public"]}


def test_agent_sees_published_internal_and_own_drafts_only(kb_set, agent):
    # when
    visible = set(articles_visible_to(agent))
    searched = articles_search_for_user(user=agent, query="refund")
    # then
    assert visible == {kb_set["public"], kb_set["internal"], kb_set["agent_draft"]}
    assert _titles(searched) == {"Refund for a duplicate charge", "Refund approval limits"}
    assert articles_count_for_user(user=agent) == 2


def test_editor_sees_everything(kb_set, manager):
    # then
    assert set(articles_visible_to(manager)) == set(kb_set.values())


def test_anonymous_sees_nothing(kb_set):
    from django.contrib.auth.models import AnonymousUser

    # then
    assert not articles_visible_to(AnonymousUser()).exists()


@pytest.mark.parametrize("key", ["internal", "draft", "agent_draft", "review", "archived"])
def test_customer_direct_url_to_hidden_article_is_404(kb_set, customer, login, client, key):
    # given
    login(customer)
    article = kb_set[key]
    # when
    responses = [
        client.get(reverse("kb_article_detail", args=[article.pk])),
        client.get(reverse("kb_article_detail", args=[article.pk]) + "?from=suggest"),
        client.post(reverse("kb_article_vote", args=[article.pk]), {"helpful": "yes"}),
        client.post(reverse("kb_deflection_confirm", args=[article.pk])),
    ]
    # then
    assert [r.status_code for r in responses] == [404, 404, 404, 404]


def test_agent_direct_url_to_someone_elses_draft_is_404(kb_set, agent, login, client):
    # given
    login(agent)
    # when
    draft = client.get(reverse("kb_article_detail", args=[kb_set["draft"].pk]))
    own = client.get(reverse("kb_article_detail", args=[kb_set["agent_draft"].pk]))
    internal = client.get(reverse("kb_article_detail", args=[kb_set["internal"].pk]))
    # then
    assert (draft.status_code, own.status_code, internal.status_code) == (404, 200, 200)


def test_customer_pages_never_show_hidden_titles(kb_set, customer, login, client):
    # given
    login(customer)
    hidden = [kb_set[k].title for k in ("internal", "draft", "agent_draft", "review", "archived")]
    # when
    pages = [
        client.get(reverse("kb_list")),
        client.get(reverse("kb_list"), {"q": "refund"}),
        client.get(reverse("kb_list"), {"q": "refund", "status": "draft"}),
        client.get(reverse("kb_list"), {"status": "draft"}),
        client.get(reverse("kb_suggest"), {"q": "refund limits draft archived review notes"}),
        client.get(reverse("kb_suggest"), {"subject": "refund", "description": "refund approval limits"}),
    ]
    # then
    for page in pages:
        assert page.status_code == 200
        body = page.content.decode()
        for title in hidden:
            assert title not in body
    assert "<mark>Refund</mark> for a duplicate charge" in pages[1].content.decode()
    assert "1 article" in pages[0].content.decode()


def test_ticket_suggestions_respect_the_reader(kb_set, customer, agent, make_ticket):
    # given
    ticket = make_ticket(customer, subject="Refund please", description="I want a refund", category="billing")
    # when
    for_customer = articles_for_ticket(ticket=ticket, user=customer)
    for_agent = articles_for_ticket(ticket=ticket, user=agent)
    # then
    assert _titles(for_customer) == {"Refund for a duplicate charge"}
    assert _titles(for_agent) == {"Refund for a duplicate charge", "Refund approval limits"}


def test_anonymous_is_sent_to_login(kb_set, client):
    # when
    response = client.get(reverse("kb_suggest"), {"q": "refund"})
    # then
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
