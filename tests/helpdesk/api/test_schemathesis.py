"""Property-based run of schemathesis against /api/schema/, once per role, bounded in examples (not in seconds: the brief keeps timings out of tests): no 5xx,
every status code, content type, header and body conforms to the schema."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from helpdesk.api.services import api_token_create

# Slow (every operation for every role) and the same on either database: CI runs it on the first pass only.
pytestmark = pytest.mark.once

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Invalid input must be refused cleanly: a documented 4xx, never a 5xx.
NEGATIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]
MAX_EXAMPLES = 6
MAX_NEGATIVE_EXAMPLES = 4


@pytest.mark.parametrize("role", ["customer", "customer2", "agent", "specialist", "manager", "admin", "anonymous"])
def test_schemathesis_per_role(role, people, tickets, teams, world, product, settings_override_rates):
    # given the live schema, loaded from the WSGI app, and a token for the role
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    user = people[role]
    headers = {}
    spare_token_id = 0
    if user is not None:
        _token, raw = api_token_create(user=user, name="schemathesis")
        spare, _ = api_token_create(user=user, name="spare")
        headers = {"Authorization": f"Bearer {raw}"}
        spare_token_id = spare.pk
    reference = (tickets["other_org"] if role == "customer2" else tickets["mine"]).reference
    from incidents.services import incident_declare

    incident = incident_declare(actor=people["manager"], title="Dashboard down", customer_message="We are on it.")
    ids = {
        "/api/incidents/": incident.pk,
        "/api/tokens/": spare_token_id,
        "/api/teams/": teams["managers"].pk,
        "/api/escalations/": world["escalation"].pk,
        "/api/approvals/": world["compensation"].pk,
        "/api/sla-policies/": world["sla_policy"].pk,
        "/api/kb/articles/": world["public_article"].pk,
        "/api/calls/": product["calls"]["visible"].pk,
        "/api/callbacks/": product["callbacks"]["visible"].pk,
        "/api/attachments/": product["attachments"]["public"].pk,
        "/api/notifications/": product["customer_notification"].pk,
        "/api/organizations/": people["customer"].organization_id,
        "/api/contacts/": people["customer"].pk,
        "/api/vendor-cases/": product["vendor_cases"]["visible"].pk,
        "/api/rcas/": product["rcas"]["visible"].pk,
        "/api/corrective-actions/": product["actions"]["visible"].pk,
        "/api/follow-ups/": product["follow_ups"]["visible"].pk,
        "/api/survey-results/": product["surveys"]["visible"].pk,
        "/api/saved-views/": product["saved_views"]["team"].pk,
    }
    no_leak = _no_leak_check(user)
    path_parameters = {"reference": reference, "token": world["survey_token"]}
    operations = 0
    # when every operation is exercised with generated data
    for result in schema.get_all_operations():
        operation = result.ok()
        fixed = {name: value for name, value in path_parameters.items() if "{" + name + "}" in operation.path}
        if "{id}" in operation.path:
            fixed["id"] = next(pk for prefix, pk in ids.items() if operation.path.startswith(prefix))

        for mode, checks, examples in (
            (GenerationMode.POSITIVE, CHECKS, MAX_EXAMPLES),
            (GenerationMode.NEGATIVE, NEGATIVE_CHECKS, MAX_NEGATIVE_EXAMPLES),
        ):
            checks = [*checks, no_leak]
            _exercise(operation, mode=mode, checks=checks, examples=examples, path_parameters=fixed, headers=headers)
        operations += 1
    assert operations >= 60


def _no_leak_check(user):
    """A check of our own: no answer to this role names a ticket it may not see (its reference or subject), in
    any body, list, count, nested field or file."""
    from helpdesk.models import Ticket
    from helpdesk.selectors import ticket_is_visible_to

    hidden = [
        (ticket.reference, ticket.subject)
        for ticket in Ticket.objects.all()
        if user is None or not ticket_is_visible_to(user=user, ticket=ticket)
    ]
    assert hidden or (user is not None and user.is_manager)

    def no_restricted_ticket_leaks(ctx, response, case):
        text = response.content.decode(errors="replace")
        leaked = [reference for reference, subject in hidden if reference in text or subject in text]
        assert not leaked, f"{case.operation.label} named tickets the caller may not see: {leaked}"

    return no_restricted_ticket_leaks


def _exercise(operation, *, mode, checks, examples, path_parameters, headers) -> None:
    """Generate up to ``examples`` cases for one operation, call the app and run the checks on each response."""

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None))
    def run(case):
        # then each response passes every check (an assertion error names the failing one)
        case.call_and_validate(headers=headers, checks=checks)

    try:
        run()
    except Unsatisfiable:
        # A public GET whose only input is the fixed path parameter has nothing to make invalid.
        if mode != GenerationMode.NEGATIVE:
            raise


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI handler closes the DB connection after each request; Django's own test client disconnects that
    handler for the same reason (the test's transaction lives on that connection)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def settings_override_rates(settings):
    # Throttles and the lockout are tested elsewhere; here they would only turn generated calls into 429s.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000/min"),
    }
    settings.LOGIN_LOCKOUT_FAILURES = 100000
    return settings
