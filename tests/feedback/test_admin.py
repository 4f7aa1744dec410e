"""Feedback admin: surveys, RCAs and corrective actions are read-only; review and "mark done" are admin actions over
the services (the reclassification's follow-up and the timeline event happen as in the manager's screen)."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from feedback.models import ActionStatus, CauseCategory, CoachingItem, CorrectiveAction, Survey
from feedback.rca import CorrectiveActionInput, rca_create


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def rca(escalated_ticket, resolve, manager, agent):
    resolve(escalated_ticket)
    return rca_create(
        ticket=escalated_ticket,
        actor=manager,
        cause_category=CauseCategory.PROCESS_GAP,
        preventable=True,
        five_whys="Nobody owned the cache.",
        actions=[CorrectiveActionInput(description="Own the cache", owner=agent, due_date=date(2030, 1, 31))],
    )


def test_rca_review_action_reclassifies_through_rca_review(client, login, admin_user, rca, agent):
    # given
    login(admin_user)
    changelist = reverse("admin:feedback_rootcauseanalysis_changelist")

    # when: the input step, then the apply step
    step = client.post(changelist, {"action": "review", "_selected_action": [rca.pk]})
    assert "Cause category (confirm or reclassify)" in step.content.decode()
    response = client.post(
        changelist,
        {
            "action": "review",
            "_selected_action": [rca.pk],
            "cause_category": CauseCategory.TRAINING_GAP,
            "note": "It was training.",
            "apply": "x",
        },
        follow=True,
    )

    # then
    assert f"Done (1): RCA of {rca.ticket.reference}: reviewed (Training gap)" in _messages(response)
    rca.refresh_from_db()
    assert (rca.cause_category, rca.reclassified_from, rca.reviewed_by) == (
        CauseCategory.TRAINING_GAP,
        CauseCategory.PROCESS_GAP,
        admin_user,
    )
    assert rca.ticket.events.filter(
        actor=admin_user, body="Root cause reclassified from Process gap to Training gap.\nIt was training."
    ).exists()
    assert CoachingItem.objects.filter(rca=rca, agent=agent).exists()


def test_rca_change_form_does_not_accept_the_cause(client, login, admin_user, rca):
    # given
    login(admin_user)

    # when
    client.post(
        reverse("admin:feedback_rootcauseanalysis_change", args=[rca.pk]),
        {"cause_category": CauseCategory.POLICY, "preventable": "", "five_whys": "rewritten"},
    )

    # then
    rca.refresh_from_db()
    assert (rca.cause_category, rca.five_whys) == (CauseCategory.PROCESS_GAP, "Nobody owned the cache.")
    assert client.get(reverse("admin:feedback_rootcauseanalysis_add")).status_code == 403


def test_mark_done_action_is_refused_for_someone_else_s_action_but_not_for_a_manager(
    client, login, admin_user, specialist, rca
):
    # given
    action = CorrectiveAction.objects.get(rca=rca)
    specialist.is_staff = True
    specialist.is_superuser = False
    specialist.save()
    from django.contrib.auth.models import Permission

    specialist.user_permissions.add(*Permission.objects.filter(codename__endswith="correctiveaction"))
    changelist = reverse("admin:feedback_correctiveaction_changelist")

    # when: a specialist who does not own it, then an administrator
    login(specialist)
    refused = client.post(changelist, {"action": "mark_done", "_selected_action": [action.pk]}, follow=True)
    login(admin_user)
    done = client.post(changelist, {"action": "mark_done", "_selected_action": [action.pk]}, follow=True)

    # then
    assert f"Refused — {action}: Only the owner of this action or a manager can mark it done." in _messages(refused)
    assert f"Done (1): {action}: done" in _messages(done)
    action.refresh_from_db()
    assert action.status == ActionStatus.DONE


def test_survey_answers_cannot_be_edited_in_admin(client, login, admin_user, customer, agent, make_ticket, settings):
    # given a resolved ticket in the survey sample, whose survey was scheduled at resolution
    from helpdesk.services import ticket_change_status

    settings.FEEDBACK_SURVEY_SAMPLE_RATE = 1.0
    ticket = make_ticket(customer)
    ticket_change_status(ticket=ticket, actor=agent, status="resolved")
    survey = Survey.objects.get(ticket=ticket, is_escalated=False)
    login(admin_user)
    url = reverse("admin:feedback_survey_change", args=[survey.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert survey.nonce not in page.content.decode()

    # when
    client.post(url, {"csat": 5, "fixed": "on", "comment": "Typed by an admin", "answered_at_0": "2026-01-01"})

    # then
    survey.refresh_from_db()
    assert (survey.csat, survey.comment, survey.answered_at) == (None, "", None)
