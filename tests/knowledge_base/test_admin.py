"""Django admin pages for every KB model load for an administrator."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model", ["article", "articlerevision", "articlevote", "articleproposal", "deflection", "articleuse"]
)
def test_admin_changelists_load(make_article, admin_user, client, model):
    # given
    article = make_article(title="Resetting your password")
    client.force_login(admin_user)
    # when
    listing = client.get(reverse(f"admin:knowledge_base_{model}_changelist"))
    # then
    assert listing.status_code == 200
    if model == "article":
        assert client.get(reverse("admin:knowledge_base_article_change", args=[article.pk])).status_code == 200


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_article_status_is_read_only_on_the_change_form_and_content_saves_a_revision(
    make_article, admin_user, client, categories
):
    # given
    from knowledge_base.models import ArticleStatus, ArticleVisibility

    article = make_article(title="Resetting your password", status=ArticleStatus.DRAFT)
    revisions = article.revisions.count()
    client.force_login(admin_user)
    url = reverse("admin:knowledge_base_article_change", args=[article.pk])

    # when
    response = client.post(
        url,
        {
            "title": "Resetting your password",
            "body": "Open **Settings**.",
            "category": categories["billing"].pk,
            "visibility": ArticleVisibility.PUBLIC,
            "tags": "",
            "status": ArticleStatus.PUBLISHED,
            "helpful_count": 99,
            "revisions-TOTAL_FORMS": "0",
            "revisions-INITIAL_FORMS": "0",
        },
    )

    # then: the content went through article_update (a revision, the rendering in step), the status did not move
    assert response.status_code == 302
    article.refresh_from_db()
    assert (article.status, article.helpful_count, article.published_at) == (ArticleStatus.DRAFT, 0, None)
    assert "<strong>Settings</strong>" in article.body_html
    assert article.revisions.count() == revisions + 1
    assert client.get(reverse("admin:knowledge_base_article_add")).status_code == 403


def test_article_status_action_goes_through_article_set_status(make_article, admin_user, client):
    # given
    from knowledge_base.models import ArticleStatus

    published = make_article(title="Refunds", status=ArticleStatus.PUBLISHED)
    draft = make_article(title="Invoices", status=ArticleStatus.DRAFT)
    client.force_login(admin_user)

    # when
    response = client.post(
        reverse("admin:knowledge_base_article_changelist"),
        {
            "action": "change_status",
            "_selected_action": [published.pk, draft.pk],
            "status": ArticleStatus.ARCHIVED,
            "apply": "x",
        },
        follow=True,
    )

    # then
    shown = _messages(response)
    assert "Done (1): Refunds: Published → Archived" in shown
    assert "Refused — Invoices: An article cannot go from Draft to Archived." in shown
    published.refresh_from_db()
    draft.refresh_from_db()
    assert (published.status, draft.status) == (ArticleStatus.ARCHIVED, ArticleStatus.DRAFT)
