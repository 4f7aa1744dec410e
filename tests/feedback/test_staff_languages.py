"""The RCA form in the staff member's language, while the audit trail it writes stays in the product's language."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from feedback.rca import rca_create, rca_review
from helpdesk.models import TicketEvent

pytestmark = pytest.mark.django_db

WHYS = "1. The invoice doubled. 2. The retry ran twice. 3. No idempotency key."


@pytest.fixture
def resolved_ticket(escalated_ticket, resolve):
    resolve(escalated_ticket)
    return escalated_ticket


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("fr", ["Analyse des causes (RCA)", "Actions correctives", "Défaut produit", "Enregistrer la RCA"]),
        ("es", ["Análisis de causa raíz (RCA)", "Acciones correctivas", "Defecto del producto", "Guardar el RCA"]),
    ],
)
def test_the_rca_form_in_french_and_spanish(resolved_ticket, specialist, client, login, language, words):
    specialist.language = language
    specialist.save(update_fields=["language"])
    login(specialist)
    response = client.get(reverse("rca_create", args=[resolved_ticket.reference]))
    page = response.content.decode()
    assert response.status_code == 200
    for word in words:
        assert word in page, word
    assert "Corrective actions" not in page


def test_an_rca_event_is_written_in_english_whatever_the_reviewer_reads(resolved_ticket, agent, manager, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "knowledge_base.services", None)  # no KB draft
    rca = rca_create(
        ticket=resolved_ticket, actor=agent, cause_category="process_gap", preventable=False, five_whys=WHYS
    )
    with translation.override("fr"):
        rca_review(rca=rca, actor=manager, cause_category="training_gap")
    event = TicketEvent.objects.filter(ticket=resolved_ticket, kind="rca").latest("id")
    assert event.body == "Root cause reclassified from Process gap to Training gap."


@pytest.mark.parametrize(
    ("language", "title"), [("fr", "Ce lien ne fonctionne pas"), ("es", "Este enlace no funciona")]
)
def test_a_broken_survey_link_is_explained_in_the_visitor_s_language(client, language, title):
    # when a customer opens an altered survey link with a French (or Spanish) browser
    response = client.get(reverse("survey_answer", args=["not-a-token"]), HTTP_ACCEPT_LANGUAGE=language)
    # then the page says so in that language, with the link error's status
    assert response.status_code == 400
    assert f"<h1>{title}</h1>" in response.content.decode()
