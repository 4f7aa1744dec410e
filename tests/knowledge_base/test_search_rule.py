"""One search rule: the help centre, the portal's and contact form's suggestions, staff search, the API and the
workspace's suggestions all rank through ``knowledge_base.search.articles_search``, so they agree on what matches and
in which order, and internal articles reach only staff. Their query counts do not grow with the data."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from helpdesk import services
from knowledge_base import selectors
from knowledge_base.models import ArticleVisibility
from knowledge_base.search import articles_search

pytestmark = pytest.mark.django_db

QUERY = "charged twice refund"


@pytest.fixture
def refunds(make_article):
    make_article(title="I was charged twice", tags="duplicate charge, refund", body="A pending authorisation.")
    make_article(title="Refunds take five days", body="Your bank shows the refund within five days.")
    make_article(title="Card charged in another currency", category="outage", body="Conversion fees explained.")
    make_article(title="Refund limits for agents", body="Twice the plan fee.", visibility=ArticleVisibility.INTERNAL)
    make_article(title="Resetting a password", body="Use the reset link.")


def _titles(hits) -> list[str]:
    return [hit.article.title for hit in hits]


def test_every_search_surface_agrees_and_internal_articles_reach_only_staff(refunds, customer, agent):
    # given the one rule applied to what customers may read
    public = _titles(articles_search(queryset=selectors.articles_public(), query=QUERY, limit=20))
    # when each surface searches
    surfaces = {
        "help centre": _titles(selectors.help_articles_search(query=QUERY)),
        "contact-form suggestions (anonymous)": _titles(selectors.articles_suggest(user=None, text=QUERY, limit=20)),
        "portal suggestions": _titles(selectors.articles_suggest(user=customer, text=QUERY, limit=20)),
        "customer's search": _titles(selectors.articles_search_for_user(user=customer, query=QUERY)),
    }
    staff = _titles(selectors.articles_search_for_user(user=agent, query=QUERY))
    # then customers and anonymous readers get exactly the public ranking
    assert public[0] == "I was charged twice"
    assert sorted(public) == ["Card charged in another currency", "I was charged twice", "Refunds take five days"]
    assert surfaces == dict.fromkeys(surfaces, public)
    # and staff get the same order with the internal article among it, which no customer surface shows
    assert "Refund limits for agents" in staff
    assert [title for title in staff if title != "Refund limits for agents"] == public


def test_the_api_and_the_workspace_suggestions_rank_like_the_selectors(refunds, customer, agent, login, client):
    # given a ticket without a category (no category boost), in the words of the query
    ticket = services.ticket_create(customer=customer, subject="Charged twice", description="Please refund.")
    # when the customer searches the API and the agent loads the workspace's suggestions
    login(customer)
    api = client.get(reverse("api:kb-article-list"), {"search": QUERY}).json()
    login(agent)
    panel = client.get(reverse("kb_ticket_suggestions", args=[ticket.reference]), headers={"HX-Request": "true"})
    # then the API lists the help centre's ranking, and the panel the agent's own suggestions for the ticket's text
    assert [row["title"] for row in api["results"]] == _titles(selectors.help_articles_search(query=QUERY))
    expected = selectors.articles_suggest(user=agent, text=f"{ticket.subject} {ticket.description}")
    html = panel.content.decode()
    positions = [html.index(f'href="/kb/articles/{hit.article.pk}/"') for hit in expected]
    assert positions == sorted(positions)
    assert "Refund limits for agents" in [hit.article.title for hit in expected]  # staff see internal articles


def _queries(assert_max, budget: int, client, method: str, url: str, **kwargs) -> int:
    with assert_max(budget) as captured:
        response = getattr(client, method)(url, **kwargs)
        response.content  # noqa: B018 (render the TemplateResponse)
    assert response.status_code == 200, url
    return len(captured.captured_queries)


def _grow(*, make_article, customer, agent, ticket, n: int) -> None:
    """More of everything a workspace or a search reads: articles (on another subject, so that the query needs the
    same match stages, see below), the customer's other tickets, timeline events."""
    for i in range(n):
        make_article(title=f"Printer setup {i}", body=f"Install driver {i} first.", tags="printer")
        services.ticket_create(customer=customer, subject=f"Printer jam {i}", description="Paper stuck.")
        services.ticket_add_internal_note(ticket=ticket, author=agent, body=f"Checked the card, step {i}.")


def test_opening_a_ticket_and_searching_run_the_same_queries_at_two_data_sizes(
    refunds, make_article, customer, agent, login, client, django_assert_max_num_queries
):
    # given
    ticket = services.ticket_create(customer=customer, subject="Charged twice", description="Please refund.")
    htmx = {"headers": {"HX-Request": "true"}}
    pages = [
        (WORKSPACE_QUERIES, "get", reverse("ticket_detail", args=[ticket.reference]), {}),
        (PRESENCE_QUERIES, "post", reverse("ticket_presence", args=[ticket.reference]), htmx),
        (KB_SUGGESTIONS_QUERIES, "get", reverse("kb_ticket_suggestions", args=[ticket.reference]), htmx),
    ]
    searches = [
        (HELP_SEARCH_QUERIES, "get", reverse("help") + "?q=charged+twice+refund", {}),
        (HELP_SUGGEST_QUERIES, "get", reverse("help_suggest") + "?subject=charged+twice&description=refund", htmx),
    ]

    def counts() -> list[int]:
        cache.clear()  # the help centre's per-address rate limits count these requests too
        login(agent)
        opened = [_queries(django_assert_max_num_queries, budget, client, m, url, **kw) for budget, m, url, kw in pages]
        client.logout()
        return opened + [
            _queries(django_assert_max_num_queries, budget, client, m, url, **kw) for budget, m, url, kw in searches
        ]

    counts()  # the first opening records the agent's presence; later ones update it
    small = counts()
    # when there is more of everything
    _grow(make_article=make_article, customer=customer, agent=agent, ticket=ticket, n=6)
    # then each page runs within its pinned budget, and exactly as many queries as before
    assert counts() == small


# The pinned budgets. A search runs one query per match stage it needs (all the terms, all but one, two, any: at
# most four, ``knowledge_base.search.match_stages``), so its count depends on the query, never on the data's size.
# With the incident panel: the ticket's link, then the open incidents to offer; and the ticket's tags (one query).
WORKSPACE_QUERIES = 27
PRESENCE_QUERIES = 13  # with the typing state (helpdesk 0023) read with the viewers
KB_SUGGESTIONS_QUERIES = 9  # session, user, the ticket, up to 4 stages, the category's best articles, used articles
HELP_SEARCH_QUERIES = 6  # topics, counts, up to 4 stages
HELP_SUGGEST_QUERIES = 4  # up to 4 stages
