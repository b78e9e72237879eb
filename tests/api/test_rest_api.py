"""The REST API: the same changes as the browser (same events, same permissions), by token."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import ApiToken
from incidents.models import EventKind, Incident, Status
from tests.api.conftest import am_payload
from tests.factories import declare_queue_incident, make_runbook

pytestmark = pytest.mark.django_db


def test_create_an_incident_naming_its_severity_by_alias(api_client, commander, sev, checkout_runbook):
    call = api_client(commander)
    response = call("post", "/api/v1/incidents/", {"title": "Checkout down", "severity": "P1",
                                                   "service": "checkout-api", "runbooks": [checkout_runbook.slug]})
    assert response.status_code == 201
    body = response.json()
    incident = Incident.objects.get(pk=body["id"])
    assert incident.severity == sev[0] and incident.declared_by == commander and incident.commander == commander
    assert body["severity"] == "SEV1" and body["url"].endswith(f"/incidents/{incident.pk}/")
    assert incident.runbooks.get().runbook == checkout_runbook
    assert incident.timeline.filter(kind=EventKind.DECLARED, actor=commander).exists()


def test_an_idempotency_key_makes_a_retried_create_answer_the_same(api_client, responder, sev):
    call = api_client(responder)
    first = call("post", "/api/v1/incidents/", {"title": "Queue stuck", "severity": "SEV2"}, idempotency_key="k-1")
    again = call("post", "/api/v1/incidents/", {"title": "Queue stuck", "severity": "SEV2"}, idempotency_key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Incident.objects.count() == 1
    other = call("post", "/api/v1/incidents/", {"title": "Something else", "severity": "SEV2"},
                 idempotency_key="k-1")
    assert other.status_code == 422 and "different request" in other.json()["error"]
    # A failed create is not remembered: the same key works once the request is fixed.
    bad = call("post", "/api/v1/incidents/", {"title": "Typo", "severity": "SEV9"}, idempotency_key="k-2")
    assert bad.status_code == 400
    fixed = call("post", "/api/v1/incidents/", {"title": "Typo", "severity": "SEV3"}, idempotency_key="k-2")
    assert fixed.status_code == 201 and Incident.objects.count() == 2


def test_list_and_filter(api_client, viewer, commander, sev):
    call = api_client(viewer)
    open_one = Incident.declare(title="Open one", severity=sev[0], by=commander)
    done = Incident.declare(title="Done one", severity=sev[2], by=commander)
    done.transition(Status.RESOLVED, by=commander)
    body = call("get", "/api/v1/incidents/?status=open").json()
    assert [i["id"] for i in body["results"]] == [open_one.pk] and body["count"] == 1
    body = call("get", "/api/v1/incidents/?severity=minor").json()  # an alias of SEV3
    assert [i["id"] for i in body["results"]] == [done.pk]
    assert call("get", "/api/v1/incidents/?limit=1").json()["count"] == 2
    bad = call("get", "/api/v1/incidents/?status=sleeping")
    assert bad.status_code == 400 and "not a status" in bad.json()["error"]
    assert call("get", "/api/v1/incidents/?severity=SEV9").status_code == 400
    assert call("get", "/api/v1/incidents/?limit=5000").status_code == 400


def test_detail_has_runbooks_checklist_alerts_and_milestones(api_client, viewer, commander, alertmanager,
                                                           post_alerts, checkout_runbook):
    incident = Incident.objects.get(pk=post_alerts(alertmanager, am_payload()).json()["incident"])
    incident.acknowledge(by=commander)
    body = api_client(viewer)("get", f"/api/v1/incidents/{incident.pk}/").json()
    assert body["runbooks"][0]["slug"] == checkout_runbook.slug and body["runbooks"][0]["version"] == 1
    assert [item["text"] for item in body["checklist"]][0] == "Confirm p99 latency on the dashboard"
    assert body["alerts"]["firing"] == 1 and body["alerts"]["items"][0]["fingerprint"] == "a1b2c3d4e5f60718"
    assert body["milestones"]["acknowledged_at"] is not None and body["milestones"]["impact_started_at"]
    assert body["acknowledged_by"] == "Cora Commander"


def test_acknowledge_status_and_notes_go_through_the_model(api_client, commander, sev):
    incident = declare_queue_incident(commander, severity=sev[0])
    call = api_client(commander)
    assert call("post", f"/api/v1/incidents/{incident.pk}/acknowledge/").status_code == 200
    again = call("post", f"/api/v1/incidents/{incident.pk}/acknowledge/")
    assert again.status_code == 409 and "Already acknowledged" in again.json()["error"]
    response = call("post", f"/api/v1/incidents/{incident.pk}/status/", {"status": "resolved", "note": "rolled back"})
    assert response.status_code == 200 and response.json()["status"] == "resolved"
    assert call("post", f"/api/v1/incidents/{incident.pk}/status/", {"status": "identified"}).status_code == 409
    note = call("post", f"/api/v1/incidents/{incident.pk}/notes/", {"text": "Root cause: a bad deploy"},
                idempotency_key="note-1")
    assert note.status_code == 201
    call("post", f"/api/v1/incidents/{incident.pk}/notes/", {"text": "Root cause: a bad deploy"},
         idempotency_key="note-1")
    kinds = list(incident.timeline.values_list("kind", "actor", "message"))
    assert (EventKind.STATUS, commander.pk, "Declared → Resolved: rolled back") in kinds
    assert sum(1 for k in kinds if k[0] == EventKind.NOTE) == 1


def test_checklist_tick_and_skip(api_client, responder, commander, sev):
    incident = declare_queue_incident(commander, severity=sev[0])
    call = api_client(responder)
    items = call("get", f"/api/v1/incidents/{incident.pk}/checklist/").json()
    assert [i["text"] for i in items] == ["Check the queue depth", "Add consumers"]
    ticked = call("post", f"/api/v1/incidents/{incident.pk}/checklist/{items[0]['id']}/tick/")
    assert ticked.json()["state"] == "done" and ticked.json()["changed_by"] == "rosa"
    twice = call("post", f"/api/v1/incidents/{incident.pk}/checklist/{items[0]['id']}/tick/")
    assert twice.status_code == 409 and "already done" in twice.json()["error"]
    no_reason = call("post", f"/api/v1/incidents/{incident.pk}/checklist/{items[1]['id']}/skip/", {"reason": "  "})
    assert no_reason.status_code == 400
    skipped = call("post", f"/api/v1/incidents/{incident.pk}/checklist/{items[1]['id']}/skip/",
                   {"reason": "consumers already at max"})
    assert skipped.json()["state"] == "skipped" and skipped.json()["skip_reason"] == "consumers already at max"
    assert call("post", f"/api/v1/incidents/{incident.pk}/checklist/999999/tick/").status_code == 404


def test_roles_decide_what_a_token_may_do(api_client, viewer, responder, commander, sev):
    incident = declare_queue_incident(commander, severity=sev[0])
    as_viewer, as_responder = api_client(viewer), api_client(responder)
    refused = as_viewer("post", "/api/v1/incidents/", {"title": "x", "severity": "SEV1"})
    assert refused.status_code == 403 and "role does not allow" in refused.json()["error"]
    assert as_viewer("post", f"/api/v1/incidents/{incident.pk}/notes/", {"text": "hi"}).status_code == 403
    assert as_responder("post", f"/api/v1/incidents/{incident.pk}/status/", {"status": "resolved"}).status_code == 403
    assert as_viewer("get", f"/api/v1/incidents/{incident.pk}/").status_code == 200
    assert Incident.objects.count() == 1 and not incident.timeline.filter(kind=EventKind.NOTE).exists()


def test_runbooks_list_and_match(api_client, viewer, checkout_runbook):
    make_runbook("Disk full on a node", alerts=["NodeDiskFull"], patterns=["No space left on device"])
    call = api_client(viewer)
    listed = call("get", "/api/v1/runbooks/").json()
    assert [r["title"] for r in listed["results"]] == ["Checkout latency high", "Disk full on a node"]
    found = call("get", "/api/v1/runbooks/match/?q=write+failed:+No+space+left+on+device").json()
    assert found[0]["runbook"]["title"] == "Disk full on a node"
    assert any("No space left on device" in reason for reason in found[0]["reasons"])
    by_alert = call("get", "/api/v1/runbooks/match/?alertname=CheckoutLatencyHigh").json()
    assert by_alert[0]["runbook"]["slug"] == checkout_runbook.slug
    assert call("get", "/api/v1/runbooks/match/").status_code == 400


def test_tokens_that_do_not_work(client, commander, sev):
    assert client.get("/api/v1/incidents/").status_code == 401
    assert client.get("/api/v1/incidents/", HTTP_AUTHORIZATION="Bearer icu_nope").status_code == 401
    row, token = ApiToken.issue(commander, "old")
    ApiToken.objects.filter(pk=row.pk).update(revoked_at=timezone.now())
    revoked = client.get("/api/v1/incidents/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert revoked.status_code == 401 and "valid API token" in revoked.json()["error"]
    _, token = ApiToken.issue(commander, "new")
    commander.is_active = False
    commander.save()
    assert client.get("/api/v1/incidents/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_a_session_is_not_an_api_login_and_sends_no_redirect(client, commander):
    client.force_login(commander)
    response = client.get("/api/v1/incidents/")
    assert response.status_code == 401 and response["Content-Type"].startswith("application/json")


def test_bad_bodies_are_clear_400s(api_client, commander, sev):
    call = api_client(commander)
    broken = call("post", "/api/v1/incidents/", "{nope")
    assert broken.status_code == 400 and broken.json()["error"] == "The body is not valid JSON."
    missing = call("post", "/api/v1/incidents/", {"severity": "SEV1"})
    assert missing.status_code == 400 and "title" in missing.json()["error"]
    assert missing.json()["details"][0]["field"] == "title"
    unknown = call("post", "/api/v1/incidents/", {"title": "x", "severity": "SEV1", "service": "nope"})
    assert unknown.status_code == 400 and "no service" in unknown.json()["error"]
    assert call("post", "/api/v1/incidents/", {"title": "x", "severity": "SEV1", "runbooks": ["nope"]}) \
        .status_code == 400
    assert call("get", "/api/v1/incidents/999999/").status_code == 404
    assert Incident.objects.count() == 0


def test_a_flood_from_one_api_token_is_429(api_client, viewer, settings):
    from django.core.cache import cache

    cache.clear()
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    call = api_client(viewer)
    statuses = [call("get", "/api/v1/incidents/").status_code for _ in range(4)]
    assert statuses == [200, 200, 429, 429]


def test_nul_characters_in_a_query_or_body_are_a_400(api_client, commander, sev):
    call = api_client(commander)
    assert call("get", "/api/v1/runbooks/match/?q=disk%00full").status_code == 400
    assert call("get", "/api/v1/incidents/?service=a%00b").status_code == 400
    assert call("post", "/api/v1/incidents/", {"title": "a\u0000b", "severity": "SEV1"}).status_code == 400
    assert Incident.objects.count() == 0


def test_a_postmortem_is_read_once_drafted_with_its_sections_items_and_markdown(api_client, commander, viewer, sev):
    from datetime import timedelta

    from incidents.models import ActionItem, Postmortem

    incident = declare_queue_incident(commander, commander=commander)
    call = api_client(viewer)
    missing = call("get", f"/api/v1/incidents/{incident.pk}/postmortem/")
    assert missing.status_code == 404 and "no postmortem yet" in missing.json()["error"]
    incident.transition(Status.RESOLVED, by=commander)
    postmortem = Postmortem.generate(incident, by=commander)
    section = postmortem.sections.get(key="root_cause")
    postmortem.save_section("root_cause", "The **consumer pool** was too small.", version=section.version,
                            by=commander)
    ActionItem.objects.create(incident=incident, description="Alert on queue depth", owner=commander,
                              due_date=timezone.localdate() + timedelta(days=7), created_by=commander)
    body = call("get", f"/api/v1/incidents/{incident.pk}/postmortem/").json()
    assert body["state"] == "draft" and body["published_by"] is None and body["waived"] is False
    written = {s["key"]: s for s in body["sections"]}
    assert written["root_cause"]["text"] == "The **consumer pool** was too small."
    assert written["root_cause"]["drafted"] is False and written["root_cause"]["updated_by"] == "Cora Commander"
    assert [i["description"] for i in body["action_items"]] == ["Alert on queue depth"]
    assert body["markdown"].startswith(f"# Postmortem: #{incident.pk} Orders stuck")
    assert "consumer pool" in body["markdown"] and "Alert on queue depth" in body["markdown"]
    assert call("get", "/api/v1/incidents/999999/postmortem/").status_code == 404
