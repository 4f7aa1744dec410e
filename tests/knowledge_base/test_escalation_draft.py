"""From escalation (and RCA) to a draft article, and the gap list on the health page.

Escalations are raised by the agent, accepted and resolved by the specialist through the escalation services.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from escalations.articles import article_draft_from_escalation
from helpdesk.models import EventKind
from knowledge_base.models import Article, ArticleOrigin, ArticleStatus, ArticleVisibility
from knowledge_base.services import article_draft_from_rca

pytestmark = pytest.mark.django_db


@pytest.fixture
def escalated(config, escalate, agent, specialist):
    """``escalated(ticket, status="resolved")``: the agent escalates it to Technical, the specialist accepts it and,
    for "resolved", resolves it with the given summary (the ticket is resolved with it)."""
    from escalations.services import escalation_accept, escalation_resolve

    def do(ticket, *, status="resolved", resolution="Re-issued the invoice with the VAT number."):
        escalation = escalate(
            ticket,
            agent,
            reason="Needs a billing specialist.",
            dossier_problem="Invoices are missing the customer's VAT number.",
            dossier_tried="Asked the customer to re-save their billing details.",
            dossier_desired_outcome="Corrected invoices.",
            dossier_mood="frustrated",
        )
        escalation_accept(escalation=escalation, actor=specialist)
        if status == "resolved":
            escalation_resolve(escalation=escalation, actor=specialist, summary=resolution)
        escalation.refresh_from_db()
        assert escalation.status == status
        return escalation

    return do


def test_resolved_escalation_becomes_a_prefilled_internal_draft(make_ticket, escalated, customer, specialist):
    # given
    ticket = make_ticket(customer, subject="VAT number missing from invoices", category="billing")
    escalation = escalated(ticket)
    # when
    article = article_draft_from_escalation(escalation=escalation, actor=specialist)
    again = article_draft_from_escalation(escalation=escalation, actor=specialist)
    # then
    assert again == article and Article.objects.count() == 1
    assert (article.title, article.status, article.visibility) == (
        "VAT number missing from invoices",
        ArticleStatus.DRAFT,
        ArticleVisibility.INTERNAL,
    )
    assert (article.category.slug, article.owner, article.origin) == ("billing", specialist, ArticleOrigin.ESCALATION)
    assert "## Problem\n\nInvoices are missing the customer's VAT number." in article.body
    assert "## What was tried first\n\nAsked the customer to re-save their billing details." in article.body
    assert "## Resolution\n\nRe-issued the invoice with the VAT number." in article.body
    assert article.revisions.get().note == f"Drafted from the escalation of {ticket.reference}"
    event = ticket.events.get(kind=EventKind.KB)
    assert (event.is_public, event.data["action"]) == (False, "draft_from_escalation")


def test_an_unresolved_escalation_cannot_become_an_article(make_ticket, escalated, customer, specialist):
    # given
    escalation = escalated(make_ticket(customer), status="accepted")
    # when / then
    with pytest.raises(ValidationError) as refused:
        article_draft_from_escalation(escalation=escalation, actor=specialist)
    assert refused.value.messages == ["Only a resolved escalation can become an article."]


def test_draft_from_escalation_page_flow(make_ticket, escalated, customer, specialist, login, client):
    # given
    ticket = make_ticket(customer, subject="VAT number missing from invoices")
    escalation = escalated(ticket)
    # when: a customer cannot, the specialist can
    login(customer)
    as_customer = client.post(reverse("kb_draft_from_escalation", args=[escalation.pk]))
    login(specialist)
    response = client.post(reverse("kb_draft_from_escalation", args=[escalation.pk]))
    # then
    article = Article.objects.get()
    assert as_customer.status_code == 403
    assert response.status_code == 302 and response["Location"] == reverse("kb_article_edit", args=[article.pk])
    login(customer)
    assert client.get(reverse("kb_article_detail", args=[article.pk])).status_code == 404


def test_rca_knowledge_gap_drafts_one_article_per_ticket(make_ticket, customer, manager, categories):
    # given
    ticket = make_ticket(customer, subject="Outage not on the status page", category="outage")
    # when
    first = article_draft_from_rca(
        ticket=ticket, title="Status page lag", body="Explain the lag.", category=categories["outage"], actor=manager
    )
    second = article_draft_from_rca(ticket=ticket, title="Other", body="Other.", category=None, actor=manager)
    # then
    assert first == second
    assert (first.title, first.origin, first.status, first.category.slug) == (
        "Status page lag",
        ArticleOrigin.RCA,
        ArticleStatus.DRAFT,
        "outage",
    )


def test_health_page_lists_gaps_stale_and_unhelpful(
    make_ticket, make_article, escalated, customer, customer2, agent, manager
):
    # given: billing escalates twice and has no article; outage has one poorly rated article
    from knowledge_base.services import article_vote

    for subject in ("Charged twice", "Refund missing"):
        escalated(make_ticket(customer, subject=subject, category="billing"))
    poor = make_article(title="Status page explained", category="outage")
    for reader, helpful in ((customer, False), (customer2, False), (agent, True)):
        article_vote(article=poor, user=reader, helpful=helpful)
    Article.objects.filter(pk=poor.pk).update(last_reviewed_at=None)
    # when
    from django.test import Client

    editor = Client()
    editor.force_login(manager)
    page = editor.get(reverse("kb_health"))
    agent_client = Client()
    agent_client.force_login(agent)
    # then
    body = page.content.decode()
    assert page.status_code == 200
    assert page.context["gaps"][0]["category"].slug == "billing"
    assert (page.context["gaps"][0]["escalations"], page.context["gaps"][0]["articles"]) == (2, 0)
    assert [a.title for a in page.context["low"]] == ["Status page explained"]
    assert [a.title for a in page.context["stale"]] == ["Status page explained"]
    assert "1 of 3 found it helpful" in body
    assert agent_client.get(reverse("kb_health")).status_code == 403


def test_marking_reviewed_from_the_health_page(make_article, manager, login, client):
    # given
    article = make_article(title="Status page explained")
    Article.objects.filter(pk=article.pk).update(last_reviewed_at=None)
    login(manager)
    # when
    response = client.post(reverse("kb_article_reviewed", args=[article.pk]), {"back": "health"}, follow=True)
    # then
    assert response.redirect_chain == [(reverse("kb_health"), 302)]
    assert "“Status page explained” marked as reviewed today." in response.content.decode()
    assert list(response.context["stale"]) == []
