"""A customer with 20 tickets built through the real services, with unique markers planted in every kind of personal
data we hold (profile, subjects, descriptions, messages, attachments, survey comment, call notes, callbacks, dossier,
KB search query), and helpers that scan the whole database, the storage folders and the search for them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

# Every marker starts with "zq" and this run's random tag: files left in the shared test storage by an earlier run
# (whose database rows were rolled back) never match.
TAG = "zq" + secrets.token_hex(3)
PROFILE = {
    "username": f"{TAG}user",
    "first_name": f"{TAG}first".capitalize(),
    "last_name": f"{TAG}last".capitalize(),
    "email": f"{TAG}email@{TAG}mail.test",
    "phone": "+44 7700 900461",
}
PROFILE_MARKERS = [
    f"{TAG}user",
    f"{TAG}first",
    f"{TAG}last",
    f"{TAG}email",
    f"{TAG}mail",
    "7700 900461",
    "447700900461",
]


@dataclass
class Planted:
    customer: object
    tickets: list = field(default_factory=list)
    markers: list[str] = field(default_factory=list)
    attachment_names: list[str] = field(default_factory=list)


def storage_roots() -> list[Path]:
    roots = [Path(settings.PRIVATE_MEDIA_ROOT)]
    default = settings.STORAGES["default"].get("OPTIONS", {}).get("location")
    if default:
        roots.append(Path(default))
    return roots


def markers_in_storage(markers: list[str]) -> list[str]:
    found = []
    for root in storage_roots():
        if not root.exists():
            continue
        for path in root.rglob("*"):
            if path.is_file():
                text = (path.name + "\n" + path.read_bytes().decode("utf-8", "replace")).lower()
                found += [f"{path}: {m}" for m in markers if m.lower() in text]
    return found


def markers_in_models(markers: list[str]) -> list[str]:
    """Every text and JSON column of every model in the app registry."""
    from django.apps import apps
    from django.db import models

    found = []
    for model in apps.get_models():
        columns = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, (models.CharField, models.TextField, models.JSONField))
        ]
        if not columns:
            continue
        for row in model._default_manager.values_list(*columns):
            text = " ".join(str(value) for value in row).lower()
            found += [f"{model._meta.label}: {m}" for m in markers if m.lower() in text]
    return found


def markers_in_sql_dump(markers: list[str]) -> list[str]:
    """A raw dump of every table the database has (sessions, admin log, join tables ... included)."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 -- names from introspection
            for row in cursor.fetchall():
                text = " ".join(str(value) for value in row).lower()
                found += [f"{table}: {m}" for m in markers if m.lower() in text]
    return found


