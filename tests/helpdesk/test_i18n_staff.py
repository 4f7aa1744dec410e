"""The staff screens in French and Spanish: the queue, the ticket workspace, the knowledge-base editor, the profile
and the flash messages after an action follow the staff member's own language; the check covers the staff template
folders whole; durations are written with the language's units."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from helpdesk.i18n_check import template_files, templates_unmarked
from helpdesk.templatetags.helpdesk_ui import short_duration

pytestmark = pytest.mark.django_db


def _speaks(user, language: str) -> None:
    user.language = language
    user.save(update_fields=["language"])


def _page(client, url: str, **extra) -> str:
    response = client.get(url, **extra)
    assert response.status_code == 200
    return response.content.decode()


def test_the_queue_in_french_for_a_french_agent(client, agent, customer, make_ticket):
    # given an agent who chose French and one ticket in their queue
    _speaks(agent, "fr")
    with translation.override("en-gb"):
        make_ticket(customer, subject="Imprimante en feu")
    client.force_login(agent)
    # when the browser asks for English, then the user's choice still wins
    page = _page(client, "/tickets/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert '<html lang="fr">' in page
    for french in (
        "Ma file",
        "Attribués à vous, plus les tickets non attribués de vos équipes.",
        "Enregistrer cette vue",
        "Référence",
        "Dernière activité",
        "Trier par",
        "SLA : échéance proche",
        "Tout statut ouvert",
        "1 ticket",
        "Imprimante en feu",
    ):
        assert french in page, french
    assert "Save this view" not in page and "Last activity" not in page


def test_the_queue_in_spanish(client, agent, customer, make_ticket):
    _speaks(agent, "es")
    with translation.override("en-gb"):
        make_ticket(customer)
        make_ticket(customer)
    client.force_login(agent)
    page = _page(client, "/tickets/?scope=all")
    assert '<html lang="es">' in page
    assert "Todos los tickets" in page and "Guardar esta vista" in page and "2 tickets" in page
    assert "Última actividad" in page and "Ordenar por" in page


def test_the_workspace_in_french_costs_no_more_queries_than_in_english(client, agent, customer, make_ticket):
    # given a ticket
    with translation.override("en-gb"):
        ticket = make_ticket(customer)
    client.force_login(agent)
    url = f"/tickets/{ticket.reference}/"
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as english:
        english_page = _page(client, url)
    # when the agent switches to French
    _speaks(agent, "fr")
    with CaptureQueriesContext(connection) as french:
        page = _page(client, url)
    # then the workspace speaks French, its form labels and choices too
    for word in (
        "Répondre au client",
        "Note interne",
        "personnel uniquement · jamais montrée au client",
        ">Enregistrer</button>",
        "Envoyer la réponse",
        "Ajouter une étiquette",
        "Autres tickets",
        "Aucune pièce jointe.",
        'for="id_status">Statut',
        'for="id_priority">Priorité',
        'for="id_assignee">Attribué à',
        "Non attribué",
    ):
        assert word in page, word
    assert "Reply to customer" in english_page and "Reply to customer" not in page
    # and the translation costs no query
    assert len(french) <= len(english)


def test_a_flash_message_after_an_action_is_in_the_agent_s_language(client, agent, customer, make_ticket):
    _speaks(agent, "fr")
    with translation.override("en-gb"):
        ticket = make_ticket(customer)
    client.force_login(agent)
    response = client.post(f"/tickets/{ticket.reference}/tags/add/", {"name": "vip"}, follow=True)
    assert response.status_code == 200
    assert "Étiquette « vip » ajoutée." in response.content.decode()


def test_a_refusal_on_the_workspace_is_in_the_agent_s_language(client, agent, customer, make_ticket):
    # given a French agent who sends an empty internal note
    _speaks(agent, "fr")
    with translation.override("en-gb"):
        ticket = make_ticket(customer)
    client.force_login(agent)
    response = client.post(f"/tickets/{ticket.reference}/note/", {"body": "   "})
    # then the form says so in French, never a 500
    assert response.status_code == 400
    assert "Ce champ est obligatoire." in response.content.decode()


def test_the_knowledge_base_editor_in_french(client, manager):
    _speaks(manager, "fr")
    client.force_login(manager)
    page = _page(client, "/kb/articles/new/")
    for word in (
        "Nouvel article",
        'for="id_title">Titre',
        'for="id_visibility">Visibilité',
        "Interne (personnel uniquement)",
        "Public (clients compris)",
        "Mots-clés, séparés par des virgules, que les clients saisiraient.",
        "Enregistrer le brouillon",
        "Annuler",
    ):
        assert word in page, word
    # and a refused save explains itself in French
    response = client.post("/kb/articles/new/", {"title": "Titre", "body": "  ", "visibility": "internal"})
    assert response.status_code == 200
    assert "Ce champ est obligatoire." in response.content.decode()


def test_the_knowledge_base_list_in_spanish(client, agent):
    _speaks(agent, "es")
    client.force_login(agent)
    page = _page(client, "/kb/")
    assert "Base de conocimiento" in page
    assert "Nuevo artículo" in page and "Cola de revisión" in page and "0 artículos publicados" in page


def test_the_profile_in_french(client, agent):
    _speaks(agent, "fr")
    client.force_login(agent)
    page = _page(client, "/profile/")
    for word in ("Jetons d’API personnels", "Nom du jeton", "Créer le jeton", "Vous n’avez encore aucun jeton."):
        assert word in page, word


def test_the_data_protection_screen_in_french(client, manager):
    _speaks(manager, "fr")
    client.force_login(manager)
    page = _page(client, "/privacy/requests/")
    assert "Demandes relatives aux données personnelles" in page and "Trouver un client" in page


def test_the_check_covers_the_staff_template_folders():
    # given the templates the check reads
    checked = {path.as_posix().split("/templates/", 1)[1] for path in template_files()}
    # then the staff screens of these folders are in it
    for name in (
        "helpdesk/queue.html",
        "helpdesk/workspace.html",
        "helpdesk/profile.html",
        "knowledge_base/article_form.html",
        "knowledge_base/health.html",
        "privacy/requests.html",
        "_partials/_keyset_pagination.html",
    ):
        assert name in checked, name


def test_the_check_fails_on_a_new_unmarked_staff_template(tmp_path):
    # given a new staff screen in a checked folder with one unmarked sentence
    (tmp_path / "knowledge_base").mkdir()
    (tmp_path / "knowledge_base" / "new_screen.html").write_text(
        '{% load i18n %}<h1>{% translate "Fine" %}</h1>\n<p>Forgot to mark this</p>\n'
    )
    # when / then the check names it
    assert [str(f) for f in templates_unmarked(tmp_path)] == [
        "templates/knowledge_base/new_screen.html:2: not marked for translation: 'Forgot to mark this'"
    ]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en-gb", ["2d 4h", "3h 20m", "12m"]),
        ("fr", ["2 j 4 h", "3 h 20 min", "12 min"]),
        ("es", ["2 d 4 h", "3 h 20 min", "12 min"]),
    ],
)
def test_short_durations_use_the_language_s_units(language, expected):
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    spans = [timedelta(days=2, hours=4), timedelta(hours=3, minutes=20), timedelta(minutes=12)]
    with translation.override(language):
        assert [short_duration(now - span, now) for span in spans] == expected
        assert short_duration(now, now) == "now"  # a code the templates compare against, never shown as such
