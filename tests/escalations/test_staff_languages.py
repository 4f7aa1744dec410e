"""The staff escalation screens in the staff member's own language: the inbox, an escalation's page and the review
queue in French and in Spanish (tests run in English otherwise), with the list's words for its script."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def escalation(config, customer, agent, make_ticket, escalate):
    ticket = make_ticket(customer, subject="Dashboard not loading", category="outage")
    return escalate(ticket, agent, escalation_type="technical")


def _as(user, language, client, login):
    user.language = language
    user.save(update_fields=["language"])
    return login(user)


@pytest.mark.parametrize(
    ("language", "words", "english"),
    [
        (
            "fr",
            ["Boîte des escalades", "En attente d’acceptation", "Technique", "Le client souhaite", "Accepter"],
            ["<h1>Escalation inbox</h1>", "Waiting for someone to accept", "Customer wants"],
        ),
        (
            "es",
            ["Bandeja de escalados", "Esperando que alguien acepte", "Técnico", "El cliente quiere", "Aceptar"],
            ["<h1>Escalation inbox</h1>", "Waiting for someone to accept", "Customer wants"],
        ),
    ],
)
def test_the_inbox_speaks_the_specialist_s_language(escalation, specialist, client, login, language, words, english):
    # given a billing specialist who chose French (or Spanish) on the profile
    _as(specialist, language, client, login)
    # when the inbox opens
    response = client.get(reverse("escalation_inbox"))
    page = response.content.decode()
    # then its headings, the escalation's type, the dossier's labels and the actions are in that language
    assert response.status_code == 200
    assert f'<html lang="{language}">' in page
    assert escalation.ticket.reference in page
    for word in words:
        assert word in page, word
    for word in english:
        assert word not in page, word


def test_the_list_script_gets_its_words_in_the_page_s_language(escalation, specialist, client, login):
    _as(specialist, "fr", client, login)
    page = client.get(reverse("escalation_inbox")).content.decode()
    assert 'data-left="{distance} restantes"' in page
    assert 'data-cannot-accept="Vous ne pouvez pas accepter cette escalade ici."' in page


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "fr",
            ["Escalade « Technique » : Dashboard not loading", "La chaîne", "Échelon 1", "Renvoyer avec des conseils"],
        ),
        ("es", ["Escalado «Técnico»: Dashboard not loading", "La cadena", "Escalón 1", "Devolver con indicaciones"]),
    ],
)
def test_an_escalation_page_in_french_and_spanish(escalation, specialist, client, login, language, words):
    _as(specialist, language, client, login)
    response = client.get(reverse("escalation_detail", args=[escalation.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    for word in words:
        assert word in page, word
    assert "The chain" not in page


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("fr", ["Revue des escalades", "Filtrer les escalades", "Référence", "Niveau"]),
        ("es", ["Revisión de escalados", "Filtrar escalados", "Referencia", "Nivel"]),
    ],
)
def test_the_review_queue_in_french_and_spanish(escalation, manager, client, login, language, words):
    _as(manager, language, client, login)
    response = client.get(reverse("escalation_review"))
    page = response.content.decode()
    assert response.status_code == 200
    for word in words:
        assert word in page, word
    assert "<h1>Escalation review</h1>" not in page


def test_an_english_speaker_still_reads_english(escalation, specialist, client, login):
    _as(specialist, "en-gb", client, login)
    page = client.get(reverse("escalation_inbox")).content.decode()
    assert "Escalation inbox" in page and "Customer wants" in page and "Technical" in page


def test_the_check_reads_words_not_the_css_of_a_style_block():
    from helpdesk.i18n_check import unmarked_text

    # given a template with a style block (the escalate form's) and unmarked words after it
    source = "<style>.escalate-form:has(#type-x:checked) .only-x { display: block; }</style>\n<p>Left in English</p>"
    # then only the words are found
    assert [(f.line, f.text) for f in unmarked_text(source)] == [(2, "Left in English")]


@pytest.mark.parametrize("language", ["fr", "es"])
def test_every_other_staff_screen_renders_in_french_and_spanish(
    escalation, agent, manager, admin_user, teams, client, login, language
):
    # given an agent and a manager who read French (or Spanish)
    for user in (agent, manager, admin_user):
        user.language = language
        user.save(update_fields=["language"])
    screens = {
        agent: [
            reverse("escalation_new", args=[escalation.ticket.reference]),
            f"{reverse('ticket_detail', args=[escalation.ticket.reference])}?call=1",
            reverse("my_callbacks"),
            reverse("follow_up_list"),
            reverse("team_list"),
            reverse("team_detail", args=[teams["technical"].slug]),
        ],
        manager: [
            reverse("compensation_approvals"),
            reverse("rca_review_queue"),
            reverse("incident_list"),
            reverse("incident_new"),
            reverse("reports_coaching"),
            reverse("reports_explorer") + "?metric=escalations&group=type",
        ],
        admin_user: [reverse("reports_sla_simulator")],
    }
    for user, urls in screens.items():
        login(user)
        for url in urls:
            # when each screen opens
            response = client.get(url)
            # then it answers in that language, without an error
            assert response.status_code == 200, url
            assert f'<html lang="{language}">' in response.content.decode(), url
