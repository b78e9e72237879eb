"""The OpenAPI 3 schema is valid, documents every operation, and every operation answers as documented."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.templatetags.static import static
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate

from accounts.models import ApiToken
from api.urls import openapi_schema
from incidents.models import Integration
from tests.api.conftest import am_payload
from tests.conftest import make_user
from tests.factories import declare_queue_incident, make_runbook, make_severities

pytestmark = pytest.mark.django_db

DOCUMENTED = {
    ("get", "/api/v1/incidents/"), ("post", "/api/v1/incidents/"), ("get", "/api/v1/incidents/{incident_id}/"),
    ("post", "/api/v1/incidents/{incident_id}/acknowledge/"), ("post", "/api/v1/incidents/{incident_id}/status/"),
    ("post", "/api/v1/incidents/{incident_id}/notes/"), ("get", "/api/v1/incidents/{incident_id}/postmortem/"),
    ("get", "/api/v1/incidents/{incident_id}/checklist/"),
    ("post", "/api/v1/incidents/{incident_id}/checklist/{item_id}/tick/"),
    ("post", "/api/v1/incidents/{incident_id}/checklist/{item_id}/skip/"),
    ("get", "/api/v1/runbooks/"), ("get", "/api/v1/runbooks/match/"),
    ("post", "/api/v1/alerts/alertmanager/"), ("post", "/api/v1/alerts/generic/"),
}


def test_the_schema_is_valid_openapi_3_and_lists_every_endpoint():
    schema = openapi_schema()
    validate(schema)
    assert schema["openapi"].startswith("3.")
    found = {(method, path) for path, ops in schema["paths"].items() for method in ops}
    assert found == DOCUMENTED
    assert "AlertmanagerPayload" in schema["components"]["schemas"]
    assert set(schema["components"]["securitySchemes"]) == {"UserToken", "IntegrationToken"}


def test_the_schema_needs_a_login_or_a_token(client, commander):
    assert client.get("/api/v1/schema/").status_code == 401
    _, token = ApiToken.issue(commander, "docs")
    assert client.get("/api/v1/schema/", HTTP_AUTHORIZATION=f"Bearer {token}").json()["info"]["title"]
    client.force_login(commander)
    docs = client.get("/api/v1/docs/").content.decode()
    bundle = static("vendor/swagger-ui-dist-5.35.0/swagger-ui-bundle.js")  # its hashed name, from the manifest
    assert bundle in docs and 'data-schema-url="/api/v1/schema/"' in docs


schema = schemathesis.openapi.from_dict(openapi_schema())
_handler = WSGIHandler()


def APP(environ, start_response):  # noqa: N802 - schemathesis' name for it
    """The console as WSGI, without closing the test's database connection at the end of each request (what
    Django's own test client does too)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = _handler(environ, start_response)
        body = b"".join(response)
        response.close()
        return [body]
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def world(db):
    """Data for every operation: an incident with a checklist, runbooks, a token and integrations of both kinds."""
    make_severities()
    user = make_user("ada", "Admin", is_staff=True)
    declare_queue_incident(user)
    make_runbook("Checkout latency high", alerts=["CheckoutLatencyHigh"])
    _, token = ApiToken.issue(user, "schemathesis")
    tokens = {}
    for kind in Integration.Kind.values:
        integration = Integration(name=kind, kind=kind)
        tokens[kind] = integration.set_new_token()
        integration.save()
    return token, tokens


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_as_documented(case, world, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    settings.ALERTS_RATE_LIMIT_PER_MINUTE = 0
    user_token, integration_tokens = world
    token = user_token
    if case.path.startswith("/api/v1/alerts/"):
        token = integration_tokens["alertmanager" if "alertmanager" in case.path else "generic"]
    wanted = (case.path_parameters or {}).get("incident_id")
    if isinstance(wanted, int) and not isinstance(wanted, bool):  # half of them the real incident
        case.path_parameters["incident_id"] = 1 if wanted % 2 else wanted
    # Over HTTPS, as gunicorn hands on what the TLS proxy forwarded (plain HTTP is redirected).
    response = case.call(base_url="https://localhost", app=APP, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, response.text
    # Auth is ours (a valid token of the right kind on every case); the 401s have their own tests.
    case.validate_response(response, excluded_checks=[schemathesis.checks.negative_data_rejection,
                                                      schemathesis.checks.ignored_auth,
                                                      schemathesis.checks.positive_data_acceptance])


def test_a_real_alertmanager_payload_fits_the_documented_schema():
    from jsonschema import Draft202012Validator

    components = openapi_schema()["components"]["schemas"]
    root = {**components["AlertmanagerPayload"], "$defs": components}
    text = str(root).replace("#/components/schemas/", "#/$defs/")
    import ast

    Draft202012Validator(ast.literal_eval(text)).validate(am_payload())
