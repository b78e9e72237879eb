"""Alert payloads shaped like Alertmanager's (written here, not copied), integrations and API tokens."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import ApiToken
from incidents.models import Integration
from tests.factories import make_runbook, make_service, make_severities

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
NO_END = "0001-01-01T00:00:00Z"


def am_alert(name="CheckoutLatencyHigh", fingerprint="a1b2c3d4e5f60718", *, status="firing", starts=T0,
             ends=None, severity="critical", instance="checkout-1:9100", summary=None, **labels):
    return {
        "status": status,
        "labels": {"alertname": name, "severity": severity, "instance": instance, "service": "checkout-api",
                   **labels},
        "annotations": {"summary": summary or f"{name} on {instance}",
                        "description": "p99 latency above 2s for 5 minutes"},
        "startsAt": starts.isoformat().replace("+00:00", "Z"),
        "endsAt": (ends.isoformat().replace("+00:00", "Z") if ends else NO_END),
        "generatorURL": f"http://prometheus.internal:9090/graph?g0.expr=latency%7Binstance%3D%22{instance}%22%7D",
        "fingerprint": fingerprint,
    }


def am_payload(*alerts, group_key='{}/{severity="critical"}:{alertname="CheckoutLatencyHigh"}', status=None,
               truncated=0, common_annotations=None):
    alerts = list(alerts) or [am_alert()]
    status = status or ("firing" if any(a["status"] == "firing" for a in alerts) else "resolved")
    shared = set.intersection(*(set(a["labels"].items()) for a in alerts))
    return {
        "version": "4", "groupKey": group_key, "truncatedAlerts": truncated, "status": status,
        "receiver": "incident-console",
        "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]},
        "commonLabels": dict(shared),
        "commonAnnotations": common_annotations if common_annotations is not None else (
            alerts[0]["annotations"] if len(alerts) == 1 else {}),
        "externalURL": "http://alertmanager.internal:9093",
        "alerts": alerts,
    }


@pytest.fixture
def sev(db):
    return make_severities()


@pytest.fixture
def checkout_runbook(db):
    return make_runbook("Checkout latency high", service=make_service("checkout-api"),
                        alerts=["CheckoutLatencyHigh"])


def _integration(kind, **extra):
    integration = Integration(name=f"{kind}-{Integration.objects.count()}", kind=kind, **extra)
    token = integration.set_new_token()
    integration.save()
    integration.token = token
    return integration


@pytest.fixture
def alertmanager(sev):
    return _integration(Integration.Kind.ALERTMANAGER)


@pytest.fixture
def generic(sev):
    return _integration(Integration.Kind.GENERIC)


@pytest.fixture
def make_integration(sev):
    return _integration


@pytest.fixture
def post_alerts(client):
    def post(integration, payload, *, path=None, token=None, raw=None, **headers):
        path = path or ("/api/v1/alerts/alertmanager/" if integration.kind == "alertmanager"
                        else "/api/v1/alerts/generic/")
        body = raw if raw is not None else json.dumps(payload)
        auth = token if token is not None else integration.token
        extra = {"HTTP_AUTHORIZATION": f"Bearer {auth}"} if auth else {}
        extra.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
        return client.post(path, data=body, content_type="application/json", **extra)

    return post


@pytest.fixture
def api_client(client):
    """api_client(user) -> a function (method, path, json=None, **headers) acting with that user's token."""

    def for_user(user):
        _, token = ApiToken.issue(user, "tests")

        def call(method, path, body=None, **headers):
            extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
            extra.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
            send = getattr(client, method.lower())
            if body is None:
                return send(path, **extra)
            return send(path, data=json.dumps(body) if not isinstance(body, str) else body,
                        content_type="application/json", **extra)

        call.token = token
        return call

    return for_user


def later(minutes):
    return T0 + timedelta(minutes=minutes)
