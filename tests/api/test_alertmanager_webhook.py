"""Alertmanager's webhook: groups become incidents, fingerprints become alerts, repeats are counted."""

from __future__ import annotations

from unittest import mock

import pytest

from incidents.models import Alert, AlertDelivery, AlertGroup, EventKind, EventSource, Incident, Status
from tests.api.conftest import am_alert, am_payload, later

pytestmark = pytest.mark.django_db

KEY = '{}/{severity="critical"}:{alertname="CheckoutLatencyHigh"}'


def test_a_new_group_firing_declares_an_incident_with_its_runbook(alertmanager, post_alerts, checkout_runbook, sev):
    response = post_alerts(alertmanager, am_payload(am_alert(starts=later(-7))))
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "new_incident"
    incident = Incident.objects.get(pk=body["incident"])
    assert incident.severity == sev[0]  # severity=critical -> the top level
    assert incident.service.name == "checkout-api"
    assert incident.impact_started_at == later(-7)
    assert incident.declared_by is None
    assert [link.runbook for link in incident.runbooks.all()] == [checkout_runbook]
    assert incident.checklist.count() == 3
    declared = incident.timeline.get(kind=EventKind.DECLARED)
    assert declared.source == EventSource.ALERT
    assert "Checkout latency high" in body["reason"] and "SEV1" in body["reason"]


def test_alerts_of_one_group_with_different_fingerprints_make_one_incident(alertmanager, post_alerts, sev):
    payload = am_payload(am_alert(fingerprint="f1", instance="checkout-1"), am_alert(fingerprint="f2", instance="c-2"),
                         am_alert(fingerprint="f3", instance="checkout-3"), group_key=KEY)
    assert post_alerts(alertmanager, payload).json()["decision"] == "new_incident"
    assert Incident.objects.count() == 1
    assert Alert.objects.filter(incident=Incident.objects.get()).count() == 3
    # Alertmanager re-sends the group with one more alert: it joins the same incident.
    payload["alerts"].append(am_alert(fingerprint="f4", instance="checkout-4"))
    body = post_alerts(alertmanager, payload).json()
    assert body["decision"] == "added"
    incident = Incident.objects.get()
    assert Alert.objects.filter(incident=incident).counts() == (4, 0)
    joined = incident.timeline.filter(kind=EventKind.ALERT).last()
    assert "checkout-4" in joined.message and "(4 firing / 0 resolved)" in joined.message


def test_a_repeat_bumps_the_count_and_last_seen_and_creates_nothing(alertmanager, post_alerts, sev):
    post_alerts(alertmanager, am_payload())
    first = Alert.objects.get()
    events = Incident.objects.get().timeline.count()
    for _ in range(3):
        body = post_alerts(alertmanager, am_payload()).json()
        assert body["decision"] == "duplicate"
    alert = Alert.objects.get()
    assert alert.seen_count == 4 and alert.last_seen_at > first.last_seen_at
    assert Incident.objects.count() == 1 and AlertGroup.objects.count() == 1
    assert Incident.objects.get().timeline.count() == events  # repeats are counted, not written to the timeline
    assert AlertDelivery.objects.count() == 4


def test_firing_then_resolved_for_the_same_fingerprint_is_a_timeline_event(alertmanager, post_alerts, sev, client,
                                                                            commander):
    post_alerts(alertmanager, am_payload(am_alert(fingerprint="f1"), am_alert(fingerprint="f2", instance="c-2"),
                                         am_alert(fingerprint="f3", instance="c-3"), am_alert(fingerprint="f4",
                                         instance="c-4"), am_alert(fingerprint="f5", instance="c-5")))
    resolved = am_payload(am_alert(fingerprint="f1", status="resolved", ends=later(12)),
                          am_alert(fingerprint="f2", instance="c-2", status="resolved", ends=later(12)),
                          am_alert(fingerprint="f3", instance="c-3"), am_alert(fingerprint="f4", instance="c-4"),
                          am_alert(fingerprint="f5", instance="c-5"))
    body = post_alerts(alertmanager, resolved).json()
    assert body["decision"] == "resolved"
    incident = Incident.objects.get()
    assert Alert.objects.get(fingerprint="f1").status == "resolved"
    assert Alert.objects.get(fingerprint="f1").resolved_at == later(12)
    event = incident.timeline.filter(kind=EventKind.ALERT).last()
    assert "resolved (3 firing / 2 resolved)" in event.message
    assert incident.status == Status.DECLARED  # the integration does not allow resolving to mitigate
    client.force_login(commander)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "3 firing / 2 resolved" in page


