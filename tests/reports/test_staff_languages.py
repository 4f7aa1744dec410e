"""The manager dashboard in the manager's own language: headings, tiles, charts and numbers (``1 234,5`` in French)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from reports.charts import format_value

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "words", "english"),
    [
        (
            "fr",
            [
                "Tableau de bord des responsables",
                "Taux d’escalade",
                "À traiter maintenant",
                "Période précédente",
                "28 derniers jours",
                "Escalades par semaine et par type",
            ],
            ["<h1>Manager dashboard</h1>", "Needs attention now", "Previous period"],
        ),
        (
            "es",
            [
                "Panel de responsables",
                "Tasa de escalado",
                "Requiere atención ahora",
                "Periodo anterior",
                "Últimos 28 días",
                "Escalados por semana y tipo",
            ],
            ["<h1>Manager dashboard</h1>", "Needs attention now", "Previous period"],
        ),
    ],
)
def test_the_dashboard_speaks_the_manager_s_language(manager, client, login, language, words, english):
    manager.language = language
    manager.save(update_fields=["language"])
    login(manager)
    response = client.get(reverse("reports_dashboard"))
    page = response.content.decode()
    assert response.status_code == 200
    for word in words:
        assert word in page, word
    for word in english:
        assert word not in page, word


@pytest.mark.parametrize(
    ("language", "count", "rate", "missing"),
    [
        ("en-gb", "1,234", "12.5%", "no data"),
        ("fr", "1\xa0234", "12,5%", "aucune donnée"),
        ("es", "1\xa0234", "12,5%", "sin datos"),
    ],
)
def test_dashboard_numbers_are_written_as_the_reader_writes_them(language, count, rate, missing):
    with translation.override(language):
        assert format_value(1234, "count") == count
        assert format_value(12.5, "%") == rate
        assert format_value(None, "%") == missing
