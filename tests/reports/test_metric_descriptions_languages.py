"""The SLA compliance metrics' long descriptions are whole sentences per target, so each reads in one language."""

from __future__ import annotations

import pytest
from django.utils import translation
from django.utils.translation import gettext

from reports.metrics import METRICS


@pytest.mark.parametrize(
    ("key", "english", "spanish", "french"),
    [
        ("sla_compliance", "Clocks of every target", "Relojes de todos los objetivos", "Chronomètres de tous"),
        (
            "sla_first_response",
            "Clocks of the first response target",
            "Relojes del objetivo de primera respuesta",
            "Chronomètres de l’objectif de première réponse",
        ),
        ("sla_resolution", "Clocks of the resolution target", "Relojes del objetivo de resolución", "Chronomètres"),
    ],
)
def test_each_sla_compliance_description_translates_whole(key, english, spanish, french):
    description = METRICS[key].description
    assert description.startswith(english)
    with translation.override("es"):
        shown = gettext(description)
        assert shown.startswith(spanish) and "Clocks" not in shown and "target" not in shown
    with translation.override("fr"):
        assert gettext(description).startswith(french)
