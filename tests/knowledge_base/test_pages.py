"""The KB pages: writing and publishing, history, the workspace panel, insert-into-reply and "resolved with"."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from helpdesk.models import EventKind
from knowledge_base.models import Article, ArticleStatus, ArticleUse, ArticleVisibility
from knowledge_base.services import article_set_status, article_update

pytestmark = pytest.mark.django_db


def test_agent_writes_a_draft_and_a_manager_publishes_it(agent, manager, login, client, categories):
    # given
    login(agent)
    # when
    created = client.post(
        reverse("kb_article_new"),
        {
            "title": "Printing invoices",
            "category": categories["billing"].pk,
            "visibility": "public",
            "tags": "Invoice, PDF, invoice",
            "body": "Open *Billing* and choose **Print**.<script>alert(1)</script>",
        },
    )
    article = Article.objects.get()
    submitted = client.post(reverse("kb_article_status", args=[article.pk]), {"status": "in_review"})
    refused = client.post(reverse("kb_article_status", args=[article.pk]), {"status": "published"})
    login(manager)
    published = client.post(reverse("kb_article_status", args=[article.pk]), {"status": "published"})
    page = client.get(reverse("kb_article_detail", args=[article.pk]))
    # then
    assert created.status_code == 302 and submitted.status_code == 302 and refused.status_code == 403
    assert published.status_code == 302
    article.refresh_from_db()
    assert (article.status, article.owner, article.tags) == (ArticleStatus.PUBLISHED, agent, "invoice, pdf")
    assert article.published_at is not None and article.last_reviewed_at is not None
    assert "<p>Open <em>Billing</em> and choose <strong>Print</strong>.</p>" in page.content.decode()
    assert "<script>alert(1)" not in page.content.decode()


def test_owner_cannot_publish_with_a_clear_message(make_article, agent):
    # given
    article = make_article(title="Agent notes", owner=agent, status=ArticleStatus.DRAFT)
    # when / then
    with pytest.raises(PermissionDenied) as denied:
        article_set_status(article=article, actor=agent, status=ArticleStatus.PUBLISHED)
    assert str(denied.value) == "Only an editor (manager or admin) can publish or archive an article."


def test_impossible_transition_is_refused(make_article, manager):
    # given
    article = make_article(title="Archived one", status=ArticleStatus.ARCHIVED)
    # when / then
    with pytest.raises(ValidationError) as refused:
        article_set_status(article=article, actor=manager, status=ArticleStatus.IN_REVIEW)
    assert refused.value.messages == ["An article cannot go from Archived to In review."]


def test_editing_keeps_history_and_refuses_stale_saves(make_article, manager, login, client):
    # given
    article = make_article(title="Resetting your password", body="Version one.")
    login(manager)
    url = reverse("kb_article_edit", args=[article.pk])
    form = {"title": article.title, "visibility": "public", "tags": "", "body": "Version two.", "expected_revision": 1}
    # when
    saved = client.post(url, form)
    stale = client.post(url, {**form, "body": "Version three.", "expected_revision": 1})
    history = client.get(reverse("kb_article_history", args=[article.pk]))
    # then
    assert saved.status_code == 302 and stale.status_code == 409
    assert "Someone saved revision 2 while you were editing revision 1." in stale.content.decode()
    article.refresh_from_db()
    assert article.body == "Version two."
    assert [r.body for r in article.revisions.order_by("number")] == ["Version one.", "Version two."]
    assert "r2" in history.content.decode() and "r1" in history.content.decode()


def test_unchanged_save_writes_no_revision(make_article, manager):
    # given
    article = make_article(title="Same", body="Same body.", tags="a, b")
    # when
    article_update(
        article=article,
        actor=manager,
        title="Same",
        body="Same body.",
        category=article.category,
        visibility=article.visibility,
        tags="A, b",
    )
    # then
    assert article.revisions.count() == 1


def test_workspace_panel_suggests_articles_with_insert_tools(make_article, make_ticket, customer, agent, login, client):
    # given
    public = make_article(title="I was charged twice", tags="duplicate charge, refund", body="Pending authorisation.")
    internal = make_article(
        title="Refund limits for duplicate charges", body="Up to 50 pounds.", visibility=ArticleVisibility.INTERNAL
    )
    ticket = make_ticket(customer, subject="Charged twice this month", description="Duplicate charge on my card.")
    login(agent)
    # when
    page = client.get(reverse("kb_ticket_suggestions", args=[ticket.reference]), headers={"HX-Request": "true"})
    page = page.content.decode()
    # then
    assert "Suggested articles" in page
    assert "<mark>charged</mark> <mark>twice</mark>" in page
    assert reverse("kb_article_insert", args=[public.pk, ticket.reference]) + "?what=link" in page
    assert reverse("kb_article_insert", args=[internal.pk, ticket.reference]) not in page
    assert reverse("kb_article_use", args=[internal.pk, ticket.reference]) in page


def test_insert_without_javascript_prefills_the_reply(make_article, make_ticket, customer, agent, login, client):
    # given
    article = make_article(title="I was charged twice", body="A duplicate is a pending authorisation.")
    internal = make_article(title="Refund limits", visibility=ArticleVisibility.INTERNAL)
    ticket = make_ticket(customer, subject="Charged twice")
    login(agent)
    # when
    link = client.get(reverse("kb_article_insert", args=[article.pk, ticket.reference]), {"what": "link"})
    excerpt = client.get(reverse("kb_article_insert", args=[article.pk, ticket.reference]), {"what": "excerpt"})
    hidden = client.get(reverse("kb_article_insert", args=[internal.pk, ticket.reference]))
    # then
    url = "https://helpdesk.example.test/help/billing/i-was-charged-twice/"
    assert link.context["reply_form"].initial["body"] == f"This article explains it: I was charged twice\n{url}"
    assert "A duplicate is a pending authorisation." in excerpt.context["reply_form"].initial["body"]
    assert f'action="{reverse("ticket_reply", args=[ticket.reference])}"' in link.content.decode()
    assert hidden.status_code == 404


def test_resolved_with_this_article_is_recorded_once(make_article, make_ticket, customer, agent, login, client):
    # given
    article = make_article(title="I was charged twice")
    ticket = make_ticket(customer, subject="Charged twice")
    login(agent)
    url = reverse("kb_article_use", args=[article.pk, ticket.reference])
    # when
    client.post(url)
    client.post(url)
    # then
    assert ArticleUse.objects.get().ticket == ticket
    event = ticket.events.get(kind=EventKind.KB)
    assert (event.is_public, event.body) == (False, "Resolved with the article “I was charged twice”.")


def test_customer_cannot_use_staff_tools(make_article, make_ticket, customer, login, client):
    # given
    article = make_article(title="I was charged twice")
    ticket = make_ticket(customer, subject="Charged twice")
    login(customer)
    # when
    responses = [
        client.post(reverse("kb_article_use", args=[article.pk, ticket.reference])),
        client.get(reverse("kb_article_insert", args=[article.pk, ticket.reference])),
        client.get(reverse("kb_article_new")),
        client.get(reverse("kb_review_queue")),
        client.get(reverse("kb_health")),
    ]
    # then
    assert [r.status_code for r in responses] == [403, 403, 403, 403, 403]


def test_nav_shows_help_centre_to_customers_and_knowledge_base_to_staff(customer, agent, login, client):
    # when
    login(customer)
    as_customer = client.get(reverse("kb_list")).content.decode()
    login(agent)
    as_agent = client.get(reverse("kb_list")).content.decode()
    # then
    assert ">Help centre</a>" in as_customer and ">Knowledge base</a>" not in as_customer
    assert ">Knowledge base</a>" in as_agent and "New article" in as_agent


def test_demo_seeder_is_idempotent():
    # given
    from helpdesk.demo import seed_demo

    # when
    seed_demo(password="demo-pass-1234")
    count = Article.objects.count()
    seed_demo(password="demo-pass-1234")
    # then: the KB's 16 articles, plus one draft per knowledge-gap RCA that the feedback demo wrote
    from feedback.models import RootCauseAnalysis

    rca_ids = list(
        RootCauseAnalysis.objects.filter(kb_article_id__isnull=False).values_list("kb_article_id", flat=True)
    )
    assert count == 16 + len(rca_ids) and Article.objects.count() == count
    seeded = Article.objects.exclude(pk__in=rca_ids)
    assert seeded.filter(status=ArticleStatus.DRAFT).count() == 2
    assert seeded.filter(visibility=ArticleVisibility.INTERNAL).count() == 5
    assert set(Article.objects.filter(pk__in=rca_ids).values_list("status", flat=True)) <= {ArticleStatus.DRAFT}
    assert Article.objects.filter(helpful_count__gt=0).exists()


def test_reindex_rerenders_stored_html(make_article):
    # given: HTML stored by an older, laxer sanitiser
    from io import StringIO

    from django.core.management import call_command

    article = make_article(title="Old", body="[x](https://ok.example)")
    Article.objects.filter(pk=article.pk).update(body_html='<a href="javascript:alert(1)">x</a>', body_text="stale")
    out = StringIO()
    # when
    call_command("kb_reindex", "--batch-size", "1", stdout=out)
    # then
    article.refresh_from_db()
    assert article.body_html == '<p><a href="https://ok.example" rel="noopener noreferrer nofollow">x</a></p>'
    assert article.body_text == "x"
    assert out.getvalue() == "Re-indexed 1 articles.\n"
