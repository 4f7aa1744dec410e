"""The public help centre for anonymous readers: visibility, stable URLs, votes, sitemap, query counts, and the
contact form's confirmation link (valid once, expired, tampered, threading into a known customer)."""

from __future__ import annotations

import re
from datetime import timedelta
from xml.etree import ElementTree

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from helpdesk.models import Notification, NotificationKind, Ticket, User
from helpdesk.notifications import notification_deliver
from knowledge_base.models import ArticleVisibility, ArticleVote, Deflection, HelpRequest
from knowledge_base.selectors import deflection_stats
from knowledge_base.services import DEFLECTION_WINDOW, article_update

pytestmark = pytest.mark.django_db

SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _canonical(html: str) -> str:
    match = re.search(r'<link rel="canonical" href="([^"]+)">', html)
    assert match, "no canonical link"
    return match.group(1)


# --- reading ------------------------------------------------------------------------------------------------------


def test_anonymous_reader_opens_a_public_article_at_its_readable_url(kb_set, client):
    # given
    article = kb_set["public"]
    # when
    response = client.get("/help/billing/refund-for-a-duplicate-charge/")
    # then
    assert article.slug == "refund-for-a-duplicate-charge"
    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1 id="kb-title">Refund for a duplicate charge</h1>' in html
    assert _canonical(html) == "https://helpdesk.example.test/help/billing/refund-for-a-duplicate-charge/"
    assert "Content-Security-Policy" in response.headers
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("kind", ["internal", "draft", "agent_draft", "review", "archived"])
def test_articles_customers_may_not_see_are_404_for_anonymous_readers(kb_set, client, kind):
    article = kb_set[kind]
    assert client.get(f"/help/billing/{article.slug}/").status_code == 404
    assert client.post(f"/help/billing/{article.slug}/vote/", {"helpful": "yes"}).status_code == 404
    assert not ArticleVote.objects.filter(article=article).exists()


def test_internal_articles_are_absent_from_search_counts_topics_and_suggestions(kb_set, client):
    # when
    search = client.get("/help/", {"q": "refund"}).content.decode()
    home = client.get("/help/").content.decode()
    topic = client.get("/help/billing/").content.decode()
    suggest = client.get("/contact/suggest/", {"subject": "refund", "description": "refund limits"}).content.decode()
    # then: only the one public article, everywhere
    for html in (search, home, topic, suggest):
        assert "/help/billing/refund-for-a-duplicate-charge/" in html
        for kind in ("internal", "draft", "agent_draft", "review", "archived"):
            assert f"/{kb_set[kind].slug}/" not in html, (kind, html)
        assert "for staff only" not in html and "Unfinished" not in html
    assert "1 article found." in search
    assert "1 article in 1 topic." in home
    assert "/help/billing/refund-for-a-duplicate-charge/?from=suggest" in suggest


def test_a_topic_with_only_internal_articles_is_not_shown(make_article, client):
    make_article(title="Outage runbook", category="outage", visibility=ArticleVisibility.INTERNAL)
    assert client.get("/help/outage/").status_code == 404
    assert "Outage" not in client.get("/help/").content.decode()


def test_the_slug_survives_a_rename_and_a_moved_article_redirects_to_its_canonical_url(
    make_article, manager, categories, client
):
    # given
    article = make_article(title="Updating your card")
    # when: renamed and moved to another topic
    article_update(
        article=article,
        actor=manager,
        title="Changing the card we charge",
        body=article.body,
        category=categories["outage"],
        visibility=article.visibility,
        tags="",
    )
    # then: the old address still leads there, permanently
    old = client.get("/help/billing/updating-your-card/", {"from": "suggest"})
    assert old.status_code == 301
    assert old["Location"] == "/help/outage/updating-your-card/?from=suggest"
    assert client.get("/help/outage/updating-your-card/").status_code == 200


def test_slugs_are_unique_across_articles(make_article):
    first = make_article(title="Reset your password")
    second = make_article(title="Reset your password", category="outage")
    assert (first.slug, second.slug) == ("reset-your-password", "reset-your-password-2")


def test_unknown_topic_and_article_are_404_not_500(client, kb_set):
    assert client.get("/help/no-such-topic/").status_code == 404
    assert client.get("/help/billing/no-such-article/").status_code == 404
    assert client.get("/help/", {"category": "nope", "q": "x"}).status_code == 200


# --- query counts ---------------------------------------------------------------------------------------------


def _many_articles(make_article, n: int) -> None:
    for i in range(n):
        make_article(title=f"Billing question number {i}", category=["billing", "outage", "data-privacy"][i % 3])


