"""Languages and time zones: the user's choice, then the browser; the customer side in French and Spanish; emails in
the recipient's language; staff times in their own zone; and the check that fails on an unmarked string."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime

import pytest
from django.utils import translation

from helpdesk.customer_time import customer_datetime
from helpdesk.i18n_check import templates_unmarked, unmarked_text
from helpdesk.models import Notification, NotificationKind

pytestmark = pytest.mark.django_db


def test_the_check_finds_words_outside_translation_tags_and_in_wordy_attributes():
    # given a template with unmarked text, an unmarked placeholder, and text that is covered
    source = (
        '{% load i18n %}<h1>{% translate "Fine" %}</h1>\n'
        "<p>Left in English</p>\n"
        '<input placeholder="Type here" value="{{ x }}" class="wide">\n'
        "{% blocktranslate %}Covered {{ name }}{% endblocktranslate %}{# a comment #}\n"
        "{% comment %}Notes for developers{% endcomment %}<span>{{ value }} · 3</span>\n"
        '<meta name="viewport" content="width=device-width">'
    )
    # when
    findings = unmarked_text(source, path="t.html")
    # then exactly the two unmarked places, with their lines
    assert [(f.line, f.text) for f in findings] == [(2, "Left in English"), (3, "Type here")]


def test_every_customer_facing_template_is_marked():
    assert [str(f) for f in templates_unmarked()] == []


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en-gb", "Tuesday 1 December 2026, 11:00 (Europe/Paris)"),
        ("fr", "mardi 1 décembre 2026, 11:00 (Europe/Paris)"),
        ("es", "martes 1 de diciembre de 2026, 11:00 (Europe/Paris)"),
    ],
)
def test_customer_dates_are_written_in_the_active_language(language, expected):
    with translation.override(language):
        moment = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
        assert customer_datetime(moment, tz=zoneinfo.ZoneInfo("Europe/Paris"), year=True) == expected


def test_the_portal_follows_the_browser_then_the_user_s_own_choice(client, customer):
    client.force_login(customer)
    # the browser asks for Spanish, the customer chose nothing
    page = client.get("/tickets/", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9").content.decode()
    assert '<html lang="es">' in page and "Mis solicitudes" in page and "Nueva solicitud" in page
    # the customer chooses French on the profile: it wins over the browser
    response = client.post("/profile/preferences/", {"language": "fr", "timezone": "Europe/Paris"})
    assert response.status_code == 302
    page = client.get("/tickets/", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9").content.decode()
    assert '<html lang="fr">' in page and "Mes demandes" in page and "Vous n’avez encore aucune demande." in page
    customer.refresh_from_db()
    assert (customer.language, customer.timezone) == ("fr", "Europe/Paris")


def test_preferences_refuse_an_unknown_language_or_zone_and_change_nothing(client, customer):
    client.force_login(customer)
    response = client.post("/profile/preferences/", {"language": "tlh", "timezone": "Mars/Olympus"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose one of the languages offered." in page and "Choose a time zone from the list." in page
    customer.refresh_from_db()
    assert (customer.language, customer.timezone) == ("", "")


def test_the_help_centre_speaks_the_visitor_s_language_without_an_account(client):
    page = client.get("/help/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Centre d’aide" in page and "Comment pouvons-nous vous aider ?" in page


def test_emails_are_written_in_the_customer_s_language(customer, make_ticket):
    # given a customer who reads Spanish
    customer.language = "es"
    customer.save(update_fields=["language"])
    # when they open a request (the web request's language is English)
    with translation.override("en-gb"):
        ticket = make_ticket(customer, subject="Wi-fi caído")
    # then the acknowledgement is in Spanish, subject and body
    mail = Notification.objects.get(ticket=ticket, recipient=customer, kind=NotificationKind.TICKET_CREATED)
    assert mail.subject == f"[{ticket.reference}] Hemos recibido su solicitud"
    assert mail.body == (
        "Hola, Dana Reyes:\n\nGracias por contactarnos. Su solicitud «Wi-fi caído» tiene la referencia "
        f"{ticket.reference}. Le responderemos lo antes posible."
    )


def test_staff_see_times_in_their_own_zone_with_its_name(client, agent, customer, make_ticket):
    # given an agent working from New York and a ticket opened at 15:00 UTC
    agent.timezone = "America/New_York"
    agent.save(update_fields=["timezone"])
    with translation.override("en-gb"):
        ticket = make_ticket(customer)
    event = ticket.events.get(kind="created")
    local = event.created_at.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    # when
    client.force_login(agent)
    page = client.get(f"/tickets/{ticket.reference}/").content.decode()
    # then the timeline shows New York time, labelled
    assert f"{local:%H:%M} {local.tzname()}" in page


@pytest.mark.once  # gettext over the sources, the same whatever the database
def test_the_catalogue_check_finds_a_new_untranslated_string_and_leaves_the_catalogues_untouched(monkeypatch):
    # given a source file with a marked string that no catalogue translates yet
    from pathlib import Path

    from django.conf import settings

    from helpdesk.i18n_check import catalog_gaps

    base = Path(settings.BASE_DIR)
    monkeypatch.chdir(base)
    catalogues = {po: po.read_bytes() for po in (base / "locale").glob("*/LC_MESSAGES/django.po")}
    probe = base / "helpdesk" / "_i18n_probe_for_test.py"
    probe.write_text('from django.utils.translation import gettext\n\nPROBE = gettext("Zzq probe never translated")\n')
    try:
        # when
        gaps = catalog_gaps()
    finally:
        probe.unlink()
    # then both languages report the gap, and the committed catalogues are byte for byte as they were
    assert {gap.split(":")[0] for gap in gaps} == {"fr", "es"}
    assert all("1 untranslated" in gap for gap in gaps)
    assert {po: po.read_bytes() for po in catalogues} == catalogues
