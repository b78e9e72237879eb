"""The dashboard and the incident page cost the same number of queries whatever the amount of data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident, Status, TimelineEvent
from tests.factories import declare_queue_incident, make_severities

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rendered_every_time(settings):
    """What rendering costs, so no kept page (incidents/pagecache.py): the rows added here are bulk-created,
    which moves no incident's revision as every real change does. test_pagecache.py counts the kept pages."""
    settings.PAGE_CACHE_SECONDS = 0


@pytest.fixture
def sev(db):
    return make_severities()


@pytest.fixture
def incident(sev, commander):
    incident = declare_queue_incident(commander, commander=commander, severity=sev[0])
    incident.checklist.first().tick(by=commander)
    return incident


def add_incidents(count, sev, commander):
    now = timezone.now()
    statuses = [Status.DECLARED, Status.INVESTIGATING, Status.MITIGATED, Status.RESOLVED]
    rows = Incident.objects.bulk_create([
        Incident(title=f"Bulk {n}", severity=sev[n % len(sev)], status=statuses[n % len(statuses)],
                 commander=commander, declared_at=now - timedelta(minutes=n),
                 resolved_at=now if statuses[n % len(statuses)] == Status.RESOLVED else None)
        for n in range(count)
    ])
    TimelineEvent.objects.bulk_create([TimelineEvent(incident=i, kind="note", message=f"note on {i.title}")
                                       for i in rows])


def add_events(incident, count, actor):
    TimelineEvent.objects.bulk_create([
        TimelineEvent(incident=incident, kind="note" if n % 2 else "checklist", actor=actor, message=f"event {n}")
        for n in range(count)
    ])


def queries(client, url):
    """Queries of a read once the user is remembered (accounts/memo.py), as every read after a session's first."""
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.content.decode()


def test_the_dashboard_costs_the_same_with_10_and_1000_incidents(client, viewer, sev, commander, incident):
    client.force_login(viewer)
    add_incidents(10, sev, commander)
    small, page = queries(client, reverse("dashboard"))
    assert "Bulk 9" in page and "1 / 2" in page
    add_incidents(990, sev, commander)
    large, page = queries(client, reverse("dashboard"))
    assert page.count('class="row-link') > 700
    assert large == small <= 8


def test_the_dashboard_poll_costs_the_same_with_10_and_1000_incidents(client, viewer, sev, commander):
    client.force_login(viewer)
    add_incidents(10, sev, commander)
    small, _ = queries(client, reverse("incidents:dashboard_poll") + "?fp=stale")
    add_incidents(990, sev, commander)
    large, _ = queries(client, reverse("incidents:dashboard_poll") + "?fp=stale")
    assert large == small


@pytest.mark.parametrize("role", ["viewer", "commander"])
def test_the_incident_page_costs_the_same_with_10_and_5000_events(client, users, incident, commander, role):
    client.force_login(users[role])
    add_events(incident, 10, commander)
    small, page = queries(client, incident.get_absolute_url())
    assert "Show earlier events" not in page
    add_events(incident, 4990, commander)
    large, page = queries(client, incident.get_absolute_url())
    assert large == small
    assert page.count('id="event-') == 200 and "Show earlier events" in page


def test_the_incident_page_costs_the_same_with_10_and_1000_incidents(client, commander, sev, incident):
    client.force_login(commander)
    add_incidents(10, sev, commander)
    small, _ = queries(client, incident.get_absolute_url())
    add_incidents(990, sev, commander)
    large, _ = queries(client, incident.get_absolute_url())
    assert large == small


def test_show_earlier_pages_back_through_the_timeline(client, viewer, incident, commander):
    client.force_login(viewer)
    add_events(incident, 450, commander)
    page = client.get(incident.get_absolute_url()).content.decode()
    before = page.split("?before=")[1].split('"')[0].split("&")[0]
    earlier = client.get(incident.get_absolute_url() + f"?before={before}").content.decode()
    assert earlier.count('id="event-') == 200 and "Back to the latest" in earlier
    assert "event 449" in page and "event 449" not in earlier and "event 249" in earlier


def test_a_changed_poll_costs_the_same_with_10_and_5000_events(client, viewer, incident, commander):
    client.force_login(viewer)
    add_events(incident, 10, commander)
    url = reverse("incidents:poll", args=[incident.pk]) + "?rev=0&after=0"
    small, _ = queries(client, url)
    add_events(incident, 4990, commander)
    large, _ = queries(client, url)
    assert large == small
