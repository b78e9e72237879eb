"""Integrations: hashed tokens, the severity mapping, create_integration, the inbox's replay."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from incidents.alerts.ingest import Rejected, replay
from incidents.models import AlertDelivery, Incident, Integration
from runbooks.models import SeverityLevel
from tests.api.conftest import am_alert, am_payload
from tests.factories import make_severities

pytestmark = pytest.mark.django_db


@pytest.fixture
def sev(db):
    return make_severities()


def make(**extra) -> tuple[Integration, str]:
    integration = Integration(name=extra.pop("name", "prom"), **extra)
    token = integration.set_new_token()
    integration.save()
    return integration, token


def test_the_token_is_stored_as_a_digest_only(sev):
    integration, token = make()
    stored = Integration.objects.values().get(pk=integration.pk)
    assert token not in str(stored)
    assert stored["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert Integration.for_token(token) == integration
    assert Integration.for_token(token + "x") is None and Integration.for_token("") is None
    assert Integration.for_token("icu_" + token[4:]) is None  # a person's token prefix never opens a webhook


@pytest.mark.parametrize(("value", "expected"), [
    ("critical", "SEV1"), ("CRITICAL", "SEV1"), ("warning", "SEV3"), ("P2", "SEV2"), ("major", "SEV2"),
    ("info", "SEV4"), ("", "SEV4"),
])
def test_severity_defaults(sev, value, expected):
    integration, _ = make()
    level, why = integration.severity_for(value)
    assert level.name == expected and why


def test_the_mapping_comes_first_and_the_default_is_the_admins(sev):
    integration, _ = make(severity_map={"critical": "SEV2", "page": "P1"}, default_severity=sev[2])
    assert integration.severity_for("critical")[0] == sev[1]
    assert integration.severity_for("page")[0] == sev[0]
    level, why = integration.severity_for("unheard-of")
    assert level == sev[2] and "the integration's default" in why


def test_critical_and_warning_follow_the_matrix_when_no_alias_names_them(db):
    for rank, name in enumerate(["Emergency", "High", "Medium", "Low"]):
        SeverityLevel.objects.create(name=name, rank=rank)
    integration, _ = make()
    assert integration.severity_for("critical")[0].name == "Emergency"
    assert integration.severity_for("warning")[0].name == "Medium"  # the next but one


def test_without_any_level_nothing_is_declared_and_the_inbox_says_why(db, client):
    integration, token = make()
    response = client.post("/api/v1/alerts/alertmanager/", data=am_payload(), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.json()["decision"] == "ignored"
    assert "no severity level exists" in response.json()["reason"]
    assert Incident.objects.count() == 0


def test_create_integration_prints_the_url_and_the_token_last(sev, settings):
    settings.CONSOLE_URL = "https://console.example.com"
    out = StringIO()
    call_command("create_integration", "prometheus-prod", "--kind", "alertmanager", "--default-severity", "P3",
                 stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert "URL: https://console.example.com/api/v1/alerts/alertmanager/" in lines
    integration = Integration.for_token(lines[-1])
    assert integration.name == "prometheus-prod" and integration.default_severity == sev[2]
    out = StringIO()
    call_command("create_integration", "zabbix", "--kind", "generic", stdout=out)
    assert "/api/v1/alerts/generic/" in out.getvalue()
    assert Integration.for_token(out.getvalue().strip().splitlines()[-1]).kind == "generic"


def test_create_integration_refuses_bad_arguments(sev):
    call_command("create_integration", "dup", stdout=StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_integration", "dup", stdout=StringIO())
    with pytest.raises(CommandError, match="not a severity level"):
        call_command("create_integration", "x", "--default-severity", "SEV9", stdout=StringIO())
    with pytest.raises(CommandError, match="no service"):
        call_command("create_integration", "y", "--default-service", "nope", stdout=StringIO())
    assert Integration.objects.count() == 1


def test_replay_after_fixing_the_mapping_opens_the_incident(db, client):
    """The inbox's answer to 'why did this alert not open an incident?', and its fix."""
    integration, token = make()
    client.post("/api/v1/alerts/alertmanager/", data=am_payload(am_alert(severity="page")),
                content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    first = AlertDelivery.objects.get()
    assert first.decision == "ignored" and "no severity level" in first.reason
    make_severities()
    again = replay(first)
    assert again.decision == "new_incident" and again.replay_of == first and again.incident is not None
    assert Incident.objects.get().severity.name == "SEV4"  # 'page' is unknown: the least severe level


def test_a_delivery_without_its_whole_body_cannot_be_replayed(db):
    line = AlertDelivery.objects.create(kind="alertmanager", decision="rejected", status_code=413, body="{",
                                        body_truncated=True)
    with pytest.raises(Rejected):
        replay(line)