def test_every_alert_resolved_moves_the_incident_to_mitigated_when_the_integration_says_so(
        make_integration, post_alerts):
    integration = make_integration("alertmanager", resolved_mitigates=True)
    post_alerts(integration, am_payload(am_alert(fingerprint="f1"), am_alert(fingerprint="f2", instance="c-2")))
    incident = Incident.objects.get()
    post_alerts(integration, am_payload(am_alert(fingerprint="f1", status="resolved", ends=later(5)),
                                        am_alert(fingerprint="f2", instance="c-2")))
    incident.refresh_from_db()
    assert incident.status == Status.DECLARED  # one still fires
    body = post_alerts(integration, am_payload(am_alert(fingerprint="f1", status="resolved", ends=later(5)),
                                               am_alert(fingerprint="f2", instance="c-2", status="resolved",
                                                        ends=later(9)))).json()
    incident.refresh_from_db()
    assert incident.status == Status.MITIGATED and incident.mitigated_at is not None
    assert incident.acknowledged_at is None  # the console moved it; nobody acknowledged it
    assert "mitigated" in body["reason"]
    move = incident.timeline.get(kind=EventKind.STATUS)
    assert move.source == EventSource.ALERT and move.actor is None


def test_truncated_alerts_keep_the_incident_from_being_mitigated(make_integration, post_alerts):
    integration = make_integration("alertmanager", resolved_mitigates=True)
    post_alerts(integration, am_payload(am_alert(fingerprint="f1"), truncated=40))
    body = post_alerts(integration, am_payload(am_alert(fingerprint="f1", status="resolved", ends=later(3)),
                                               status="firing", truncated=40)).json()
    incident = Incident.objects.get()
    assert incident.status == Status.DECLARED
    assert "left out" in body["reason"] and "truncatedAlerts" in body["reason"]
    assert "40 left out by Alertmanager" in incident.summary


def test_empty_common_annotations_still_give_a_title_from_the_alert_name(alertmanager, post_alerts):
    payload = am_payload(am_alert(fingerprint="f1", instance="db-1", name="PostgresDown", summary="db-1 is down"),
                         am_alert(fingerprint="f2", instance="db-2", name="PostgresDown", summary="db-2 is down"),
                         group_key='{}:{alertname="PostgresDown"}', common_annotations={})
    post_alerts(alertmanager, payload)
    incident = Incident.objects.get()
    assert incident.title == "PostgresDown"
    assert "db-1 is down" in incident.summary and "db-2 is down" in incident.summary


def test_a_new_alert_after_acknowledgement_asks_to_notify_again(alertmanager, post_alerts, commander):
    post_alerts(alertmanager, am_payload(am_alert(fingerprint="f1")))
    incident = Incident.objects.get()
    incident.acknowledge(by=commander)
    with mock.patch.object(AlertGroup, "on_new_alert_for_acknowledged_incident") as hook:
        post_alerts(alertmanager, am_payload(am_alert(fingerprint="f1"), am_alert(fingerprint="f2", instance="c-2")))
    assert hook.call_count == 1
    notified, alerts = hook.call_args.args
    assert notified.pk == incident.pk and [a.fingerprint for a in alerts] == ["f2"]
    event = incident.timeline.filter(kind=EventKind.ALERT).last()
    assert event.data["renotify"] is True and "after the incident was acknowledged" in event.message


def test_once_its_incident_is_resolved_the_group_fires_into_a_new_incident(alertmanager, post_alerts, commander):
    post_alerts(alertmanager, am_payload(am_alert(fingerprint="f1")))
    first = Incident.objects.get()
    first.transition(Status.RESOLVED, by=commander)
    # Alertmanager repeats the still-firing alert: the problem is back, and gets its own incident.
    body = post_alerts(alertmanager, am_payload(am_alert(fingerprint="f1"))).json()
    assert body["decision"] == "new_incident" and body["incident"] != first.pk
    assert "already resolved" in body["reason"]
    assert AlertGroup.objects.filter(is_open=True).count() == 1 and AlertGroup.objects.count() == 2
    assert Alert.objects.get().incident_id == body["incident"]


