"""GET /healthz: database and broker status as JSON, no login, 503 when the database is gone."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError
from django.urls import reverse

from console import health


@pytest.fixture
def fine_broker():
    with mock.patch.object(health, "_broker", return_value={"ok": True, "transport": "test"}):
        yield


def test_healthz_reports_the_database_and_the_broker_without_a_login(client, db):
    response = client.get(reverse("healthz"))
    body = response.json()
    assert body["database"]["ok"] is True
    assert set(body["broker"]) >= {"ok"}
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_is_200_and_ok_when_everything_answers(client, db, fine_broker):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_healthz_is_503_when_the_database_is_unreachable(client, db, fine_broker):
    with mock.patch.object(health.connection, "cursor", side_effect=OperationalError("connection refused")):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["database"] == {"ok": False, "error": "connection refused"}


def test_healthz_stays_200_but_degraded_when_only_the_broker_is_down(client, db):
    with mock.patch.object(health.celery_app.pool, "acquire", side_effect=ConnectionRefusedError(111, "no")):
        response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["broker"]["ok"] is False


def test_healthz_only_answers_get(client, db):
    assert client.post("/healthz").status_code == 405
