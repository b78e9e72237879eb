"""Attaching a runbook from the incident page: search as you type (htmx) or a plain page without JavaScript."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.models import Incident, Status
from runbooks.models import Runbook
from tests.factories import make_runbook, make_severities

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(commander):
    make_runbook("Disk full on database host", steps=[("mitigation", "Free space", [])], alerts=["DiskFull"])
    make_runbook("TLS certificate expiring", steps=[("mitigation", "Renew", [])])
    attached = make_runbook("Checkout latency high")
    return Incident.declare(title="Orders fail: disk full on db-2", severity=make_severities()[0], by=commander,
                            commander=commander, runbooks=[attached])


def find(client, incident, q="", **headers):
    return client.get(reverse("incidents:attach_search", args=[incident.pk]), {"q": q}, **headers)


def test_typing_finds_runbooks_not_yet_attached(as_user, commander, incident):
    client = as_user(commander)
    body = find(client, incident, "certificate", HTTP_HX_REQUEST="true").content.decode()
    assert "TLS certificate expiring" in body and "<html" not in body
    assert "Disk full" not in body
    assert "Checkout latency high" not in find(client, incident, "checkout", HTTP_HX_REQUEST="true").content.decode()


def test_an_empty_box_suggests_from_the_incident_itself(as_user, commander, incident):
    body = find(as_user(commander), incident, HTTP_HX_REQUEST="true").content.decode()
    assert "Suggested by the incident" in body and "Disk full on database host" in body
    assert "Checkout latency high" not in body  # already attached


def test_without_javascript_the_search_is_a_page_whose_forms_attach(as_user, commander, incident):
    client = as_user(commander)
    page = find(client, incident, "certificate").content.decode()
    assert "<html" in page and "TLS certificate expiring" in page
    tls = Runbook.objects.get(title="TLS certificate expiring")
    assert f'name="runbook" value="{tls.pk}"' in page
    response = client.post(reverse("incidents:attach", args=[incident.pk]), {"runbook": tls.pk})
    assert response.status_code == 302 and response["Location"] == incident.get_absolute_url()
    assert incident.runbooks.filter(runbook=tls).exists()
    assert incident.checklist.filter(text="Renew").exists()


def test_attaching_twice_or_nothing_or_to_a_closed_incident_says_why(as_user, commander, incident):
    client = as_user(commander)
    attached = incident.runbooks.get().runbook
    url = reverse("incidents:attach", args=[incident.pk])
    for data, message in (({"runbook": attached.pk}, "is already attached"),
                          ({}, "Choose a runbook to attach."),
                          ({"runbook": 999_999}, "That runbook does not exist.")):
        page = client.post(url, data, follow=True).content.decode()
        assert message in page.replace("&ldquo;", "“").replace("&rdquo;", "”")
    assert incident.runbooks.count() == 1
    Incident.objects.filter(pk=incident.pk).update(status=Status.CLOSED)
    assert "closed" in find(client, incident, "certificate", HTTP_HX_REQUEST="true").content.decode()


def test_an_overlong_search_is_cut_not_refused(as_user, commander, incident):
    response = find(as_user(commander), incident, "certificate " + "x" * 5_000, HTTP_HX_REQUEST="true")
    assert response.status_code == 200


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_only_commanders_search_to_attach(client, users, incident, role):
    client.force_login(users[role])
    assert find(client, incident, "disk").status_code == 403
