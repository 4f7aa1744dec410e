"""The one error model (``helpdesk.errors``): the API handler maps each kind to its status and ``{"detail", "code"}``
body, views put it on the form with ``form_errors``, and the apps' own errors are kinds of it."""

from __future__ import annotations

import pytest
from django import forms

from escalations.services import EscalationConflict
from feedback.selectors import SurveyAlreadyAnswered, SurveyExpired, SurveyLinkInvalid, SurveyNotYours
from helpdesk.api.views import api_exception_handler
from helpdesk.errors import ApplicationError, Conflict, Invalid, NotAllowed, NotFound
from helpdesk.models import Ticket
from helpdesk.services import TicketConflict
from helpdesk.views import form_errors
from helpdesk.webhooks import WebhookRefused


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (Conflict("Someone acted first."), 409, "conflict"),
        (NotAllowed("Not yours."), 403, "not_allowed"),
        (Invalid("Bad input."), 400, "invalid"),
        (NotFound("No such thing."), 404, "not_found"),
        (Conflict("Taken.", code="already_accepted"), 409, "already_accepted"),
        (EscalationConflict("Priya Shah accepted this escalation first."), 409, "conflict"),
        (WebhookRefused("endpoint 'x' is disabled"), 403, "not_allowed"),
    ],
)
def test_the_api_handler_maps_each_kind_to_its_status_and_shape(error, status, code):
    # given an application error raised in an API view
    # when the one handler translates it
    response = api_exception_handler(error, {})

    # then
    assert (response.status_code, response.data) == (status, {"detail": str(error), "code": code})


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (SurveyLinkInvalid(), 400, "invalid"),
        (SurveyNotYours(), 404, "invalid"),
        (SurveyExpired(), 410, "expired"),
        (SurveyAlreadyAnswered(), 409, "answered"),
    ],
)
def test_survey_link_errors_keep_their_status_title_and_code(error, status, code):
    # given / when
    response = api_exception_handler(error, {})

    # then
    assert isinstance(error, ApplicationError)
    assert (response.status_code, response.data) == (
        status,
        {"detail": error.message, "title": error.title, "code": code},
    )


def test_a_stale_ticket_version_is_412_with_the_current_version_and_its_etag():
    # given
    error = TicketConflict(ticket=Ticket(version=7), changed_by=None)

    # when
    response = api_exception_handler(error, {})

    # then
    assert isinstance(error, Conflict)
    assert response.status_code == 412
    assert response.data == {"detail": str(error), "code": "conflict", "current_version": 7}
    assert response["ETag"] == '"7"'


class _NoteForm(forms.Form):
    body = forms.CharField()


def test_form_errors_puts_a_conflict_on_top_of_the_form():
    # given
    form = _NoteForm(data={"body": "Hello"})
    assert form.is_valid()

    # when
    form_errors(form, Conflict("Priya Shah accepted this escalation first."))

    # then
    assert form.non_field_errors() == ["Priya Shah accepted this escalation first."]


def test_form_errors_puts_an_invalid_next_to_the_field_it_names():
    # given
    form = _NoteForm(data={"body": "Hello"})
    assert form.is_valid()

    # when
    form_errors(form, Invalid("Too short.", extra={"field": "body"}))

    # then
    assert form.errors == {"body": ["Too short."]}
