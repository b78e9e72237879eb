"""Bad deliveries: a clear JSON error, never a 500, and nothing stored but the inbox line."""

from __future__ import annotations

import json

import pytest

from incidents.models import Alert, AlertDelivery, AlertGroup, Incident, Integration
from tests.api.conftest import am_alert, am_payload

pytestmark = pytest.mark.django_db


def only_the_inbox_line(status: int):
    assert Incident.objects.count() == 0 and Alert.objects.count() == 0 and AlertGroup.objects.count() == 0
    line = AlertDelivery.objects.get()
    assert line.decision == "rejected" and line.status_code == status
    return line


@pytest.mark.parametrize(("raw", "expected"), [
    ("{not json", "not valid JSON (line 1, column 2)"),
    ("", "The body is empty"),
    ("[1, 2]", "must be a JSON object"),
    ('{"version": "3", "groupKey": "g", "status": "firing", "alerts": []}', "version"),
    (json.dumps({**am_payload(), "alerts": [{"status": "firing", "labels": {}}]}), "alerts.0.startsAt"),
    (json.dumps({**am_payload(), "status": "exploded"}), "status"),
    (json.dumps(am_payload(am_alert(fingerprint="bad\u0000fp"))), "NUL"),
])
def test_a_body_that_does_not_fit_is_refused_with_why(alertmanager, post_alerts, raw, expected):
    response = post_alerts(alertmanager, None, raw=raw)
    assert response.status_code == 400
    assert expected in response.json()["error"]
    line = only_the_inbox_line(400)
    assert expected in line.reason and line.integration == alertmanager


def test_bytes_that_are_not_utf8_are_refused(alertmanager, client):
    response = client.post("/api/v1/alerts/alertmanager/", data=b'{"a": "\xff\xfe"}', content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {alertmanager.token}")
    assert response.status_code == 400 and "UTF-8" in response.json()["error"]
    only_the_inbox_line(400)


def test_a_generic_alert_without_title_or_key(generic, post_alerts):
    response = post_alerts(generic, {"status": "firing", "severity": "P1"})
    assert response.status_code == 400
    assert "title" in response.json()["error"] and "dedup_key" in response.json()["error"]
    only_the_inbox_line(400)


def test_a_body_over_one_megabyte_is_413(alertmanager, post_alerts):
    payload = am_payload(am_alert(summary="x" * 9000))
    payload["alerts"] = payload["alerts"] * 130  # ~1.2 MB
    response = post_alerts(alertmanager, payload)
    assert response.status_code == 413
    assert "at most 1,048,576" in response.json()["error"]
    line = only_the_inbox_line(413)
    assert line.body_truncated and len(line.body) == 64 * 1024


def test_no_token_or_a_wrong_one_is_401_and_the_token_is_not_kept(alertmanager, post_alerts):
    response = post_alerts(alertmanager, am_payload(), token="")
    assert response.status_code == 401 and "No token" in response.json()["error"]
    response = post_alerts(alertmanager, am_payload(), token="ici_wrong-token-value")
    assert response.status_code == 401 and "matches no active integration" in response.json()["error"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert Incident.objects.count() == 0 and Alert.objects.count() == 0
    lines = list(AlertDelivery.objects.order_by("pk"))
    assert [line.status_code for line in lines] == [401, 401] and lines[1].integration is None
    assert "ici_wrong-token-value" not in json.dumps(lines[1].headers) + lines[1].body
    assert "Authorization" not in lines[1].headers and lines[1].headers["Content-Type"] == "application/json"


def test_an_inactive_integration_is_refused(alertmanager, post_alerts):
    Integration.objects.filter(pk=alertmanager.pk).update(is_active=False)
    assert post_alerts(alertmanager, am_payload()).status_code == 401


def test_a_token_posted_to_the_other_kind_of_webhook_is_told_where_to_go(generic, post_alerts):
    response = post_alerts(generic, am_payload(), path="/api/v1/alerts/alertmanager/")
    assert response.status_code == 400 and "/api/v1/alerts/generic/" in response.json()["error"]
    only_the_inbox_line(400)


def test_a_flood_from_one_token_is_429_and_keeps_one_line(alertmanager, post_alerts, settings):
    settings.ALERTS_RATE_LIMIT_PER_MINUTE = 3
    from django.core.cache import cache

    cache.clear()
    statuses = [post_alerts(alertmanager, am_payload()).status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 429, 429, 429]
    refused = post_alerts(alertmanager, am_payload())
    assert "Too many deliveries" in refused.json()["error"] and int(refused["Retry-After"]) > 0
    assert AlertDelivery.objects.filter(status_code=429).count() == 1  # the first refusal of the minute only
    assert Alert.objects.get().seen_count == 3


def test_guessing_tokens_from_one_address_is_rate_limited_too(alertmanager, post_alerts, settings):
    settings.ALERTS_RATE_LIMIT_PER_MINUTE = 2
    from django.core.cache import cache

    cache.clear()
    statuses = [post_alerts(alertmanager, am_payload(), token=f"ici_guess{n}").status_code for n in range(5)]
    assert statuses == [401, 401, 429, 429, 429]
    assert AlertDelivery.objects.count() == 3


def test_get_on_a_webhook_is_405_json(alertmanager, client):
    response = client.get("/api/v1/alerts/alertmanager/", HTTP_AUTHORIZATION=f"Bearer {alertmanager.token}")
    assert response.status_code == 405


@pytest.mark.parametrize("payload", [
    {"title": "t", "dedup_key": "k", "details": {"key": "value\u0000"}},
    {"title": "t", "dedup_key": "k", "links": ["https://x\u0000"]},
    {"title": "t", "dedup_key": "k", "started_at": "9999-12-31T23:59:59-23:00"},
    {"title": "t", "dedup_key": "k", "labels": {"a\u0000": "b"}, "details": 5},
])
def test_values_postgresql_cannot_store_are_refused_not_failed(generic, post_alerts, payload):
    """Found by schemathesis: NUL characters, and times beyond what a database column holds."""
    response = post_alerts(generic, payload)
    assert response.status_code == 400
    only_the_inbox_line(400)


def test_a_far_offset_time_is_kept_in_utc(alertmanager, post_alerts):
    alert = am_alert()
    alert["startsAt"] = "2026-11-30T09:00:00+23:57"
    assert post_alerts(alertmanager, am_payload(alert)).status_code == 200
    assert Alert.objects.get().starts_at.isoformat() == "2026-11-29T09:03:00+00:00"
