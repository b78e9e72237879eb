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


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def test_anonymous_callers_learn_only_ok_or_not_ok(client, db, fine_broker):
    assert client.get("/healthz").json() == {"status": "ok"}
    with mock.patch.object(health.connection, "cursor", side_effect=OperationalError("db.internal:5432 refused")):
        response = client.get("/healthz")
    assert response.status_code == 503 and response.json() == {"status": "not ok"}
    with mock.patch.object(health, "_broker", return_value={"ok": False, "error": "redis.internal refused"}):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "not ok"}


@pytest.mark.integration
def test_healthz_reports_the_database_and_the_broker_to_staff(staff, redis):
    response = staff.get(reverse("healthz"))
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["broker"] == {"ok": True, "transport": "redis"}  # the Redis tests/services.py started answered
    assert body["status"] == "ok" and response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_is_200_and_ok_when_everything_answers(staff, fine_broker):
    response = staff.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_healthz_names_what_failed_to_staff(staff):
    with mock.patch.object(health, "_database", return_value={"ok": True, "vendor": "postgresql"}), \
            mock.patch.object(health, "_broker", return_value={"ok": False, "error": "redis.internal refused"}):
        body = staff.get("/healthz").json()
    assert body == {"status": "degraded", "database": {"ok": True, "vendor": "postgresql"},
                    "broker": {"ok": False, "error": "redis.internal refused"}}


def test_healthz_stays_200_but_degraded_when_only_the_broker_is_down(staff):
    with mock.patch.object(health.celery_app.pool, "acquire", side_effect=ConnectionRefusedError(111, "no")):
        response = staff.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["broker"]["ok"] is False


def test_healthz_only_answers_get(client, db):
    assert client.post("/healthz").status_code == 405
