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