@pytest.fixture
def planted(customer, agent, specialist, compliance_officer, manager, teams, make_ticket, escalate, config, settings):
    """20 tickets for a customer whose every personal datum carries a marker; a mix of open, resolved and closed,
    escalated (one compliance escalation), surveyed, called back, with attachments."""
    from escalations.calls.services import call_log, callback_create
    from feedback.selectors import survey_token_make
    from feedback.services import SurveyAnswers, survey_submit, surveys_send_due
    from helpdesk.models import User
    from helpdesk.services import ticket_add_internal_note, ticket_change_status, ticket_reply
    from knowledge_base.services import article_create, article_set_status, article_vote, deflection_record_open

    settings.FEEDBACK_SURVEY_SAMPLE_RATE = 1.0
    settings.FEEDBACK_SURVEY_DELAY_MINUTES = 0
    User.objects.filter(pk=customer.pk).update(**PROFILE)
    customer.refresh_from_db()
    planted = Planted(customer=customer, markers=list(PROFILE_MARKERS))
    for i in range(20):
        subject, description, message = (
            f"{TAG}subj{i:02d} printer",
            f"{TAG}desc{i:02d} it jams",
            f"{TAG}msg{i:02d} still broken",
        )
        name = f"{TAG}attach{i:02d}.txt"
        ticket = make_ticket(
            customer,
            subject=subject,
            description=description,
            files=[SimpleUploadedFile(name, f"{TAG}file{i:02d} log line".encode(), content_type="text/plain")],
        )
        planted.markers += [f"{TAG}subj{i:02d}", f"{TAG}desc{i:02d}", f"{TAG}file{i:02d}", f"{TAG}attach{i:02d}"]
        planted.attachment_names.append(name)
        ticket_reply(ticket=ticket, author=agent, body=f"Hello {customer.first_name}, could you send the log?")
        ticket_reply(ticket=ticket, author=customer, body=message)
        planted.markers.append(f"{TAG}msg{i:02d}")
        ticket_add_internal_note(ticket=ticket, author=agent, body=f"Called {customer.get_full_name()} back.")
        if i < 8:
            ticket_change_status(ticket=ticket, actor=agent, status="resolved")
        if i < 4:
            ticket_change_status(ticket=ticket, actor=agent, status="closed")
        ticket.refresh_from_db()
        planted.tickets.append(ticket)

    first = planted.tickets[0]
    surveys_send_due(now=timezone.now() + timedelta(minutes=1))
    survey = first.survey
    survey_submit(
        token=survey_token_make(survey=survey),
        answers=SurveyAnswers(csat=2, fixed=False, explain_count=3, nps=4, comment=f"{TAG}surveycomment was slow"),
    )
    planted.markers.append(f"{TAG}surveycomment")

    open_ticket = planted.tickets[10]
    call_log(
        actor=agent,
        ticket=open_ticket,
        direction="inbound",
        number=PROFILE["phone"],
        summary=f"{TAG}callnote customer read out the serial",
        outcome="escalated",
        duration_seconds=300,
    )
    callback_create(
        ticket=open_ticket,
        actor=agent,
        window_start=timezone.now() + timedelta(hours=1),
        window_end=timezone.now() + timedelta(hours=3),
        reason=f"{TAG}callbackreason wants a call after lunch",
        number=PROFILE["phone"],
    )
    planted.markers += [f"{TAG}callnote", f"{TAG}callbackreason"]

    # The likely-to-escalate model quotes the customer's words in its explanations (escalations.risk_model.explain);
    # stored as its scorer stores them, since training a model is not what this test is about.
    from escalations.models import RiskAssessment

    RiskAssessment.objects.update_or_create(
        ticket=open_ticket,
        defaults={
            "likelihood": 0.7,
            "model_version": 1,
            "explanations": [{"text": f"message: '{TAG}riskquote'", "weight": 0.4}],
        },
    )
    planted.markers.append(f"{TAG}riskquote")

    escalate(planted.tickets[11], agent, escalation_type="technical", dossier_problem=f"{TAG}dossier printer jams")
    compliance_ticket = planted.tickets[12]
    escalate(
        compliance_ticket, agent, escalation_type="compliance", dossier_problem=f"{TAG}gdpr wants everything erased"
    )
    planted.markers += [f"{TAG}dossier", f"{TAG}gdpr"]

    article = article_create(actor=manager, title="Printer jams", body="Open the tray and pull gently.")
    article = article_set_status(article=article, actor=manager, status="published")
    article_vote(article=article, user=customer, helpful=True)
    deflection_record_open(article=article, user=customer, session_key="s-1", query=f"{TAG}kbquery printer")
    planted.markers.append(f"{TAG}kbquery")
    return planted


@pytest.fixture
def second_admin(db):
    from helpdesk.models import User

    return User.objects.create_user(
        username="admin2", password="pw-admin2", role="admin", email="admin2@example.test", is_staff=True
    )


@pytest.fixture
def closed_tickets(customer, customer2, agent, make_ticket, plans, settings):
    """7 closed tickets of an Enterprise customer (retention 30 days), 1 open one, and 2 closed Basic tickets
    (no retention period); all of one shape (no survey sampled)."""
    settings.FEEDBACK_SURVEY_SAMPLE_RATE = 0
    plans["enterprise"].retention_days = 30
    plans["enterprise"].save()

    from helpdesk.models import Status
    from helpdesk.services import ticket_change_status, ticket_reply

    def closed(who, i):
        ticket = make_ticket(who, subject=f"retained subject {i}", description=f"retained description {i}")
        ticket_reply(ticket=ticket, author=who, body=f"retained message {i}")
        ticket_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
        ticket_change_status(ticket=ticket, actor=agent, status=Status.CLOSED)
        ticket.refresh_from_db()
        return ticket

    due = [closed(customer, i) for i in range(7)]
    still_open = make_ticket(customer, subject="open subject", description="open description")
    kept = [closed(customer2, 100 + i) for i in range(2)]
    return due, still_open, kept
