"""An incident's page in the manager's own language."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "fr",
            [
                "Incidents majeurs",
                "Message aux clients",
                "Publier une mise à jour",
                "Analyse en cours",
                "Aucune mise à jour pour l’instant.",
            ],
        ),
        (
            "es",
            [
                "Incidentes graves",
                "Lo que se dice a los clientes",
                "Publicar una actualización",
                "En investigación",
                "Aún no hay actualizaciones.",
            ],
        ),
    ],
)
def test_an_incident_page_in_french_and_spanish(declare, manager, client, login, language, words):
    incident = declare()
    manager.language = language
    manager.save(update_fields=["language"])
    login(manager)
    response = client.get(reverse("incident_detail", args=[incident.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    for word in words:
        assert word in page, word
    assert "Post an update" not in page