@pytest.mark.parametrize("n", [3, 24])
def test_help_pages_run_a_constant_number_of_queries(make_article, client, django_assert_max_num_queries, n):
    # given few or many public articles (and an internal one)
    _many_articles(make_article, n)
    make_article(title="Billing internal", visibility=ArticleVisibility.INTERNAL)
    article = make_article(title="Billing detail page")
    # then: each page costs the same whatever the size
    with django_assert_max_num_queries(3):  # topic counts (and the total), topics, most helpful
        assert client.get("/help/").status_code == 200
    with django_assert_max_num_queries(3):  # the topic, the article count (pages), one page of titles
        assert client.get("/help/billing/").status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get(article.get_help_url()).status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get("/help/", {"q": "billing question"}).status_code == 200
    with django_assert_max_num_queries(3):  # topic counts, topics, article count (pages)
        assert client.get("/sitemap.xml").status_code == 200
    with django_assert_max_num_queries(2):  # article count (pages), one page of articles
        assert client.get("/sitemap-articles.xml").status_code == 200


# --- votes ------------------------------------------------------------------------------------------------------


def test_an_anonymous_vote_counts_once_per_visitor_and_can_be_changed(kb_set):
    # given
    article = kb_set["public"]
    url = f"{article.get_help_url()}vote/"
    first, second = Client(), Client()
    # when: one visitor votes yes, then no; another votes yes
    assert first.post(url, {"helpful": "yes"}).status_code == 302
    assert "hc_visitor" in first.cookies
    first.post(url, {"helpful": "no"})
    second.post(url, {"helpful": "yes"})
    # then
    article.refresh_from_db()
    assert (article.helpful_count, article.unhelpful_count) == (1, 1)
    assert ArticleVote.objects.filter(article=article, user__isnull=True).count() == 2
    assert "Thanks, you said no." in first.get(article.get_help_url()).content.decode()


def test_a_tampered_visitor_cookie_is_a_new_visitor_not_someone_else(kb_set):
    article = kb_set["public"]
    url = f"{article.get_help_url()}vote/"
    first = Client()
    first.post(url, {"helpful": "yes"})
    forged = Client()
    forged.cookies["hc_visitor"] = first.cookies["hc_visitor"].value.split(":")[0] + ":forged"
    forged.post(url, {"helpful": "no"})
    article.refresh_from_db()
    assert (article.helpful_count, article.unhelpful_count) == (1, 1)


def test_votes_are_rate_limited_per_client(kb_set, settings):
    # given
    settings.HELP_CENTRE_VOTE_RATE = "3/hour"
    article = kb_set["public"]
    url = f"{article.get_help_url()}vote/"
    # when: four fresh "visitors" (cleared cookies) from one address
    statuses = [Client().post(url, {"helpful": "yes"}).status_code for _ in range(4)]
    # then
    assert statuses == [302, 302, 302, 429]
    article.refresh_from_db()
    assert article.helpful_count == 3


def test_a_vote_without_an_answer_is_a_400(kb_set, client):
    assert client.post(f"{kb_set['public'].get_help_url()}vote/", {"helpful": "maybe"}).status_code == 400


