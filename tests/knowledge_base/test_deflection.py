"""Deflection: a customer opens an article suggested while describing a problem; it counts unless they submit a
ticket within the window anyway."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from knowledge_base.models import Deflection
from knowledge_base.selectors import deflection_stats
from knowledge_base.services import DEFLECTION_WINDOW

pytestmark = pytest.mark.django_db


def test_suggest_endpoint_links_articles_with_the_suggestion_marker(make_article, customer, login, client):
    # given
    article = make_article(title="Charged twice for one invoice", body="Duplicate charges are refunded.")
    login(customer)
    # when
    response = client.get(reverse("kb_suggest"), {"subject": "charged twice", "description": "my card"})
    # then
    body = response.content.decode()
    assert f'href="/kb/articles/{article.pk}/?from=suggest&amp;q=charged+twice+my+card"' in body


def test_opening_a_suggested_article_records_one_deflection(make_article, customer, login, client):
    # given
    article = make_article(title="Charged twice for one invoice")
    login(customer)
    url = reverse("kb_article_detail", args=[article.pk])
    # when
    client.get(url, {"from": "suggest", "q": "charged twice"})
    client.get(url, {"from": "suggest", "q": "charged twice"})
    client.get(url)
    # then
    deflection = Deflection.objects.get()
    assert (deflection.article, deflection.user, deflection.query) == (article, customer, "charged twice")
    assert deflection.is_deflection and deflection.confirmed_at is None


def test_solved_button_confirms_the_deflection(make_article, customer, login, client):
    # given
    article = make_article(title="Charged twice for one invoice")
    login(customer)
    page = client.get(reverse("kb_article_detail", args=[article.pk]), {"from": "suggest"})
    # when
    response = client.post(reverse("kb_deflection_confirm", args=[article.pk]), follow=True)
    # then
    assert "Yes, this solved my problem" in page.content.decode()
    assert "Glad that helped. You do not need to send a request." in response.content.decode()
    assert Deflection.objects.get().confirmed_at is not None


def test_submitting_a_ticket_anyway_is_not_a_deflection(make_article, make_ticket, customer, login, client):
    # given
    article = make_article(title="Charged twice for one invoice")
    login(customer)
    client.get(reverse("kb_article_detail", args=[article.pk]), {"from": "suggest"})
    # when
    ticket = make_ticket(customer, subject="Still charged twice")
    # then
    deflection = Deflection.objects.get()
    assert deflection.ticket == ticket and not deflection.is_deflection


def test_a_ticket_after_the_window_leaves_the_deflection_standing(make_article, make_ticket, customer, login, client):
    # given
    article = make_article(title="Charged twice for one invoice")
    login(customer)
    client.get(reverse("kb_article_detail", args=[article.pk]), {"from": "suggest"})
    # when
    with time_machine.travel(timezone.now() + DEFLECTION_WINDOW + timedelta(minutes=1)):
        make_ticket(customer, subject="Another problem entirely")
        stats = deflection_stats(now=timezone.now(), since=timezone.now() - timedelta(days=7), window=DEFLECTION_WINDOW)
    # then
    assert Deflection.objects.get().is_deflection
    assert stats == {"opened": 1, "deflected": 1, "submitted_anyway": 0, "confirmed": 0, "pending": 0}


def test_staff_opening_a_suggestion_records_nothing(make_article, agent, login, client):
    # given
    article = make_article(title="Charged twice for one invoice")
    login(agent)
    # when
    client.get(reverse("kb_article_detail", args=[article.pk]), {"from": "suggest"})
    # then
    assert not Deflection.objects.exists()