def test_resolved_alerts_for_a_group_without_an_incident_are_ignored_with_a_reason(alertmanager, post_alerts):
    body = post_alerts(alertmanager, am_payload(am_alert(status="resolved", ends=later(1)))).json()
    assert body["decision"] == "ignored" and "nothing to open" in body["reason"]
    assert Incident.objects.count() == 0


def test_the_severity_label_goes_through_the_integrations_mapping(make_integration, post_alerts, sev):
    integration = make_integration("alertmanager", severity_map={"page": "P2"})
    post_alerts(integration, am_payload(am_alert(severity="page")))
    assert Incident.objects.get().severity == sev[1]


def test_alerts_from_two_integrations_with_the_same_group_key_stay_apart(make_integration, post_alerts):
    one, two = make_integration("alertmanager"), make_integration("alertmanager")
    post_alerts(one, am_payload())
    post_alerts(two, am_payload())
    assert Incident.objects.count() == 2


def test_a_new_alert_after_acknowledgement_pages_the_first_tier_again(alertmanager, post_alerts, commander, sev):
    from incidents.models import Page
    from tests.paging_factories import make_person, make_policy

    ana = make_person("Ana")
    make_policy(sev[0], [(5, [ana])])
    post_alerts(alertmanager, am_payload(am_alert(fingerprint="f1")))
    incident = Incident.objects.get()
    assert list(Page.objects.filter(incident=incident).values_list("name", "kind")) == [("Ana", "tier")]
    incident.acknowledge(by=commander)
    post_alerts(alertmanager, am_payload(am_alert(fingerprint="f1"), am_alert(fingerprint="f2", instance="c-2")))
    assert list(Page.objects.filter(incident=incident).order_by("pk").values_list("name", "kind")) == [
        ("Ana", "tier"), ("Ana", "renotify")]
    said = incident.timeline.filter(kind=EventKind.ESCALATION).last()
    assert "Paging Ana by email again" in said.message and "CheckoutLatencyHigh" in said.message
    # The same delivery again is a duplicate: nobody is paged a third time.
    post_alerts(alertmanager, am_payload(am_alert(fingerprint="f1"), am_alert(fingerprint="f2", instance="c-2")))
    assert Page.objects.filter(incident=incident).count() == 2


@pytest.mark.integration
def test_a_repeat_on_postgresql_is_the_token_and_one_statement(alertmanager, post_alerts, sev, postgres,
                                                               django_assert_num_queries):
    first = post_alerts(alertmanager, am_payload()).json()
    with django_assert_num_queries(2):  # the integration, then group + count + inbox line at once
        body = post_alerts(alertmanager, am_payload()).json()
    assert body["decision"] == "duplicate" and body["incident"] == first["incident"]
    line = AlertDelivery.objects.get(pk=body["delivery"])
    assert line.incident_id == first["incident"] and f"#{first['incident']} is open" in line.reason
    assert line.outcomes == [{"fingerprint": "a1b2c3d4e5f60718", "alert": "CheckoutLatencyHigh",
                              "status": "firing", "what": "repeat"}]
    assert line.group_key and line.fingerprints == ["a1b2c3d4e5f60718"] and line.headers
    assert Alert.objects.get().seen_count == 2


def test_known_alerts_beside_a_new_one_are_counted_once(alertmanager, post_alerts, sev):
    post_alerts(alertmanager, am_payload(am_alert(fingerprint="f1"), am_alert(fingerprint="f2", instance="c-2"),
                                         group_key=KEY))
    body = post_alerts(alertmanager, am_payload(am_alert(fingerprint="f1"), am_alert(fingerprint="f2", instance="c-2"),
                                                am_alert(fingerprint="f3", instance="c-3"), group_key=KEY)).json()
    assert body["decision"] == "added"
    assert dict(Alert.objects.values_list("fingerprint", "seen_count")) == {"f1": 2, "f2": 2, "f3": 1}
    assert AlertDelivery.objects.count() == 2


def test_a_repeat_of_an_alert_that_resolved_meanwhile_is_not_a_duplicate(alertmanager, post_alerts, sev):
    post_alerts(alertmanager, am_payload())
    Alert.objects.update(status="resolved")  # as a resolved delivery would have left it
    body = post_alerts(alertmanager, am_payload()).json()
    assert body["decision"] == "added"  # it fires again: refired, on the incident's timeline
    assert Alert.objects.get().status == "firing"
