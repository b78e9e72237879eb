"""The generic JSON webhook: one alert per request, deduplicated by its key."""

from __future__ import annotations

import pytest

from incidents.models import Alert, Incident

pytestmark = pytest.mark.django_db


def disk(**extra):
    return {"title": "Disk almost full on db-1", "severity": "warning", "service": "postgres",
            "dedup_key": "db-1/disk/var", "status": "firing", "details": {"mount": "/var", "used": "93%"},
            "links": [{"href": "https://grafana.example.com/d/disk", "text": "Disk dashboard"}], **extra}


def test_a_generic_alert_declares_and_repeats_are_counted(generic, post_alerts, sev):
    body = post_alerts(generic, disk()).json()
    assert body["decision"] == "new_incident"
    incident = Incident.objects.get()
    assert incident.title == "Disk almost full on db-1"
    assert incident.severity == sev[2]  # warning -> two below the top
    assert "mount: /var" in incident.summary and "https://grafana.example.com/d/disk" in incident.summary
    assert post_alerts(generic, disk()).json()["decision"] == "duplicate"
    assert Alert.objects.get().seen_count == 2


def test_resolving_by_the_same_dedup_key(generic, post_alerts):
    post_alerts(generic, disk())
    body = post_alerts(generic, disk(status="resolved")).json()
    assert body["decision"] == "resolved"
    assert Alert.objects.get().status == "resolved"
    assert Alert.objects.filter(incident=Incident.objects.get()).counts() == (0, 1)


def test_an_unknown_severity_takes_the_integrations_default(make_integration, post_alerts, sev):
    integration = make_integration("generic", default_severity=sev[1])
    body = post_alerts(integration, disk(severity="hmm")).json()
    assert Incident.objects.get().severity == sev[1]
    assert "the integration's default" in body["reason"]


def test_a_known_service_name_is_used_and_details_may_be_text(generic, post_alerts):
    from tests.factories import make_service

    service = make_service("postgres")
    post_alerts(generic, disk(details="free text here", links=["https://example.com/x"]))
    incident = Incident.objects.get()
    assert incident.service == service and "free text here" in incident.summary
