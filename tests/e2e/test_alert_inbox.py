"""An admin finds why an alert opened no incident in the inbox, fixes the cause, and replays the delivery."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from incidents.models import AlertDelivery, Incident, Integration
from tests.api.conftest import am_alert, am_payload
from tests.conftest import https_client
from tests.factories import make_severities

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_inbox_says_why_and_a_replay_opens_the_incident(admin_user, new_page, tmp_path):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    integration = Integration(name="prometheus-prod")
    token = integration.set_new_token()
    integration.save()
    sender = https_client()

    def send(body):
        return sender.post("/api/v1/alerts/alertmanager/", data=body, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")

    send(json.dumps(am_payload(am_alert(fingerprint="9f3c2a7b01d4e5f6", name="PostgresReplicationLag"),
                               group_key='{}:{alertname="PostgresReplicationLag"}')))
    send("{truncated json")
    assert Incident.objects.count() == 0  # no severity matrix yet: nothing could be declared

    page = new_page(admin_user)
    page.goto("/admin/incidents/alertdelivery/")
    page.wait_for_selector("#result_list")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    assert "no severity level exists" in rows.nth(1).inner_text()
    assert "not valid JSON" in rows.nth(0).inner_text()
    page.screenshot(path=str(shots / "inbox-list.png"), full_page=True)
    page.fill("#searchbar", "9f3c2a7b01d4e5f6")
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list tbody tr >> text=Ignored")
    assert page.locator("#result_list tbody tr").count() == 1

    make_severities()  # the cause, fixed
    page.locator("#result_list tbody tr th a").first.click()
    page.wait_for_selector("text=Replay this delivery")
    assert "Authorization" not in page.inner_text("body")
    page.screenshot(path=str(shots / "inbox-delivery.png"), full_page=True)
    page.click("text=Replay this delivery")
    page.wait_for_selector(".messagelist >> text=replayed as")
    incident = Incident.objects.get()
    assert page.locator(f"a[href='/incidents/{incident.pk}/']").count() >= 1
    replayed = AlertDelivery.objects.get(replay_of__isnull=False)
    assert replayed.decision == "new_incident" and page.url.endswith(f"/{replayed.pk}/change/")

    page.goto(f"/incidents/{incident.pk}/")
    assert page.inner_text(".alert-counts") == "1 firing / 0 resolved"
    page.screenshot(path=str(shots / "incident-alerts.png"), full_page=True)
    for scheme, width in (("dark", 390), ("light", 1920)):
        other = new_page(admin_user, color_scheme=scheme, width=width)
        other.goto(f"/incidents/{incident.pk}/")
        other.screenshot(path=str(shots / f"incident-alerts-{scheme}-{width}.png"))
        other.goto("/admin/incidents/alertdelivery/")
        other.screenshot(path=str(shots / f"inbox-{scheme}-{width}.png"))


def test_the_api_docs_page_lists_the_operations(commander, new_page, tmp_path):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page = new_page(commander)
    page.goto("/api/v1/docs/")
    page.wait_for_selector(".opblock-summary-path >> text=/api/v1/alerts/alertmanager/")
    from api.urls import openapi_schema

    schema = openapi_schema()
    operations = sum(len(ops) for ops in schema["paths"].values())
    assert operations >= 14 and page.locator(".opblock").count() == operations
    page.screenshot(path=str(shots / "api-docs.png"))
