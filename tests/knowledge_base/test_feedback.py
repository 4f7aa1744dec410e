"""Votes (one per reader) and the improvement-proposal review flow."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from helpdesk.models import Notification
from knowledge_base.models import ArticleProposal, ArticleVote, ProposalStatus
from knowledge_base.services import article_vote, proposal_accept, proposal_create, proposal_decline

pytestmark = pytest.mark.django_db


def test_one_vote_per_user_voting_again_replaces_it(make_article, customer, agent):
    # given
    article = make_article(title="Resetting your password")
    # when
    article_vote(article=article, user=customer, helpful=True)
    article_vote(article=article, user=customer, helpful=True)
    article_vote(article=article, user=customer, helpful=False)
    article_vote(article=article, user=agent, helpful=True)
    # then
    article.refresh_from_db()
    assert ArticleVote.objects.filter(article=article, user=customer).count() == 1
    assert ArticleVote.objects.get(article=article, user=customer).helpful is False
    assert (article.helpful_count, article.unhelpful_count) == (1, 1)


def test_database_refuses_a_second_vote_row(make_article, customer):
    # given
    article = make_article(title="Resetting your password")
    article_vote(article=article, user=customer, helpful=True)
    # when / then (a raw insert on purpose: article_vote replaces a vote, so only a bare row reaches the constraint)
    with pytest.raises(IntegrityError), transaction.atomic():
        ArticleVote.objects.create(article=article, user=customer, helpful=False)


def test_vote_view_is_post_with_csrf(make_article, customer):
    # given
    article = make_article(title="Resetting your password")
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)
    url = reverse("kb_article_vote", args=[article.pk])
    # when
    get = client.get(url)
    no_token = client.post(url, {"helpful": "yes"})
    page = client.get(reverse("kb_article_detail", args=[article.pk]))
    with_token = client.post(url, {"helpful": "yes", "csrfmiddlewaretoken": page.context["csrf_token"]})
    # then
    assert (get.status_code, no_token.status_code, with_token.status_code) == (405, 403, 302)
    assert ArticleVote.objects.filter(article=article, user=customer, helpful=True).count() == 1


def test_vote_view_answers_htmx_with_the_vote_fragment(make_article, customer, login, client):
    # given
    article = make_article(title="Resetting your password")
    login(customer)
    # when
    response = client.post(reverse("kb_article_vote", args=[article.pk]), {"helpful": "no"}, HTTP_HX_REQUEST="true")
    # then
    body = response.content.decode()
    assert response.status_code == 200 and 'id="kb-vote"' in body and "<html" not in body
    assert "0 of 1 reader found it helpful." in body


def test_suggested_edit_goes_to_owner_and_accepting_makes_a_revision(make_article, specialist, agent, manager):
    # given
    article = make_article(title="Webhooks stopped arriving", body="Old text.", owner=specialist)
    # when
    proposal = proposal_create(
        article=article, author=agent, kind="edit", proposed_body="New, clearer text.", comment="Clearer."
    )
    # then: in the owner's queue, owner notified
    assert Notification.objects.filter(recipient=specialist, kind="kb_proposal").exists()
    from knowledge_base.selectors import proposals_for_reviewer

    assert list(proposals_for_reviewer(specialist)) == [proposal]
    assert list(proposals_for_reviewer(agent)) == []
    # when: the owner accepts
    proposal_accept(proposal=proposal, actor=specialist)
    # then
    article.refresh_from_db()
    proposal.refresh_from_db()
    assert article.body == "New, clearer text."
    assert proposal.status == ProposalStatus.ACCEPTED
    assert proposal.resulting_revision.number == 2
    assert proposal.resulting_revision.note == f"Accepted proposal #{proposal.pk} by Alex Morgan"
    assert list(article.revisions.values_list("number", flat=True)) == [2, 1]
    assert Notification.objects.filter(recipient=agent, kind="kb_proposal_decided").exists()


def test_decline_needs_a_reason_and_a_decision_is_final(make_article, specialist, agent):
    # given
    article = make_article(title="Webhooks stopped arriving", owner=specialist)
    proposal = proposal_create(article=article, author=agent, kind="comment", comment="Add the menu path.")
    # when / then
    with pytest.raises(ValidationError) as no_reason:
        proposal_decline(proposal=proposal, actor=specialist, reason="  ")
    assert no_reason.value.message_dict == {"reason": ["Say why the proposal is declined."]}
    proposal_decline(proposal=proposal, actor=specialist, reason="Already covered in step 3.")
    with pytest.raises(ValidationError) as again:
        proposal_accept(proposal=proposal, actor=specialist)
    assert again.value.messages == ["This proposal has already been decided."]
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decline_reason) == (ProposalStatus.DECLINED, "Already covered in step 3.")
    assert article.revisions.count() == 1


def test_only_owner_or_editor_can_review(make_article, specialist, agent, agent2):
    # given
    article = make_article(title="Webhooks stopped arriving", owner=specialist)
    proposal = proposal_create(article=article, author=agent, kind="edit", proposed_body="Other text.")
    # when / then
    with pytest.raises(PermissionDenied) as denied:
        proposal_accept(proposal=proposal, actor=agent2)
    assert str(denied.value) == "Only the article's owner or an editor can review proposals."


def test_empty_or_customer_proposals_are_refused(make_article, agent, customer):
    # given
    article = make_article(title="Webhooks stopped arriving", body="Same.")
    # when / then
    with pytest.raises(ValidationError) as unchanged:
        proposal_create(article=article, author=agent, kind="edit", proposed_body="Same.")
    assert unchanged.value.message_dict == {"proposed_body": ["The suggested edit changes nothing."]}
    with pytest.raises(PermissionDenied) as denied:
        proposal_create(article=article, author=customer, kind="comment", comment="Hi")
    assert str(denied.value) == "Only staff can propose improvements."


def test_review_flow_through_the_pages(make_article, specialist, agent, login, client):
    # given
    article = make_article(title="Webhooks stopped arriving", body="Old text.", owner=specialist)
    login(agent)
    # when: the agent proposes from the article page
    proposed = client.post(
        reverse("kb_article_propose", args=[article.pk]),
        {"kind": "edit", "proposed_title": "Webhooks are not arriving", "proposed_body": "Better text."},
    )
    proposal = ArticleProposal.objects.get()
    forbidden = client.post(reverse("kb_proposal_decide", args=[proposal.pk]), {"decision": "accept"})
    # and the owner declines without a reason, then accepts
    login(specialist)
    queue = client.get(reverse("kb_review_queue"))
    declined = client.post(reverse("kb_proposal_decide", args=[proposal.pk]), {"decision": "decline"}, follow=True)
    accepted = client.post(reverse("kb_proposal_decide", args=[proposal.pk]), {"decision": "accept"})
    # then
    assert proposed.status_code == 302 and forbidden.status_code == 404
    assert "Webhooks stopped arriving" in queue.content.decode()
    assert "Say why the proposal is declined." in declined.content.decode()
    assert accepted.status_code == 302
    article.refresh_from_db()
    assert (article.title, article.body) == ("Webhooks are not arriving", "Better text.")


def test_drafts_cannot_be_rated(make_article, manager):
    # given
    draft = make_article(title="Unfinished", status="draft")
    # when / then
    with pytest.raises(ValidationError) as refused:
        article_vote(article=draft, user=manager, helpful=True)
    assert refused.value.messages == ["Only published articles can be rated."]