def test_htmx_vote_returns_the_vote_box(kb_set, client):
    response = client.post(f"{kb_set['public'].get_help_url()}vote/", {"helpful": "yes"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card kb-vote" id="hc-vote"')
    assert "1 of 1 reader found it helpful." in html


# --- sitemap -----------------------------------------------------------------------------------------------------


def _locs(response, path: str) -> list[str]:
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)  # noqa: S314  # our own response, not untrusted input
    return [node.text for node in root.findall(path, SITEMAP_NS)]


def test_the_sitemap_lists_public_articles_and_topics_only(kb_set, make_article, client):
    make_article(title="Status page", category="outage")
    make_article(title="Uncategorised tip", category=None)
    base = "https://helpdesk.example.test"
    # when: a crawler reads the index, then each section it names
    sections = _locs(client.get("/sitemap.xml"), "s:sitemap/s:loc")
    locs = [loc for section in sections for loc in _locs(client.get(section.removeprefix(base)), "s:url/s:loc")]
    # then
    assert sections == [f"{base}/sitemap-help.xml", f"{base}/sitemap-topics.xml", f"{base}/sitemap-articles.xml"]
    assert len(locs) == len(set(locs))
    assert set(locs) == {
        f"{base}/help/",
        f"{base}/contact/",
        f"{base}/help/billing/",
        f"{base}/help/outage/",
        f"{base}/help/billing/refund-for-a-duplicate-charge/",
        f"{base}/help/outage/status-page/",
        f"{base}/help/general/uncategorised-tip/",
    }


def test_the_sitemap_uses_site_url_not_the_host_header(kb_set, client):
    index = client.get("/sitemap.xml", HTTP_HOST="localhost")
    section = client.get("/sitemap-help.xml", HTTP_HOST="localhost")
    assert b"<loc>https://helpdesk.example.test/sitemap-help.xml</loc>" in index.content
    assert b"<loc>https://helpdesk.example.test/help/</loc>" in section.content
    assert b"localhost" not in index.content + section.content


def test_a_large_sitemap_is_split_into_pages(make_article, client, monkeypatch):
    from knowledge_base.help_centre import HelpArticleSitemap

    monkeypatch.setattr(HelpArticleSitemap, "limit", 2)
    for i in range(5):
        make_article(title=f"Article {i}")
    base = "https://helpdesk.example.test"
    sections = _locs(client.get("/sitemap.xml"), "s:sitemap/s:loc")
    assert [s for s in sections if "articles" in s] == [
        f"{base}/sitemap-articles.xml",
        f"{base}/sitemap-articles.xml?p=2",
        f"{base}/sitemap-articles.xml?p=3",
    ]
    assert len(_locs(client.get("/sitemap-articles.xml", {"p": 3}), "s:url/s:loc")) == 1


def test_an_article_written_around_the_services_is_reachable_by_its_id(make_article, client):
    from knowledge_base.models import Article

    article = make_article(title="Imported in bulk")
    Article.objects.filter(pk=article.pk).update(slug=None)
    article.refresh_from_db()
    assert article.get_help_url() == f"/help/billing/{article.pk}/"
    assert client.get(article.get_help_url()).status_code == 200


# --- contact us ---------------------------------------------------------------------------------------------------


def _send_form(client, **fields):
    data = {
        "email": "dana@northwind.test",
        "name": "Dana Reyes",
        "subject": "Charged twice",
        "description": "My card shows two charges.",
        **fields,
    }
    return client.post("/contact/", data)


def _link_from_outbox(address: str) -> str:
    row = Notification.objects.get(kind=NotificationKind.HELP_REQUEST_CONFIRM, to_address=address)
    notification_deliver(notification_id=row.pk)
    message = next(m for m in mail.outbox if m.to == [address])
    match = re.search(r"https://helpdesk\.example\.test(/contact/confirm/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_sending_the_form_emails_a_link_and_opens_no_ticket_yet(org, teams, client):
    # when
    response = _send_form(client)
    # then
    assert response.status_code == 302 and response["Location"] == "/contact/sent/"
    assert Ticket.objects.count() == 0
    assert not User.objects.filter(email="dana@northwind.test").exists()
    link = _link_from_outbox("dana@northwind.test")
    message = mail.outbox[-1]
    assert message.subject == "Please confirm your request"
    assert 'the request "Charged twice"' in message.body
    assert "The link works for 24 hours (until" in message.body and "UTC)" in message.body
    # and opening the link shows the request and a button, still without a ticket (mail scanners open links)
    page = client.get(link)
    assert page.status_code == 200
    assert "Confirm and send my request" in page.content.decode()
    assert Ticket.objects.count() == 0


def test_confirming_twice_opens_one_ticket_for_a_new_customer_of_the_matching_organisation(org, teams, client):
    # given
    _send_form(client)
    link = _link_from_outbox("dana@northwind.test")
    # when
    first = client.post(link)
    second = Client().post(link)
    # then
    ticket = Ticket.objects.get()
    assert ticket.customer.email == "dana@northwind.test"
    assert ticket.customer.organization == org and ticket.customer.is_customer
    assert (ticket.subject, ticket.description, ticket.channel) == (
        "Charged twice",
        "My card shows two charges.",
        "web",
    )
    assert first.status_code == 200 and ticket.reference in first.content.decode()
    assert second.status_code == 200 and "already confirmed" in second.content.decode()
    assert ticket.reference in second.content.decode()
    assert HelpRequest.objects.get().ticket == ticket


def test_a_known_email_threads_into_the_existing_customer(customer, teams, client):
    # given: the customer's address, typed in capitals
    _send_form(client, email="CUSTOMER@example.test")
    link = _link_from_outbox("customer@example.test")
    # when
    client.post(link)
    # then
    ticket = Ticket.objects.get()
    assert ticket.customer == customer
    assert User.objects.filter(email__iexact="customer@example.test").count() == 1


def test_an_expired_link_gets_a_clear_page_and_no_ticket(org, teams, client):
    _send_form(client)
    link = _link_from_outbox("dana@northwind.test")
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        page = client.get(link)
        posted = client.post(link)
    assert page.status_code == 410 and posted.status_code == 410
    assert "This link has expired" in posted.content.decode()
    assert Ticket.objects.count() == 0


def test_a_tampered_link_gets_a_clear_page_and_no_ticket(org, teams, client):
    _send_form(client)
    link = _link_from_outbox("dana@northwind.test")
    token = link.split("/")[-2]
    forged = link.replace(token, token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"))
    for url in (forged, "/contact/confirm/nonsense/", "/contact/confirm/%00%ff/"):
        response = client.post(url)
        assert response.status_code == 400, url
        assert "This confirmation link is not valid." in response.content.decode()
    assert Ticket.objects.count() == 0


def test_an_address_no_organisation_serves_gets_a_clear_page(org, teams, client):
    _send_form(client, email="someone@elsewhere.test")
    response = client.post(_link_from_outbox("someone@elsewhere.test"))
    assert response.status_code == 400
    assert "We could not open a request for this address." in response.content.decode()
    assert Ticket.objects.count() == 0


def test_the_form_is_rate_limited_and_refuses_the_bot_trap(org, settings, client):
    settings.HELP_CENTRE_CONTACT_RATE = "2/hour"
    trapped = _send_form(client, website="http://spam.example")
    assert trapped.status_code == 400 and "We could not accept this form." in trapped.content.decode()
    assert _send_form(client).status_code == 302
    assert _send_form(Client()).status_code == 429
    assert HelpRequest.objects.count() == 1


def test_form_errors_sit_next_to_their_fields(client, db):
    response = _send_form(client, email="not-an-email", subject="")
    html = response.content.decode()
    assert response.status_code == 400
    assert "Enter a valid email address." in html and "This field is required." in html
    assert HelpRequest.objects.count() == 0


def test_expired_unconfirmed_requests_are_forgotten(org, client):
    _send_form(client)
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        _send_form(Client(), email="sam@northwind.test")
    assert list(HelpRequest.objects.values_list("email", flat=True)) == ["sam@northwind.test"]


# --- deflection for anonymous visitors ---------------------------------------------------------------------------


def test_an_anonymous_visitor_who_opens_a_suggestion_and_leaves_is_a_deflection(kb_set, client):
    # given
    article = kb_set["public"]
    # when
    client.get(article.get_help_url(), {"from": "suggest", "q": "charged twice"})
    client.get(article.get_help_url(), {"from": "suggest", "q": "charged twice"})  # a reload counts once
    # then
    deflection = Deflection.objects.get()
    assert deflection.user is None and deflection.session_key.startswith("visitor:")
    assert deflection.query == "charged twice" and deflection.is_deflection
    now = timezone.now()
    later = now + DEFLECTION_WINDOW + timedelta(minutes=1)
    stats = deflection_stats(now=later, since=now - timedelta(days=1), window=DEFLECTION_WINDOW)
    assert (stats["opened"], stats["deflected"], stats["submitted_anyway"]) == (1, 1, 0)


def test_an_anonymous_visitor_who_submits_anyway_is_not_a_deflection_even_confirming_elsewhere(kb_set, org, teams):
    # given: a visitor opened a suggestion, then sent the form
    visitor = Client()
    visitor.get(kb_set["public"].get_help_url(), {"from": "suggest"})
    _send_form(visitor)
    # when: the link is followed from another device (no cookie)
    Client().post(_link_from_outbox("dana@northwind.test"))
    # then
    deflection = Deflection.objects.get()
    assert deflection.ticket == Ticket.objects.get()
    assert not deflection.is_deflection


def test_a_suggestion_opened_after_submitting_stays_a_deflection_candidate_of_its_own(kb_set, make_article, org):
    visitor = Client()
    _send_form(visitor)
    other = make_article(title="Another billing answer")
    visitor.get(other.get_help_url(), {"from": "suggest"})
    Client().post(_link_from_outbox("dana@northwind.test"))
    assert Deflection.objects.get().ticket is None


def test_solved_button_confirms_the_deflection(kb_set, client):
    article = kb_set["public"]
    client.get(article.get_help_url(), {"from": "suggest"})
    response = client.post(f"{article.get_help_url()}solved/")
    assert response.status_code == 200 and "Glad that helped" in response.content.decode()
    assert Deflection.objects.get().confirmed_at is not None


def test_staff_reading_the_help_centre_record_no_deflection(kb_set, client, agent):
    client.force_login(agent)
    client.get(kb_set["public"].get_help_url(), {"from": "suggest"})
    assert not Deflection.objects.exists()


def test_internal_articles_stay_hidden_even_from_signed_in_staff_on_the_public_site(kb_set, client, manager):
    client.force_login(manager)
    assert client.get(f"/help/billing/{kb_set['internal'].slug}/").status_code == 404
    assert kb_set["internal"].title not in client.get("/help/", {"q": "refund"}).content.decode()


def test_a_signed_in_customer_is_pointed_to_the_portal_form(customer, client):
    client.force_login(customer)
    assert 'href="/tickets/new/">send your request from your account</a>' in client.get("/contact/").content.decode()
    client.logout()
    assert "send your request from your account" not in client.get("/contact/").content.decode()
