"""Deliveries at the same moment on PostgreSQL: the constraints, not a read before the write, keep one of each."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection

from accounts.models import ApiToken
from incidents.models import Alert, AlertDelivery, AlertGroup, Incident, Integration
from tests.api.conftest import am_alert, am_payload
from tests.conftest import https_client, make_user
from tests.factories import make_severities

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
THREADS = 8


def at_once(count: int, send) -> list:
    """Run send(i) in `count` threads released together; each thread has its own database connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = send(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.fixture
def integration(postgres):
    make_severities()
    integration = Integration(name="prom")
    integration.token = integration.set_new_token()
    integration.save()
    return integration


def post(integration, payload):
    response = https_client().post("/api/v1/alerts/alertmanager/", data=json.dumps(payload),
                             content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {integration.token}")
    return response.status_code, response.json().get("decision")


def test_the_same_new_group_delivered_at_once_opens_one_incident(integration):
    payload = am_payload(am_alert(fingerprint="f1"), am_alert(fingerprint="f2", instance="c-2"))
    results = at_once(THREADS, lambda i: post(integration, payload))
    assert all(status == 200 for status, _ in results), results
    decisions = sorted(d for _, d in results)
    assert decisions == ["duplicate"] * (THREADS - 1) + ["new_incident"]
    assert Incident.objects.count() == 1 and AlertGroup.objects.count() == 1
    assert sorted(Alert.objects.values_list("fingerprint", "seen_count")) == [("f1", THREADS), ("f2", THREADS)]
    assert AlertDelivery.objects.count() == THREADS


def test_new_fingerprints_joining_at_once_each_land_once(integration):
    post(integration, am_payload(am_alert(fingerprint="f0")))
    payloads = [am_payload(am_alert(fingerprint="f0"), am_alert(fingerprint=f"n{i % 2}", instance=f"c{i % 2}"))
                for i in range(THREADS)]
    results = at_once(THREADS, lambda i: post(integration, payloads[i]))
    assert all(status == 200 for status, _ in results), results
    assert sorted(d for _, d in results).count("added") == 2  # n0 and n1 join once each; the rest are repeats
    incident = Incident.objects.get()
    assert Alert.objects.filter(incident=incident).counts() == (3, 0)
    assert Alert.objects.get(fingerprint="n0").seen_count == THREADS // 2


def test_one_idempotency_key_sent_twice_at_once_creates_once(postgres):
    make_severities()
    user = make_user("cora", "Commander")
    _, token = ApiToken.issue(user, "ci")

    def create(i):
        response = https_client().post("/api/v1/incidents/", data=json.dumps({"title": "Once", "severity": "SEV2"}),
                                 content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
                                 HTTP_IDEMPOTENCY_KEY="deploy-42")
        return response.status_code, response.json().get("id")

    results = at_once(4, create)
    assert {status for status, _ in results} == {201}
    assert len({pk for _, pk in results}) == 1 and Incident.objects.count() == 1


def test_repeats_delivered_at_once_are_each_counted_once(integration):
    payload = am_payload(am_alert(fingerprint="fp-1"))
    assert post(integration, payload) == (200, "new_incident")
    results = at_once(THREADS, lambda i: post(integration, payload))
    assert results == [(200, "duplicate")] * THREADS
    assert Alert.objects.get().seen_count == 1 + THREADS
    assert AlertDelivery.objects.filter(decision="duplicate", incident=Incident.objects.get()).count() == THREADS
