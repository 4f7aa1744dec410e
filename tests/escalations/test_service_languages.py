"""The escalation services' words in the right language for their reader: the customer's plain words (timeline line
and email) in the customer's language whoever acted; the audit trail in the product's language; tier names, the
risk model's reasons and a service's refusal in the staff member's language."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from escalations.risk_model.explain import explain, reason_in_words
from escalations.services import escalation_accept
from helpdesk.models import EventKind, Notification, NotificationKind, TicketEvent

pytestmark = pytest.mark.django_db


def _speaks(user, language):
    user.language = language
    user.save(update_fields=["language"])
    return user


@pytest.fixture
def french_customer(customer):
    return _speaks(customer, "fr")


def test_a_french_customer_reads_the_escalation_in_french_and_the_audit_stays_english(
    config, french_customer, agent, specialist, make_ticket, escalate
):
    # given a French customer's ticket, escalated by an agent whose request speaks English
    ticket = make_ticket(french_customer, subject="Tableau de bord vide", category="outage")
    with translation.override("en-gb"):
        escalation = escalate(ticket, agent, escalation_type="technical")

    # then their timeline line and their email say it in French, the same words
    line = TicketEvent.objects.get(ticket=ticket, kind=EventKind.ESCALATED, is_public=True)
    assert line.body.startswith("Nous avons transmis votre demande à notre équipe Technical")
    assert "you" not in line.body.split()
    mails = Notification.objects.filter(
        ticket=ticket, recipient=french_customer, kind=NotificationKind.CUSTOMER_ESCALATED
    )
    assert mails.exists()
    for mail in mails:
        assert mail.subject == f"[{ticket.reference}] Du nouveau sur votre demande"
        assert mail.body.startswith("Bonjour") and line.body in mail.body
    # and the internal reason stays as the agent wrote it
    assert TicketEvent.objects.get(ticket=ticket, kind=EventKind.ESCALATED, is_public=False).body == escalation.reason

    # when a specialist reading Spanish accepts it
    with translation.override("es"):
        escalation_accept(escalation=escalation, actor=_speaks(specialist, "es"))

    # then the customer is told in French, and the audit trail says it in English
    told = TicketEvent.objects.get(ticket=ticket, kind=EventKind.ESCALATION_ACCEPTED, is_public=True)
    assert told.body == "Priya, de notre équipe Technical, s’occupe désormais de votre demande et vous répondra ici."
    audit = TicketEvent.objects.get(ticket=ticket, kind=EventKind.ESCALATION_ACCEPTED, is_public=False)
    assert audit.body == "Priya Shah accepted the escalation for our Technical team."
    accepted_mail = Notification.objects.filter(ticket=ticket, recipient=french_customer).latest("pk")
    assert told.body in accepted_mail.body and "Du nouveau sur votre demande" in accepted_mail.subject


def test_an_english_customer_still_reads_english_when_a_french_agent_escalates(
    config, customer, agent, make_ticket, escalate
):
    ticket = make_ticket(customer, subject="Dashboard blank", category="outage")
    with translation.override("fr"):
        escalate(ticket, _speaks(agent, "fr"), escalation_type="technical")
    line = TicketEvent.objects.get(ticket=ticket, kind=EventKind.ESCALATED, is_public=True)
    assert line.body.startswith("We have passed your request to our Technical team")


def test_a_spanish_manager_reads_tier_names_in_spanish(config, manager, client, login):
    login(_speaks(manager, "es"))
    page = client.get(reverse("team_list")).content.decode()
    assert "Nivel 2 (especialistas)" in page and "Tier 2 (specialists)" not in page


def test_a_service_refusal_reaches_a_spanish_agent_in_spanish(
    config, customer, agent, make_ticket, escalate, client, login
):
    # given an escalation to the Technical team, and the agent (not a member) who escalated it, reading Spanish
    escalation = escalate(make_ticket(customer, subject="Dashboard blank", category="outage"), agent)
    login(_speaks(agent, "es"))

    # when they try to accept it
    page = client.post(reverse("escalation_accept", args=[escalation.pk]), follow=True).content.decode()

    # then the service's refusal is in Spanish, the team's name inside it
    assert "Este escalado es para Technical; solo sus miembros o un responsable pueden aceptarlo." in page
    assert "only its members" not in page


REASONS: dict = {
    "names": ["facts__customer_escalations_90d", "facts__messages_2h", "words__third time", "chars__ird"],
    "contributions": [(0, 1.4), (1, 0.9), (2, 0.6), (3, 0.2)],
    "raw": {"customer_escalations_90d": 2, "messages_2h": 3},
}


def test_risk_reasons_are_stored_in_english_and_shown_in_the_reader_s_language():
    # given reasons worked out while a Spanish request was active
    with translation.override("es"):
        reasons = explain(**REASONS)
    # then they are stored in the product's language
    assert [r["text"] for r in reasons] == [
        "customer escalated 2 times in the last 90 days",
        "3 customer messages in 2 hours",
        "message: ‘third time’",
        "wording like past escalations (spelling and phrasing)",
    ]
    # and a Spanish (or French) reader gets them in their language, plural and all
    with translation.override("es"):
        assert [reason_in_words(r) for r in reasons] == [
            "el cliente escaló 2 veces en los últimos 90 días",
            "3 mensajes del cliente en 2 horas",
            "mensaje: «third time»",
            "redacción parecida a escalados anteriores (ortografía y expresiones)",
        ]
    with translation.override("fr"):
        assert reason_in_words(reasons[0]) == "client ayant escaladé 2 fois ces 90 derniers jours"
    # a quoted priority or channel by its label in the reader's language
    priority = explain(names=["facts__priority=high"], contributions=[(0, 0.5)], raw={})[0]
    assert priority["text"] == "high priority"
    with translation.override("fr"):
        assert reason_in_words(priority) == "priorité haute"
    # a reason stored before the facts were kept shows its stored text
    assert reason_in_words({"text": "old words", "weight": 1.0}) == "old words"


def test_the_risk_panel_shows_the_reasons_in_spanish():
    assessment = SimpleNamespace(
        model_version=3, likelihood=0.8, explanations=explain(**REASONS), signals=[], scored_at=timezone.now()
    )
    with translation.override("es"):
        html = render_to_string("escalations/_risk_reasons.html", {"assessment": assessment})
    assert "<li>el cliente escaló 2 veces en los últimos 90 días</li>" in html
    assert "customer escalated" not in html
